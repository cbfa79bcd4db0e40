"""Schemathesis hooks for the API fuzz run (tests/e2e/test_api_fuzz.py, loaded through
SCHEMATHESIS_HOOKS): every valid `Idempotency-Key` the fuzzer generates is made unique.

Deterministic generation draws the same few keys again and again; the gateway then rightly answers
the second request with a key `422 idempotency_key_mismatch` (or replays the first answer), so
most POST bodies would never reach a service. Invalid keys are left as generated, so the 400
`invalid_idempotency_key` path is still fuzzed; replay itself has its own tests."""

from __future__ import annotations

import itertools
from typing import Any

import schemathesis

_counter = itertools.count(1)


def _valid_key(value: object) -> bool:
    return isinstance(value, str) and 1 <= len(value.strip()) <= 255 and all(" " <= c <= "~" for c in value)


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    headers = case.headers or {}
    for name in list(headers):
        if name.lower() == "idempotency-key" and _valid_key(headers[name]):
            headers[name] = f"fuzz-{next(_counter)}"
