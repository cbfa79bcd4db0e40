"""The committed gRPC code is what the protos generate (regenerating changes nothing)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_generated_code_is_current() -> None:
    result = subprocess.run([sys.executable, "scripts/gen_proto.py", "--check"], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_every_proto_package_is_versioned() -> None:
    for proto in (ROOT / "proto").rglob("*.proto"):
        text = proto.read_text()
        package = next(line for line in text.splitlines() if line.startswith("package "))
        version = proto.parent.name
        assert package.rstrip(";").endswith(f".{version}"), f"{proto}: {package} is not in a versioned package"
