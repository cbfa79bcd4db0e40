"""The tenant archive (`crm-tenant-export/1`, docs/tenancy.md#export-format-crm-tenant-export1): one
ZIP with `manifest.json` first, then `<service>/<table>.jsonl` (one JSON object per row, as the
services' `TenancyService/ExportTenant` write them). Written by the operator's `crm tenant backup`
(crm_dev/operator.py) and streamed by the gateway for a tenant admin's backup download; read by
`crm tenant restore`."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final

FORMAT: Final = "crm-tenant-export/1"
MANIFEST: Final = "manifest.json"
# The order services are exported and restored in: identity first (users are referenced by the
# others' owner and actor columns only as ids, so the order is for readability, not integrity).
SERVICE_ORDER: Final = ("identity", "customers", "tagging", "followups", "reporting", "webhooks")


class ArchiveError(Exception):
    """An archive that is not a readable `crm-tenant-export/1` (what is wrong, for the operator)."""


def service_rank(service: str) -> int:
    return SERVICE_ORDER.index(service) if service in SERVICE_ORDER else len(SERVICE_ORDER)


class _Sink(io.RawIOBase):
    """An unseekable stream collecting what zipfile writes, drained after each piece."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.position = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self.parts.append(chunk)
        self.position += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self.position

    def drain(self) -> bytes:
        out = b"".join(self.parts)
        self.parts.clear()
        return out


async def zip_stream(
    manifest: dict[str, Any], files: list[tuple[str, AsyncIterator[bytes]]], when: datetime,
) -> AsyncIterator[bytes]:
    """The archive as a stream of bytes (no file on disk, nothing held whole in memory): zipfile
    writes data descriptors when its output cannot seek. `when` dates every entry."""
    sink = _Sink()
    stamp = (max(when.year, 1980), when.month, when.day, when.hour, when.minute, when.second)
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        entries: list[tuple[str, AsyncIterator[bytes]]] = [(MANIFEST, _one(_manifest_bytes(manifest))), *files]
        for name, chunks in entries:
            info = zipfile.ZipInfo(name, stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            with archive.open(info, "w", force_zip64=True) as out:
                async for chunk in chunks:
                    out.write(chunk)
                    data = sink.drain()
                    if data:
                        yield data
            data = sink.drain()
            if data:
                yield data
    yield sink.drain()


def _manifest_bytes(manifest: dict[str, Any]) -> bytes:
    return (json.dumps(manifest, ensure_ascii=False, indent=2) + "\n").encode()


async def _one(data: bytes) -> AsyncIterator[bytes]:
    yield data


@dataclass(frozen=True)
class ArchiveFile:
    service: str
    table: str
    path: str
    rows: int


class Archive:
    """A backup archive opened for restore: the manifest checked (format, every file present with
    its row count and SHA-256) before anything is read from it."""

    def __init__(self, path: Path):
        try:
            self.zip = zipfile.ZipFile(path)
        except (OSError, zipfile.BadZipFile) as exc:
            raise ArchiveError(f"{path} is not a readable ZIP archive: {exc}") from None
        try:
            self.manifest: dict[str, Any] = json.loads(self.zip.read(MANIFEST))
        except (KeyError, ValueError):
            raise ArchiveError(f"{path} has no readable {MANIFEST}") from None
        if self.manifest.get("format") != FORMAT:
            raise ArchiveError(f"{path} is not a {FORMAT} archive (format {self.manifest.get('format')!r})")
        tenant = self.manifest.get("tenant") or {}
        self.source_tenant_id = str(tenant.get("id", ""))
        self.source_slug = str(tenant.get("slug", ""))
        self.files = [ArchiveFile(str(f["service"]), str(f["table"]), str(f["path"]), int(f["rows"]))
                      for f in self.manifest.get("files", [])]
        for entry in self.manifest.get("files", []):
            try:
                data = self.zip.read(entry["path"])
            except KeyError:
                raise ArchiveError(f"{entry['path']} is listed in the manifest but missing") from None
            if hashlib.sha256(data).hexdigest() != entry["sha256"] or len(data.splitlines()) != entry["rows"]:
                raise ArchiveError(f"{entry['path']} does not match the manifest (damaged or altered)")

    def rows(self, path: str, page: int) -> Iterator[list[str]]:
        """The file's lines in pages of `page`."""
        batch: list[str] = []
        with self.zip.open(path) as source:
            for raw in source:
                line = raw.decode().rstrip("\n")
                if line:
                    batch.append(line)
                if len(batch) >= page:
                    yield batch
                    batch = []
        if batch:
            yield batch

    def close(self) -> None:
        self.zip.close()
