"""No two routes of the gateway answer the same method and path: the first registered would
silently take every request of the other (the survey answer page and the share-link page were
both `/s/{token}`, and share links answered "Survey not found")."""

from __future__ import annotations

import re
from collections import Counter

from fastapi.routing import APIRoute

from crm_gateway.app import ROUTERS


def test_every_method_and_path_has_one_route() -> None:
    seen: Counter[tuple[str, str]] = Counter()
    for router in ROUTERS:
        for route in router.routes:
            if isinstance(route, APIRoute):
                shape = re.sub(r"\{[^}]+\}", "{}", route.path)  # /s/{token} and /s/{code} are one path
                seen.update((method, shape) for method in route.methods)
    assert sum(seen.values()) > 300  # every router's routes were read
    clashes = sorted(key for key, count in seen.items() if count > 1)
    assert not clashes, clashes
