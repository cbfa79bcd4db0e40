"""Customer import (docs/customers.md "Customer import"): upload in parts, a proposed column
mapping the user may correct, a dry run listing every row's problems (and an error file), then
the import as a resumable, cancellable job, and an undo within 7 days.

One pass does both the dry run and the import (`ImportRunner.run_pass`): the dry run reads the
file and checks its rows with `checking.RowChecker` (the create path's rules), keeping the checked
rows per batch for the import, which reads those instead (or checks the file again when a setting
it depended on changed); duplicates are found within the file
(a dict of keys -> first row) and against live customers (one query per batch on the match keys
duplicate detection keeps), and, when importing, each batch of rows is written in one
transaction with COPY together with the import's cursor, one `crm.customer.imported` event for
the whole batch, and the change log that undo reads. A job that dies mid-batch redoes that batch
only (its writes were rolled back with it); a cancelled import resumes after its last batch."""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import tempfile
import uuid
from collections import defaultdict
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Final

import sqlalchemy as sa
from psycopg.types.json import Jsonb
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from crm_customers.customer import access, codes
from crm_customers.customer import repository as customer_repository
from crm_customers.customer.schemas import to_json
from crm_customers.customer.tables import customers, user_teams
from crm_customers.duplicates import keys as match
from crm_customers.fields import service as fields
from crm_customers.importing import checking, columns, files, repository
from crm_customers.importing.repository import import_changes, import_problems
from crm_customers.search import grams
from crm_customers.search.pinyin import name_columns
from crm_customers.sensitive.service import SensitiveFields
from crm_customers.settings import dictionaries, write_config
from crm_platform import jobs, outbox
from crm_platform.auth import Principal, Scope, principal_from, principal_json
from crm_platform.db import tenant_session
from crm_platform.errors import Conflict, FieldError, InvalidInput, NotFound
from crm_platform.ids import new_id, parse_uuid

log = logging.getLogger(__name__)

SOURCE: Final = "crm/customers"
JOB_KIND: Final = "customers.import"
MAX_BYTES: Final = 512 * 1024 * 1024
PART_BYTES: Final = 4 * 1024 * 1024
BATCH: Final = 2000
# Customers per event, by their JSON size (NATS refuses messages over 1 MiB).
EVENT_BYTES: Final = 512 * 1024
UNDO_DAYS: Final = 7
MODES: Final = ("skip", "update", "create")
UPLOADING, VALIDATING, VALIDATED, IMPORTING = "uploading", "validating", "validated", "importing"
CANCELLING, CANCELLED, SUCCEEDED, FAILED = "cancelling", "cancelled", "succeeded", "failed"
UNDOING, UNDONE = "undoing", "undone"
ERROR, DUPLICATE = "error", "duplicate"
# Stored on customers by the import (COPY column order).
CUSTOMER_COLUMNS: Final = (
    "id", "code", "name", "type", "industry", "region", "mobile", "email", "owner_id", "status", "version",
    "created_at", "updated_at", "created_by", "updated_by", "contact_person", "phone", "first_contact_date", "source",
    "employees", "annual_revenue", "annual_revenue_currency", "needs", "notes", "credit_code", "custom_fields",
    "resident_id_enc", "resident_id_bidx", "resident_id_masked", "bank_card_enc", "bank_card_bidx",
    "bank_card_masked", "name_pinyin", "name_initials", "short_search_grams",
)
CUSTOMER_FIELDS: Final = tuple(c.name for c in customers.c)
# A created customer's text columns the row leaves empty (as a create stores them).
TEXT_DEFAULTS: Final = {c.name: "" for c in customers.c if not c.nullable and isinstance(c.type, sa.Text)}


