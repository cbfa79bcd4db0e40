"""What a tenant may register as an endpoint: checked before anything is written."""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import urlsplit

import httpx

from crm_platform.access import CUSTOMER_FIELDS
from crm_platform.errors import FieldError
from crm_webhooks.targets import is_forbidden_literal_host

MAX_URL_LENGTH = 2048
MAX_EVENT_TYPES = 100
# crm.<aggregate>.<verb>, as produced by crm_platform.events.event_type.
EVENT_TYPE = re.compile(r"crm\.[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*")
MAX_HIDDEN_FIELDS = 100
MAX_DESCRIPTION_LENGTH = 500
# A custom field as field policies name it (identity's role field policies use the same form).
CUSTOM_FIELD = re.compile(r"cf\.[a-z][a-z0-9_]{0,39}")


def url_errors(url: str, *, allow_private: bool) -> list[FieldError]:
    """Field errors for `url` (empty list when it is acceptable)."""
    problem = _url_problem(url, allow_private=allow_private)
    if problem is None:
        return []
    code, message = problem
    return [FieldError("url", code, message)]


def _url_problem(url: str, *, allow_private: bool) -> tuple[str, str] | None:
    if not url:
        return "required", "url is required"
    if len(url) > MAX_URL_LENGTH:
        return "invalid_url", f"url must be at most {MAX_URL_LENGTH} characters"
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        return "invalid_url", "url must not contain spaces or control characters"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a malformed port
        httpx.URL(url)  # the sender must be able to use it too
    except (ValueError, httpx.InvalidURL):
        return "invalid_url", "url is not a valid URL"
    if parts.scheme.lower() not in ("http", "https"):
        return "invalid_url", "url must use http or https"
    if not parts.hostname:
        return "invalid_url", "url must be absolute, with a host"
    if parts.username is not None or parts.password is not None:
        # Credentials would be stored and listed in clear; the signature authenticates us.
        return "invalid_url", "url must not contain credentials"
    if not allow_private and is_forbidden_literal_host(parts.hostname):
        return "invalid_url", "url must not point to a private or loopback address"
    return None


def event_type_errors(event_types: Sequence[str]) -> list[FieldError]:
    if len(event_types) > MAX_EVENT_TYPES:
        return [FieldError("event_types", "too_many", f"at most {MAX_EVENT_TYPES} event types")]
    return [
        FieldError(f"event_types[{index}]", "invalid_event_type",
                   "event type must look like crm.customer.created")
        for index, value in enumerate(event_types)
        if not EVENT_TYPE.fullmatch(value)
    ]


def distinct(values: Sequence[str]) -> list[str]:
    """Drops repeats, keeping the first occurrence's order."""
    return list(dict.fromkeys(values))


def hidden_field_errors(names: Sequence[str]) -> list[FieldError]:
    """Fields an endpoint may hide: the customer fields field policies govern, or `cf.<key>`."""
    if len(names) > MAX_HIDDEN_FIELDS:
        return [FieldError("hidden_fields", "too_many", f"at most {MAX_HIDDEN_FIELDS} fields")]
    return [
        FieldError(f"hidden_fields[{index}]", "invalid_field", "not a customer field (or cf.<key>)")
        for index, name in enumerate(names)
        if name not in CUSTOMER_FIELDS and not CUSTOM_FIELD.fullmatch(name)
    ]


def description_errors(description: str) -> list[FieldError]:
    if len(description) > MAX_DESCRIPTION_LENGTH:
        return [FieldError("description", "too_long",
                           f"description must be at most {MAX_DESCRIPTION_LENGTH} characters")]
    if any(ord(ch) < 0x20 and ch not in "\n\t" for ch in description):
        return [FieldError("description", "invalid_characters", "description must not contain control characters")]
    return []
