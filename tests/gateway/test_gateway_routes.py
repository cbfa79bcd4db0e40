"""No two routes of the gateway answer the same method and path: the first registered would
silently take every request of the other (the survey answer page and the share-link page were
both `/s/{token}`, and share links answered "Survey not found")."""

from __future__ import annotations

import inspect
import re
from collections import Counter
from collections.abc import Iterator

from fastapi.dependencies.models import Dependant
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


def _dependencies(dependant: Dependant) -> Iterator[Dependant]:
    for sub in dependant.dependencies:
        yield sub
        yield from _dependencies(sub)


def test_the_customer_reads_run_no_dependency_in_a_thread() -> None:
    """FastAPI runs a plain `def` dependency in a worker thread: a thread hop on every request
    (the text rule's parameter check was one, on every operation)."""
    from crm_gateway.api import customers

    routes = [r for r in customers.router.routes if isinstance(r, APIRoute) and "GET" in r.methods]
    assert {r.path for r in routes} >= {"/v1/customers", "/v1/customers/{customer_id}"}
    for route in routes:
        for sub in _dependencies(route.dependant):
            if sub.call is None:
                continue
            call = sub.call if inspect.isfunction(sub.call) else sub.call.__call__
            assert inspect.iscoroutinefunction(call), (route.path, sub.call)
