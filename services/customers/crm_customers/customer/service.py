"""Customer rules: clean input, code generation, optimistic concurrency, events."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from crm_customers.customer import repository
from crm_customers.customer.cleaning import check_reachable, clean_fields
from crm_customers.customer.schemas import to_proto
from crm_platform import outbox
from crm_platform.auth import Principal
from crm_platform.errors import FieldError, InvalidInput, NotFound, PreconditionFailed
from crm_platform.events import proto_data
from crm_platform.ids import new_id, parse_uuid
from crm_platform.pagination import PageTokens, page_size

SOURCE = "crm/customers"


def _owner(values: dict[str, Any], errors: list[FieldError]) -> None:
    if "owner_id" in values:
        raw = values["owner_id"]
        try:
            values["owner_id"] = uuid.UUID(raw) if raw else None
        except ValueError:
            errors.append(FieldError("owner_id", "invalid_id", "owner_id is not a valid id"))


class CustomerService:
    def __init__(self, page_tokens: PageTokens):
        self.page_tokens = page_tokens

    async def create(self, session: AsyncSession, caller: Principal, raw: dict[str, str]) -> sa.Row[Any]:
        cleaned = clean_fields(raw, creating=True)
        errors = cleaned.errors + check_reachable(cleaned.values, cleaned.errors)
        values: dict[str, Any] = dict(cleaned.values)
        _owner(values, errors)
        if errors:
            raise InvalidInput(errors)
        if not values.get("code"):
            number = await repository.next_code_number(session)
            values["code"] = f"CUS-{datetime.now(UTC):%Y}-{number:06d}"
        values.setdefault("owner_id", caller.user_id)
        row = await repository.insert(
            session,
            {
                **values,
                "id": new_id(),
                "version": 1,
                "created_by": caller.actor,
                "updated_by": caller.actor,
            },
        )
        await outbox.add_event(
            session,
            source=SOURCE,
            tenant_id=caller.tenant_id,
            aggregate="customer",
            verb="created",
            data={"customer": proto_data(to_proto(row))},
            subject_id=str(row.id),
        )
        return row

    async def get(self, session: AsyncSession, customer_id: str) -> sa.Row[Any]:
        row = await repository.get(session, parse_uuid(customer_id, "customer"))
        if row is None:
            raise NotFound("customer not found")
        return row

    async def update(
        self, session: AsyncSession, caller: Principal, customer_id: str, raw: dict[str, str], expected_version: int
    ) -> sa.Row[Any]:
        current = await self.get(session, customer_id)
        cleaned = clean_fields(raw, creating=False)
        merged = {"mobile": current.mobile, "email": current.email, **cleaned.values}
        errors = cleaned.errors + check_reachable(merged, cleaned.errors)
        values: dict[str, Any] = dict(cleaned.values)
        _owner(values, errors)
        if errors:
            raise InvalidInput(errors)
        if expected_version != current.version:
            raise PreconditionFailed(
                "the customer was changed by someone else",
                code="stale_version",
                extra={"current_version": current.version},
            )
        changed = sorted(k for k, v in values.items() if getattr(current, k) != v)
        if not changed:
            return current
        row = await repository.update_if_version(
            session, current.id, expected_version, {**values, "updated_by": caller.actor}
        )
        if row is None:  # changed between our read and our write
            latest = await self.get(session, customer_id)
            raise PreconditionFailed(
                "the customer was changed by someone else",
                code="stale_version",
                extra={"current_version": latest.version},
            )
        await outbox.add_event(
            session,
            source=SOURCE,
            tenant_id=caller.tenant_id,
            aggregate="customer",
            verb="updated",
            data={"customer": proto_data(to_proto(row)), "changed_fields": changed},
            subject_id=str(row.id),
        )
        return row

    async def list(
        self, session: AsyncSession, *, size: int, token: str, order_by: str, industry: str, status: str, q: str
    ) -> tuple[list[sa.Row[Any]], str]:
        limit = page_size(size)
        order = " ".join((order_by or "created_at desc").lower().split())
        if order not in repository.ORDERINGS:
            raise InvalidInput(
                [
                    FieldError(
                        "order_by", "invalid_order_by", f"order_by must be one of: {', '.join(repository.ORDERINGS)}"
                    )
                ]
            )
        after = None
        if token:
            cursor = self.page_tokens.decode(token)
            if cursor.get("o") != order or cursor.get("f") != [industry, status, q]:
                raise InvalidInput(
                    [FieldError("page_token", "invalid_page_token", "page_token belongs to another query")]
                )
            after = (datetime.fromisoformat(cursor["c"]), uuid.UUID(cursor["i"]))
        rows = await repository.list_page(
            session, order_by=order, limit=limit + 1, after=after, industry=industry, status=status, q=q.strip()
        )
        next_token = ""
        if len(rows) > limit:
            last = rows[limit - 1]
            next_token = self.page_tokens.encode(
                {"o": order, "f": [industry, status, q], "c": last.created_at.isoformat(), "i": str(last.id)}
            )
        return rows[:limit], next_token
