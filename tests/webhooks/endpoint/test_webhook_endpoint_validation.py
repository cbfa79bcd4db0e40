"""Which URLs and event types an endpoint may have."""

from __future__ import annotations

import pytest

from crm_webhooks.endpoint.validation import MAX_EVENT_TYPES, distinct, event_type_errors, url_errors

ACCEPTED = [
    "https://hooks.example.com/crm",
    "http://hooks.example.com:8080/path?x=1",
    "HTTPS://Hooks.Example.com/",
    "https://例子.中国/webhook",
    "https://93.184.216.34/hook",
]

REJECTED = [
    ("", "required"),
    ("hooks.example.com/crm", "invalid_url"),  # not absolute
    ("/relative/path", "invalid_url"),
    ("ftp://hooks.example.com/", "invalid_url"),
    ("javascript:alert(1)", "invalid_url"),
    ("file:///etc/passwd", "invalid_url"),
    ("https://", "invalid_url"),
    ("https:///path-only", "invalid_url"),
    ("https://user:pw@hooks.example.com/", "invalid_url"),
    ("https://hooks.example.com:99999/", "invalid_url"),
    ("https://hooks.example.com:port/", "invalid_url"),
    ("https://hooks.example.com/a b", "invalid_url"),
    ("https://hooks.example.com/\nx", "invalid_url"),
    ("https://hooks.example.com/" + "a" * 2048, "invalid_url"),
]

PRIVATE = [
    "http://127.0.0.1:8080/hook",
    "http://localhost/hook",
    "http://api.localhost/hook",
    "http://10.1.2.3/",
    "http://192.168.0.1/",
    "http://169.254.169.254/latest/meta-data",
    "http://[::1]:9000/",
    "http://[::ffff:127.0.0.1]/",
    "http://0.0.0.0/",
]


@pytest.mark.parametrize("url", ACCEPTED)
def test_accepted_urls(url: str) -> None:
    assert url_errors(url, allow_private=False) == []


@pytest.mark.parametrize(("url", "code"), REJECTED)
def test_rejected_urls(url: str, code: str) -> None:
    errors = url_errors(url, allow_private=True)
    assert [(e.field, e.code) for e in errors] == [("url", code)]


@pytest.mark.parametrize("url", PRIVATE)
def test_private_targets_are_refused_unless_allowed(url: str) -> None:
    assert [e.code for e in url_errors(url, allow_private=False)] == ["invalid_url"]
    assert url_errors(url, allow_private=True) == []


def test_event_types_must_look_like_crm_aggregate_verb() -> None:
    good = ["crm.customer.created", "crm.followup_task.created", "crm.tag.applied"]
    assert event_type_errors(good) == []
    errors = event_type_errors(["crm.customer.created", "customer.created", "crm.Customer.created", "crm.*"])
    assert [(e.field, e.code) for e in errors] == [
        ("event_types[1]", "invalid_event_type"),
        ("event_types[2]", "invalid_event_type"),
        ("event_types[3]", "invalid_event_type"),
    ]


def test_too_many_event_types() -> None:
    many = [f"crm.thing{i}.created" for i in range(MAX_EVENT_TYPES + 1)]
    assert [e.code for e in event_type_errors(many)] == ["too_many"]


def test_distinct_keeps_first_order() -> None:
    assert distinct(["b", "a", "b", "c", "a"]) == ["b", "a", "c"]
