"""Reading a customer's timeline, with the reader's field policies applied.

Entries of the customers service's own changes are written by `record_*` in the transaction of the
change (customer/service.py calls them). Field changes are stored as
`{"changes": [{"field", "from", "to"}]}`; sensitive fields (resident ID, bank card) only as
`{"field", "changed": true}`, never a value. When read, the reader's field policies apply: a change
to a hidden field is left out (and an entry with nothing left is skipped), a masked one shows no
values."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from crm_customers.activity import repository
from crm_customers.activity.kinds import KINDS, ONLY_CHANGES, ORDER_RECORDED
from crm_customers.customer.service import CustomerService
from crm_customers.owners import service as owners
from crm_platform.access import field_policy
from crm_platform.auth import Principal, Scope
from crm_platform.errors import FieldError, InvalidInput
from crm_platform.pagination import PageTokens, page_size


def visible_data(reader: Principal, kind: str, data: dict[str, Any]) -> dict[str, Any] | None:
    """The entry's data as this reader may see it; None when nothing of it is theirs to see."""
    out = dict(data)
    if "changes" in data:
        kept = []
        for change in data["changes"]:
            policy = field_policy(reader, str(change.get("field", "")))
            if policy == "hidden":
                continue
            if policy == "masked" and not change.get("changed"):
                change = {"field": change["field"], "changed": True}
            kept.append(change)
        if not kept and kind in ONLY_CHANGES:
            return None
        out["changes"] = kept
    spend_hidden = Scope.ORDERS_READ.value not in reader.scopes or field_policy(reader, "annual_spend") == "hidden"
    if kind == ORDER_RECORDED and spend_hidden:  # amounts are spend, withheld as in customer reads
        out = {k: v for k, v in out.items() if k not in ("amount", "currency")}
    if "fields" in data:
        out["fields"] = [f for f in data["fields"] if field_policy(reader, str(f)) != "hidden"]
    return out


class ActivityService:
    def __init__(self, page_tokens: PageTokens, customers: CustomerService):
        self.page_tokens = page_tokens
        self.customers = customers

    async def list(
        self, session: AsyncSession, caller: Principal, customer_id: str, kinds: list[str], size: int, token: str
    ) -> tuple[list[tuple[sa.Row[Any], dict[str, Any]]], str]:
        """Newest first, for a customer the caller may see (else 404, as for the customer)."""
        limit = page_size(size)
        wanted = sorted({k.strip() for k in kinds if k.strip()})
        unknown = [k for k in wanted if k not in KINDS]
        if unknown:
            raise InvalidInput([FieldError("kind", "invalid_choice", f"kind must be among {', '.join(KINDS)}")])
        customer = await self.customers.get(session, customer_id, caller=caller)
        after = None
        if token:
            cursor = self.page_tokens.decode(token)
            if cursor.get("q") != ["activity", str(customer.id), wanted]:
                raise InvalidInput([FieldError("page_token", "invalid_page_token",
                                               "page_token belongs to another query")])
            after = (datetime.fromisoformat(cursor["t"]), uuid.UUID(cursor["i"]))
        rows = await repository.page(session, customer.id, wanted, limit + 1, after)
        next_token = ""
        if len(rows) > limit:
            last = rows[limit - 1]
            next_token = self.page_tokens.encode({"q": ["activity", str(customer.id), wanted],
                                                  "t": last.occurred_at.isoformat(), "i": str(last.id)})
        out = []
        for row in rows[:limit]:
            data = visible_data(caller, row.kind, row.data)
            if data is not None:
                out.append((row, data))
        await _name_owners(session, [data for _, data in out])
        return out, next_token


async def actor_names(session: AsyncSession, entries: list[tuple[sa.Row[Any], dict[str, Any]]]) -> dict[str, str]:
    """User id -> display name for the entries' actors (API clients and rules have none)."""
    return await owners.names(session, (row.actor for row, _ in entries))


async def _name_owners(session: AsyncSession, entries: list[dict[str, Any]]) -> None:
    """Owner changes the reader may see get "from_name" / "to_name" next to the ids."""
    changes = [c for data in entries for c in data.get("changes", [])
               if c.get("field") == "owner_id" and not c.get("changed")]
    known = await owners.names(session, (str(c.get(k) or "") for c in changes for k in ("from", "to")))
    for change in changes:
        for key in ("from", "to"):
            name = known.get(str(change.get(key) or ""))
            if name:
                change[f"{key}_name"] = name
