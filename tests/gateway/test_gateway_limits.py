"""The body-size limit: by Content-Length before the app runs, and by counting streamed bytes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from crm_gateway import problems
from crm_gateway.limits import BodySizeLimitMiddleware
from tests.gateway.gateway_testkit import assert_problem

LIMIT = 100


@pytest.fixture
def small() -> Iterator[TestClient]:
    app = FastAPI()
    problems.install(app, "http://testserver/problems/", LIMIT)
    app.add_middleware(BodySizeLimitMiddleware, max_body_bytes=LIMIT)

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, int]:
        return {"received": len(await request.body())}

    @app.post("/json")
    async def parse(body: dict[str, str]) -> dict[str, int]:
        return {"keys": len(body)}

    with TestClient(app) as client:
        yield client


def chunks(total: int, size: int = 30) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        yield b"x" * min(size, total - sent)
        sent += size


def test_within_the_limit_passes(small: TestClient) -> None:
    assert small.post("/echo", content=b"x" * LIMIT).json() == {"received": LIMIT}
    assert small.post("/echo", content=chunks(LIMIT)).json() == {"received": LIMIT}


def test_declared_length_over_the_limit_is_413(small: TestClient) -> None:
    reply = small.post("/echo", content=b"x" * (LIMIT + 1))
    body = assert_problem(reply, 413, "body_too_large")
    assert str(LIMIT) in body["detail"]


@pytest.mark.parametrize("path", ["/echo", "/json"])
def test_streamed_bytes_over_the_limit_are_413(small: TestClient, path: str) -> None:
    # A generator body is sent chunked, with no Content-Length: only counting catches it.
    reply = small.post(path, content=chunks(LIMIT * 3), headers={"content-type": "application/json"})
    assert "content-length" not in reply.request.headers
    assert_problem(reply, 413, "body_too_large")


def test_a_lying_content_length_is_caught_by_counting(small: TestClient) -> None:
    reply = small.post("/echo", content=chunks(LIMIT * 2), headers={"content-length": "10"})
    assert_problem(reply, 413, "body_too_large")


def test_the_gateway_caps_bodies_at_one_mebibyte(client: TestClient) -> None:
    huge = b'{"company_name": "' + b"x" * (1024 * 1024) + b'"}'
    reply = client.post("/v1/signup", content=huge, headers={"content-type": "application/json"})
    assert_problem(reply, 413, "body_too_large")
    form = client.post("/oauth/token", content=b"grant_type=" + b"x" * (1024 * 1024),
                       headers={"content-type": "application/x-www-form-urlencoded"})
    assert_problem(form, 413, "body_too_large")