def _json_value(value: Any) -> Any:
    """A column value in a change log's before-image."""
    if isinstance(value, bytes | memoryview):
        return {"b64": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    return value


def _column_value(name: str, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, dict) and "b64" in value and name.endswith("_enc"):
        return base64.b64decode(value["b64"])
    if name == "first_contact_date":
        return date.fromisoformat(value)
    if name == "annual_revenue":
        return Decimal(value)
    if name == "owner_id":
        return uuid.UUID(value)
    return value


def _mode(value: str) -> str:
    mode = value or "skip"
    if mode not in MODES:
        raise InvalidInput([FieldError("duplicate_mode", "invalid_choice", "duplicate_mode: skip, update or create")])
    return mode


@dataclass
class Upload:
    row: Any
    missing: list[str]


class CustomerImports:
    def __init__(self, sensitive: SensitiveFields):
        self.sensitive = sensitive

    # -- reading -------------------------------------------------------------------------------

    async def get(self, session: AsyncSession, caller: Principal, import_id: str) -> Any:
        """The caller's own imports; any of the tenant's with customers:admin (else 404)."""
        row = await repository.get(session, parse_uuid(import_id, "import"))
        if row is None or (row.created_by != caller.actor and Scope.CUSTOMERS_ADMIN.value not in caller.scopes):
            raise NotFound("import not found")
        return row

    async def recent(self, session: AsyncSession, caller: Principal, limit: int = 20) -> list[Any]:
        mine = None if Scope.CUSTOMERS_ADMIN.value in caller.scopes else caller.actor
        return await repository.recent(session, mine, limit)

    async def template(self, session: AsyncSession, fmt: str, locale: str) -> tuple[str, str, bytes]:
        if fmt not in ("xlsx", "csv"):
            raise InvalidInput([FieldError("format", "invalid_choice", "format: xlsx or csv")])
        loaded = {name: await dictionaries.load(session, name) for name in checking.DICTIONARY_FIELDS}
        config = await write_config.load(session, ())
        return files.template(fmt, locale, loaded, config.fields)

    # -- upload --------------------------------------------------------------------------------

    async def create(self, session: AsyncSession, caller: Principal, filename: str, size: int) -> Any:
        caller.require(Scope.CUSTOMERS_WRITE)
        if size > MAX_BYTES:
            raise InvalidInput([FieldError("file", "file_too_large", f"at most {MAX_BYTES} bytes")])
        return await repository.insert(session, {
            "id": new_id(), "status": UPLOADING, "filename": (filename or "import")[:200], "format": "",
            "encoding": "", "size_bytes": 0, "file_parts": 0, "header": [], "mapping": {}, "duplicate_mode": "skip",
            "principal": principal_json(caller), "created_by": caller.actor, "phase": "validate", "total_rows": 0,
            "processed": 0, "cursor": 0, "error_rows": 0, "duplicate_rows": 0, "created_count": 0,
            "updated_count": 0, "skipped_count": 0, "error": "", "undone_by": "",
        })

    async def append(self, session: AsyncSession, caller: Principal, import_id: str, seq: int, data: bytes) -> None:
        row = await repository.get(session, parse_uuid(import_id, "import"), lock=True)
        if row is None or row.created_by != caller.actor:
            raise NotFound("import not found")
        if row.status != UPLOADING:
            raise Conflict("the file was uploaded already", code="upload_finished")
        if seq != row.file_parts:
            raise InvalidInput([FieldError("seq", "invalid_part", f"the next part is {row.file_parts}")])
        if row.size_bytes + len(data) > MAX_BYTES:
            raise InvalidInput([FieldError("file", "file_too_large", f"at most {MAX_BYTES} bytes")])
        await repository.add_part(session, row.id, seq, data)
        await repository.update(session, row.id, {"file_parts": seq + 1, "size_bytes": row.size_bytes + len(data)})

    async def finish_upload(self, session: AsyncSession, caller: Principal, import_id: str,
                            mapping: dict[str, str], mode: str) -> Upload:
        """Reads the header, proposes the mapping (or checks the one sent) and starts the dry run."""
        row = await repository.get(session, parse_uuid(import_id, "import"), lock=True)
        if row is None or row.created_by != caller.actor:
            raise NotFound("import not found")
        if row.status != UPLOADING:
            raise Conflict("the file was uploaded already", code="upload_finished")
        if row.size_bytes == 0:
            raise InvalidInput([FieldError("file", "required", "the file is empty")])
        config = await write_config.load(session, ())
        with tempfile.TemporaryDirectory(prefix="crm-import-") as folder:
            path = await self._stage(session, row.id, Path(folder))
            with path.open("rb") as head:
                first = head.read(files.SNIFF)
            try:
                fmt, encoding = files.kind_of(row.filename, first)
                _, header = files.header_row(path, fmt, encoding)
            except files.NotASpreadsheet as exc:
                raise InvalidInput([FieldError("file", exc.code, str(exc))]) from None
        if not header:
            raise InvalidInput([FieldError("file", "no_rows", "the file has no rows")])
        wanted = self._check_mapping(mapping, header, config.fields) if mapping else columns.propose(
            header, config.fields)
        values = {"format": fmt, "encoding": encoding, "header": header, "mapping": wanted,
                  "duplicate_mode": _mode(mode)}
        updated = await repository.update(session, row.id, values)
        return await self._validate(session, caller, updated, wanted)

    async def set_mapping(self, session: AsyncSession, caller: Principal, import_id: str,
                          mapping: dict[str, str], mode: str) -> Upload:
        """A corrected mapping: the dry run again."""
        row = await self.get(session, caller, import_id)
        locked = await repository.get(session, row.id, lock=True)
        assert locked is not None
        if locked.status not in (VALIDATED, VALIDATING, FAILED) or locked.phase != "validate":
            raise Conflict("the import has started; the mapping can no longer change", code="import_started")
        config = await write_config.load(session, ())
        wanted = self._check_mapping(mapping, list(locked.header), config.fields)
        updated = await repository.update(session, row.id, {"mapping": wanted, "duplicate_mode": _mode(mode)})
        return await self._validate(session, caller, updated, wanted)

    def _check_mapping(self, mapping: dict[str, str], header: list[str], custom: list[fields.FieldDef]
                       ) -> dict[str, str]:
        errors: list[FieldError] = []
        seen: set[str] = set()
        out: dict[str, str] = {}
        for position, key in sorted(mapping.items(), key=lambda item: item[0]):
            if not key:
                continue
            if not position.isdigit() or int(position) >= len(header):
                errors.append(FieldError(f"mapping.{position}", "unknown_column", "no such column in the file"))
            elif not columns.known(key, custom):
                errors.append(FieldError(f"mapping.{position}", "unknown_field", "not a customer field"))
            elif key in seen:
                errors.append(FieldError(f"mapping.{position}", "duplicate_column", "two columns map to this field"))
            else:
                seen.add(key)
                out[str(int(position))] = key
        if errors:
            raise InvalidInput(errors)
        return out

    async def _validate(self, session: AsyncSession, caller: Principal, row: Any, mapping: dict[str, str]) -> Upload:
        missing = [k for k in columns.REQUIRED if k not in mapping.values()]
        problems = checking.write_problems(caller, mapping)
        if problems:
            raise InvalidInput([FieldError(f"mapping.{f}", code, "your role may not write this field")
                                for f, code in problems])
        job_id = await jobs.enqueue(session, JOB_KIND, {"import_id": str(row.id)}, tenant_id=caller.tenant_id,
                                    max_attempts=10)
        updated = await repository.update(session, row.id, {
            "status": VALIDATING, "phase": "validate", "job_id": job_id, "processed": 0, "error": "",
            "error_rows": 0, "duplicate_rows": 0, "total_rows": 0,
        })
        return Upload(updated, missing)

    async def _stage(self, session: AsyncSession, import_id: uuid.UUID, folder: Path) -> Path:
        path = folder / "upload"
        with path.open("wb") as target:
            async for part in repository.parts(session, import_id):
                target.write(part)
        return path

    # -- the import, cancel, resume, undo ------------------------------------------------------

    async def start(self, session: AsyncSession, caller: Principal, import_id: str, mode: str) -> Any:
        row = await self.get(session, caller, import_id)
        locked = await repository.get(session, row.id, lock=True)
        assert locked is not None
        if locked.phase != "validate" or locked.status != VALIDATED:
            raise Conflict("only a validated import can start", code="not_validated")
        if not [v for v in locked.mapping.values() if v == "name"]:
            raise InvalidInput([FieldError("mapping", "missing_column", "map a column to the customer name")])
        job_id = await jobs.enqueue(session, JOB_KIND, {"import_id": str(row.id)}, tenant_id=caller.tenant_id,
                                    max_attempts=10)
        return await repository.update(session, row.id, {
            "status": IMPORTING, "phase": "import", "duplicate_mode": _mode(mode or locked.duplicate_mode),
            "job_id": job_id, "processed": 0, "cursor": 0, "started_at": sa.func.now(), "error": "",
        })

    async def cancel(self, session: AsyncSession, caller: Principal, import_id: str) -> Any:
        row = await self.get(session, caller, import_id)
        locked = await repository.get(session, row.id, lock=True)
        assert locked is not None
        if locked.status in (IMPORTING, VALIDATING):
            return await repository.update(session, row.id, {"status": CANCELLING})
        if locked.status == CANCELLING:
            return locked
        raise Conflict("only a running import can be cancelled", code="not_running")

    async def resume(self, session: AsyncSession, caller: Principal, import_id: str) -> Any:
        """A cancelled or failed import goes on after its last written batch."""
        row = await self.get(session, caller, import_id)
        locked = await repository.get(session, row.id, lock=True)
        assert locked is not None
        if locked.status not in (CANCELLED, FAILED):
            raise Conflict("only a cancelled or failed import can be resumed", code="not_resumable")
        job_id = await jobs.enqueue(session, JOB_KIND, {"import_id": str(row.id)}, tenant_id=caller.tenant_id,
                                    max_attempts=10)
        status = {"validate": VALIDATING, "import": IMPORTING, "undo": UNDOING}[locked.phase]
        return await repository.update(session, row.id, {"status": status, "job_id": job_id, "error": "",
                                                          "finished_at": None})

    async def undo(self, session: AsyncSession, caller: Principal, import_id: str) -> Any:
        """Within 7 days of its end: created customers are deleted, updated ones restored."""
        row = await self.get(session, caller, import_id)
        locked = await repository.get(session, row.id, lock=True)
        assert locked is not None
        if locked.phase != "import" or locked.status not in (SUCCEEDED, CANCELLED, FAILED):
            raise Conflict("only a finished import can be undone", code="not_undoable")
        if locked.finished_at is not None and locked.finished_at < datetime.now(UTC) - timedelta(days=UNDO_DAYS):
            raise Conflict("an import can be undone within 7 days", code="undo_expired")
        job_id = await jobs.enqueue(session, JOB_KIND, {"import_id": str(row.id)}, tenant_id=caller.tenant_id,
                                    max_attempts=10)
        return await repository.update(session, row.id, {
            "status": UNDOING, "phase": "undo", "job_id": job_id, "undo_cursor": None, "processed": 0,
            "undone_by": caller.actor})

    async def problems(self, session: AsyncSession, caller: Principal, import_id: str, after: tuple[int, str, str]
                       | None, limit: int) -> tuple[Any, list[Any]]:
        row = await self.get(session, caller, import_id)
        return row, await repository.problems_page(session, row.id, after, limit)

    async def error_file(self, session: AsyncSession, caller: Principal, import_id: str,
                         messages: dict[str, str], error_header: str) -> tuple[str, str, bytes]:
        """The upload's rows with problems and an error column (messages by code, from the gateway)."""
        row = await self.get(session, caller, import_id)
        if not row.format:
            raise Conflict("the file is not uploaded yet", code="not_uploaded")
        header = list(row.header)
        where = {int(p): k for p, k in row.mapping.items()}
        by_field = {k: (header[p] if p < len(header) else k) for p, k in where.items()}
        texts: dict[int, list[str]] = defaultdict(list)
        for problem in await repository.all_problems(session, row.id):
            column = by_field.get(problem.column, problem.column)
            message = messages.get(problem.code, problem.code)
            detail = f" ({problem.detail})" if problem.detail else ""
            texts[problem.row].append(f"{column}: {message}{detail}" if column else f"{message}{detail}")
        joined = {number: "; ".join(parts) for number, parts in texts.items()}
        with tempfile.TemporaryDirectory(prefix="crm-import-") as folder:
            path = await self._stage(session, row.id, Path(folder))
            out = Path(folder) / f"errors.{row.format}"
            files.error_file(path, row.format, row.encoding or "utf-8", joined, error_header, out)
            data = out.read_bytes()
        stem = row.filename.rsplit(".", 1)[0] or "import"
        content_type = files.XLSX_TYPE if row.format == "xlsx" else f"text/csv; charset={row.encoding or 'utf-8'}"
        return f"{stem}-errors.{row.format}", content_type, data


class ImportRunner:
    """Handler of `customers.import` jobs: the dry run, the import or the undo (the row's phase)."""

    def __init__(self, engine: AsyncEngine, sensitive: SensitiveFields, batch: int = BATCH):
        self.engine = engine
        self.sensitive = sensitive
        self.batch = batch

    async def __call__(self, job: jobs.Job) -> dict[str, Any]:
        assert job.tenant_id is not None
        import_id = uuid.UUID(job.payload["import_id"])
        async with tenant_session(self.engine, job.tenant_id) as session:
            row = await repository.get(session, import_id)
        if row is None or str(row.job_id) != str(job.id):
            return {"skipped": "superseded"}
        kept = False
        try:
            if row.phase == "undo":
                await self.undo(job.tenant_id, row)
            else:
                kept = await self.run_pass(job.tenant_id, row)
        except files.NotASpreadsheet as exc:
            async with tenant_session(self.engine, job.tenant_id) as session:
                await repository.update(session, import_id, {"status": FAILED, "error": exc.code,
                                                              "finished_at": sa.func.now()})
                await self._problems(session, import_id, [(exc.row, "", exc.code, ERROR, "")])
        async with tenant_session(self.engine, job.tenant_id) as session:
            done = await repository.get(session, import_id)
        assert done is not None
        # kept_rows: the import went through the dry run's checked rows (not the file).
        return {"status": done.status, "created": done.created_count, "updated": done.updated_count,
                "kept_rows": kept}

    async def _problems(self, session: AsyncSession, import_id: uuid.UUID,
                        found: list[tuple[int, str, str, str, str]]) -> None:
        if found:
            unique = {(r, c, k): (level, detail) for r, c, k, level, detail in found}
            await repository.copy_rows(session, import_problems,
                                       ("import_id", "row", "column", "code", "level", "detail"),
                                       ((import_id, r, c, k, level, detail) for (r, c, k), (level, detail)
                                        in unique.items()))

    async def _checker(self, session: AsyncSession, tenant_id: uuid.UUID, row: Any) -> checking.RowChecker:
        caller = principal_from(row.principal)
        config = await write_config.load(session, checking.DICTIONARY_FIELDS)
        owners: dict[str, list[uuid.UUID]] = defaultdict(list)
        if "owner" in row.mapping.values():
            for user in await session.execute(sa.select(user_teams.c.user_id, user_teams.c.display_name)):
                if user.display_name:
                    owners[user.display_name].append(user.user_id)
        keys = await self.sensitive.keys(session, tenant_id) if set(row.mapping.values()) & {
            "resident_id", "bank_card"} else None
        checker = checking.RowChecker(caller, config, keys, dict(row.mapping), dict(owners))
        await checker.check_owners(session)
        return checker

    async def _status(self, tenant_id: uuid.UUID, import_id: uuid.UUID) -> str:
        async with tenant_session(self.engine, tenant_id) as session:
            current = await repository.get(session, import_id)
        return current.status if current is not None else CANCELLED

    async def run_pass(self, tenant_id: uuid.UUID, row: Any) -> bool:
        """The dry run reads and checks the file and keeps each batch's checked rows
        (`customer_import_checked`, with `checking.fingerprint`); the import goes through those
        instead of reading and checking every row again, unless what checking depended on
        changed meanwhile (a setting, a dictionary, an owner, the date), when it checks again.
        True when the import went through the kept rows."""
        importing = row.phase == "import"
        with tempfile.TemporaryDirectory(prefix="crm-import-") as folder:
            async with tenant_session(self.engine, tenant_id) as session:
                checker = await self._checker(session, tenant_id, row)
                stamp = checking.fingerprint(checker, dict(row.mapping))
                stored = 0
                if importing:
                    count, last_batch, stamps = await repository.checked_summary(session, row.id)
                    if count and last_batch == count - 1 and stamps == {stamp}:
                        stored = count
                else:
                    await repository.clear_problems(session, row.id)
                    await repository.clear_checked(session, row.id)
                path = Path(folder) / "upload"
                if not stored:
                    with path.open("wb") as target:
                        async for part in repository.parts(session, row.id):
                            target.write(part)
                if not importing:
                    await repository.update(session, row.id, {"total_rows": files.estimate_rows(path, row.format)})
            # Key -> the first row holding it, by the key's 64-bit hash: at a million rows the keys
            # themselves would take several hundred MiB (a collision, ~1e-8 at 5M keys, would
            # report one false duplicate).
            seen: dict[int, int] = {}
            counts = {"total": 0, "errors": 0, "duplicates": 0}
            source = (self._stored_rows(tenant_id, row.id, stored) if stored
                      else self._checked_rows(checker, path, row))
            batch = 0
            pending: list[tuple[int, checking.Checked]] = []
            problems: list[tuple[int, str, str, str, str]] = []
            async with contextlib.aclosing(source):
                async for number, checked in source:
                    counts["total"] += 1
                    pending.append((number, checked))
                    if len(pending) >= self.batch:
                        if not await self._batch(tenant_id, row, checker, pending, seen, counts, problems,
                                                 keep=(stamp, batch)):
                            return bool(stored)
                        pending, problems = [], []
                        batch += 1
                await self._batch(tenant_id, row, checker, pending, seen, counts, problems, last=True,
                                  keep=(stamp, batch))
        return bool(stored)

    async def _checked_rows(self, checker: checking.RowChecker, path: Path, row: Any
                            ) -> AsyncGenerator[tuple[int, checking.Checked], None]:
        """The file's rows after its header, each checked (empty rows left out)."""
        header_number = 0
        for number, cells in enumerate(files.rows(path, row.format, row.encoding), start=1):
            if not header_number:
                header_number = number if any(cells) else 0
                continue
            if not any(cells):
                continue
            if number > files.MAX_ROWS:
                raise files.NotASpreadsheet("too_many_rows", f"at most {files.MAX_ROWS} rows", number)
            yield number, await checker.check(None, cells)

    async def _stored_rows(self, tenant_id: uuid.UUID, import_id: uuid.UUID, batches: int
                           ) -> AsyncGenerator[tuple[int, checking.Checked], None]:
        """The dry run's checked rows, batch by batch (one batch in memory at a time)."""
        for batch in range(batches):
            async with tenant_session(self.engine, tenant_id) as session:
                data = await repository.checked_batch(session, import_id, batch)
            for item in checking.load_batch(data):
                yield item

    async def _batch(self, tenant_id: uuid.UUID, row: Any, checker: checking.RowChecker,
                     pending: list[tuple[int, checking.Checked]], seen: dict[int, int],
                     counts: dict[str, int], problems: list[tuple[int, str, str, str, str]], *, last: bool = False,
                     keep: tuple[str, int] | None = None) -> bool:
        """Duplicates, then (importing, rows after the cursor) the writes, in one transaction with
        the import's progress. The dry run keeps the batch's checked rows (`keep`: the fingerprint
        and the batch's number). False when the import was cancelled."""
        importing = row.phase == "import"
        mode = row.duplicate_mode
        plan: list[tuple[int, checking.Checked, str, uuid.UUID | None]] = []  # (row, checked, action, target)
        lookups: list[tuple[str, str]] = []
        for number, checked in pending:
            if checked.problems:
                counts["errors"] += 1
                problems += [(number, f, code, ERROR, "") for f, code in checked.problems]
                continue
            hashes = [hash(k) for k in checked.keys]
            first = next((seen[h] for h in hashes if h in seen), None)
            for key_hash in hashes:
                seen.setdefault(key_hash, number)
            if first is not None:
                counts["duplicates"] += 1
                kind = next(k for k, h in zip(checked.keys, hashes, strict=True) if seen.get(h) == first)[0]
                problems.append((number, _column_of(kind), "duplicate_in_file", DUPLICATE, str(first)))
                plan.append((number, checked, "create" if mode == "create" and kind != "code" else "skip", None))
                continue
            lookups += checked.keys
            plan.append((number, checked, "create", None))
        async with tenant_session(self.engine, tenant_id) as session:
            current = await repository.get(session, row.id, lock=True)
            if current is None or current.status in (CANCELLING, CANCELLED):
                if current is not None:
                    await repository.update(session, row.id, {"status": CANCELLED, "finished_at": sa.func.now()})
                return False
            existing = await repository.existing_keys(session, lookups) if lookups else {}
            holders = {i for ids in existing.values() for i in ids}
            caller = checker.caller
            in_scope = await repository.visible(session, sorted(holders), access.scope_clause(caller))
            decided: list[tuple[int, checking.Checked, str, uuid.UUID | None]] = []
            for number, checked, action, _ in plan:
                if action == "create" and existing:
                    hit = next(((k, existing[k]) for k in checked.keys if k in existing), None)
                    if hit is not None:
                        (kind, _value), ids = hit
                        counts["duplicates"] += 1
                        visible = [i for i in ids if i in in_scope]
                        problems.append((number, _column_of(kind), "duplicate_existing", DUPLICATE, ""))
                        if kind == "code" or mode == "skip":
                            action = "skip"
                        elif mode == "update":
                            action = "update" if visible else "skip"
                            if not visible:
                                problems.append((number, _column_of(kind), "duplicate_outside_scope", DUPLICATE, ""))
                            decided.append((number, checked, action, visible[0] if visible else None))
                            continue
                decided.append((number, checked, action, None))
            last_number = pending[-1][0] if pending else current.cursor
            values: dict[str, Any] = {"processed": counts["total"], "error_rows": counts["errors"],
                                      "duplicate_rows": counts["duplicates"]}
            if importing:
                todo = [d for d in decided if d[0] > current.cursor]
                created, updated, skipped = await self._write(session, tenant_id, caller, row, checker, todo)
                values |= {"cursor": max(last_number, current.cursor),
                           "created_count": current.created_count + created,
                           "updated_count": current.updated_count + updated,
                           "skipped_count": current.skipped_count + skipped
                           + sum(1 for n, c in pending if c.problems and n > current.cursor)}
            else:
                await self._problems(session, row.id, problems)
                if keep is not None:
                    await repository.add_checked(session, row.id, keep[1], keep[0], len(pending), last,
                                                 checking.dump_batch(pending))
            if last:
                values |= {"total_rows": counts["total"], "status": SUCCEEDED if importing else VALIDATED,
                           "finished_at" if importing else "validated_at": sa.func.now()}
                if importing:
                    await repository.clear_checked(session, row.id)
                    await outbox.add_event(session, source=SOURCE, tenant_id=tenant_id, aggregate="customer",
                                           verb="import_finished", subject_id=str(row.id), data={
                                               "import_id": str(row.id), "actor": caller.actor,
                                               "filename": row.filename, "created": values["created_count"],
                                               "updated": values["updated_count"],
                                               "skipped": values["skipped_count"]})
            await repository.update(session, row.id, values)
        return True

    async def _write(self, session: AsyncSession, tenant_id: uuid.UUID, caller: Principal, row: Any,
                     checker: checking.RowChecker, todo: list[tuple[int, checking.Checked, str, uuid.UUID | None]]
                     ) -> tuple[int, int, int]:
        creates = [c for _, c, action, _ in todo if action == "create"]
        updates = [(c, target) for _, c, action, target in todo if action == "update" and target is not None]
        skipped = len(todo) - len(creates) - len(updates)
        now = datetime.now(UTC)
        states: list[Any] = []
        # Codes: by prefix, a block per prefix per batch (customer/codes.py).
        by_prefix: dict[codes.CodePrefix, list[checking.Checked]] = defaultdict(list)
        for checked in creates:
            if not checked.values.get("code"):
                assert checked.prefix is not None
                by_prefix[checked.prefix].append(checked)
        for prefix, group in by_prefix.items():
            for checked, code in zip(group, await codes.allocate(session, tenant_id, prefix, len(group)), strict=True):
                checked.values["code"] = code
        records = []
        for checked in creates:
            values = {**TEXT_DEFAULTS, **checked.values, **name_columns(str(checked.values["name"]))}
            # Computed here rather than by PostgreSQL's trigger (migration c0251): ~5 vs ~38 us.
            found = grams.short_search_grams(grams.short_search_text(
                str(values["name"]), str(values.get("contact_person") or ""), values["name_initials"]))
            values["short_search_grams"] = repository.text_array(found) if found is not None else None
            values |= {"id": new_id(), "version": 1, "created_at": now, "updated_at": now,
                       "created_by": caller.actor, "updated_by": caller.actor}
            values.setdefault("first_contact_date", None)
            records.append(values)
            # to_json reads a row: the stored values with the row's `_fields`.
            states.append(SimpleNamespace(_fields=CUSTOMER_FIELDS, **{c: values.get(c) for c in CUSTOMER_FIELDS}))
        if records:
            await repository.stage_customers(session, CUSTOMER_COLUMNS, (
                (*(Jsonb(v["custom_fields"]) if c == "custom_fields" else v.get(c) for c in CUSTOMER_COLUMNS),
                 new_id(), *_key_arrays(v)) for v in records))
            await repository.merge_staged(session, CUSTOMER_COLUMNS, row.id)
        changed = 0
        for checked, target in updates:
            state = await self._update_one(session, caller, row.id, checker, checked, target)
            if state is not None:
                states.append(state)
                changed += 1
            else:
                skipped += 1  # nothing to change, or changed meanwhile
        await batch_events(session, tenant_id, "imported", row.id, states)
        return len(records), changed, skipped

    async def _update_one(self, session: AsyncSession, caller: Principal, import_id: uuid.UUID,
                          checker: checking.RowChecker, checked: checking.Checked, target: uuid.UUID) -> Any:
        found = await repository.customers_by_id(session, [target])
        if not found:
            return None
        current = found[0]
        given = checked.given
        new: dict[str, Any] = {}
        for key in given:
            if key.startswith(columns.CUSTOM_PREFIX):
                continue
            if key == "owner":
                new["owner_id"] = checked.values.get("owner_id")
            elif key in ("resident_id", "bank_card"):
                new |= {f"{key}{s}": checked.values.get(f"{key}{s}") for s in ("_enc", "_bidx", "_masked")}
            elif key != "code":
                new[key] = checked.values.get(key)
        if any(k.startswith(columns.CUSTOM_PREFIX) for k in given):
            sent = {k: v for k, v in checked.values["custom_fields"].items()
                    if columns.CUSTOM_PREFIX + k in given}
            new["custom_fields"], _ = fields.merge_values(checker.config.fields, dict(current.custom_fields), sent,
                                                          check_required=False)
        new = {k: v for k, v in new.items() if getattr(current, k) != v}
        if not new:
            return None
        before = {k: _json_value(getattr(current, k)) for k in new}
        updated = await customer_repository.update_if_version(session, current.id, current.version,
                                                              {**new, "updated_by": caller.actor})
        if updated is None:
            return None
        await session.execute(sa.dialects.postgresql.insert(import_changes).values(
            import_id=import_id, customer_id=current.id, action="updated", before=before).on_conflict_do_nothing())
        return updated

    async def undo(self, tenant_id: uuid.UUID, row: Any) -> None:
        caller_actor = row.undone_by or row.created_by
        while True:
            async with tenant_session(self.engine, tenant_id) as session:
                current = await repository.get(session, row.id, lock=True)
                assert current is not None
                after = current.undo_cursor
                changes = await repository.changes_page(session, row.id, after, self.batch)
                if not changes:
                    await repository.clear_checked(session, row.id)  # a cancelled import's, never resumed now
                    await repository.update(session, row.id, {"status": UNDONE, "undone_at": sa.func.now()})
                    await outbox.add_event(session, source=SOURCE, tenant_id=tenant_id, aggregate="customer",
                                           verb="import_undone", subject_id=str(row.id),
                                           data={"import_id": str(row.id), "actor": caller_actor,
                                                 "undone": current.processed})
                    return
                states = []
                rows = {r.id: r for r in await repository.customers_by_id(session, [c.customer_id for c in changes])}
                for change in changes:
                    customer = rows.get(change.customer_id)
                    if customer is None:
                        continue
                    if change.action == "created":
                        if customer.deleted_at is not None:
                            continue
                        values: dict[str, Any] = {"deleted_at": sa.func.now(), "deleted_by": caller_actor,
                                                  "updated_by": caller_actor}
                    else:
                        values = {k: _column_value(k, v) for k, v in (change.before or {}).items()}
                        values["updated_by"] = caller_actor
                    updated = await customer_repository.update_if_version(session, customer.id, customer.version,
                                                                          values)
                    if updated is not None:
                        states.append(updated)
                await batch_events(session, tenant_id, "import_reverted", row.id, states)
                await repository.update(session, row.id, {"undo_cursor": changes[-1].customer_id,
                                                          "processed": current.processed + len(changes)})


async def batch_events(session: AsyncSession, tenant_id: uuid.UUID, verb: str, import_id: uuid.UUID,
                       states: list[Any]) -> None:
    """`crm.customer.<verb>` events carrying the customers as the API shows them (`to_json`: the
    proto3 JSON of to_proto's message), as few as fit: each at most EVENT_BYTES of customers,
    under NATS's 1 MiB message limit."""
    items: list[tuple[dict[str, Any], str | None]] = []
    chunk: list[dict[str, Any]] = []
    size = 0
    for state in states:
        customer = to_json(state)
        weight = len(json.dumps(customer, ensure_ascii=False, default=str).encode())
        if chunk and size + weight > EVENT_BYTES:
            items.append(({"import_id": str(import_id), "customers": chunk}, None))
            chunk, size = [], 0
        chunk.append(customer)
        size += weight
    if chunk:
        items.append(({"import_id": str(import_id), "customers": chunk}, None))
    await outbox.add_events(session, source=SOURCE, tenant_id=tenant_id, aggregate="customer", verb=verb,
                            items=items)


def _key_arrays(values: dict[str, Any]) -> tuple[str, str]:
    """A created customer's exact match keys as (kinds, values) array literals, for the staging table."""
    found = sorted(match.exact_keys(values))
    return (repository.text_array([kind for kind, _ in found]),
            repository.text_array([value for _, value in found]))


def _column_of(kind: str) -> str:
    return {"phone": "mobile", "name": "name"}.get(kind, kind)
