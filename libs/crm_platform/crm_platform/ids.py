"""Identifiers: UUIDv7 (time-ordered, unguessable) and tenant schema names."""

from __future__ import annotations

import uuid

import uuid_utils


def new_id() -> uuid.UUID:
    return uuid.UUID(int=uuid_utils.uuid7().int)


def tenant_schema(tenant_id: uuid.UUID | str) -> str:
    """The Postgres schema holding one tenant's rows in every service database."""
    return f"t_{uuid.UUID(str(tenant_id)).hex}"


def parse_uuid(value: str, field: str = "id") -> uuid.UUID:
    """Parses an id from outside; a malformed one is simply not found (never a 500)."""
    from crm_platform.errors import NotFound

    try:
        return uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        raise NotFound(f"{field} not found") from None
