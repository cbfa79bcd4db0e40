"""Regenerate libs/crm_proto/ from proto/ (the only way generated code is produced).

Usage: python scripts/gen_proto.py [--check]

Generated modules import each other as `crm.<svc>.v1`; they are rewritten to live under the
`crm_proto` package so nothing named `crm` is installed at the top level.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTO_DIR = ROOT / "proto"
OUT_PACKAGE = ROOT / "libs" / "crm_proto" / "crm_proto"
IMPORT_RE = re.compile(r"^(from|import) crm\.", re.MULTILINE)


def generate(into: Path) -> None:
    protos = sorted(str(p.relative_to(PROTO_DIR)) for p in PROTO_DIR.rglob("*.proto"))
    include = Path(protoc.__file__).parent / "_proto"
    args = [
        "protoc",
        f"-I{PROTO_DIR}",
        f"-I{include}",
        f"--python_out={into}",
        f"--pyi_out={into}",
        f"--grpc_python_out={into}",
        *protos,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    for path in into.rglob("*.py*"):
        text = path.read_text()
        path.write_text(IMPORT_RE.sub(lambda m: f"{m.group(1)} crm_proto.crm.", text))
    for directory in [into, *(p for p in into.rglob("*") if p.is_dir())]:
        (directory / "__init__.py").touch()
    (into / "py.typed").touch()


def tree(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--check", action="store_true", help="fail if the committed code is stale")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp) / "crm_proto"
        fresh.mkdir()
        generate(fresh)
        if args.check:
            if tree(fresh) != tree(OUT_PACKAGE):
                print("libs/crm_proto is stale: run python scripts/gen_proto.py", file=sys.stderr)
                return 1
            return 0
        shutil.rmtree(OUT_PACKAGE, ignore_errors=True)
        shutil.copytree(fresh, OUT_PACKAGE)
    return 0


if __name__ == "__main__":
    sys.exit(main())
