"""Erasure (right to be forgotten): one transaction deletes a customer and everything the customers
service holds about it, leaves a tombstone (id, when, by whom, why) and emits `customer.erased`,
on which every other service deletes its own rows (crm_platform/erasure.py)."""

from __future__ import annotations

import uuid
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from crm_customers.customer import access
from crm_customers.customer.cleaning import clean_text
from crm_customers.erasure import repository
from crm_platform import outbox
from crm_platform.auth import Principal
from crm_platform.errors import FieldError, InvalidInput, NotFound
from crm_platform.events import proto_data
from crm_platform.ids import parse_uuid
from crm_proto.crm.events.v1 import events_pb2

SOURCE: Final = "crm/customers"
MAX_REASON: Final = 500


def erased(customer_id: uuid.UUID | str) -> NotFound:
    """The answer for an erased id everywhere in customers: 404 with its own code."""
    return NotFound("the customer was permanently erased", code="customer_erased",
                    extra={"customer_id": str(customer_id)})


async def check_not_erased(session: AsyncSession, customer_id: uuid.UUID) -> None:
    if await repository.tombstone(session, customer_id) is not None:
        raise erased(customer_id)


def _confirmed(row: Any, confirm: str) -> bool:
    typed = clean_text(confirm)
    return bool(typed) and (typed.casefold() == row.code.casefold() or typed == clean_text(row.name))


class ErasureService:
    async def erase(
        self, session: AsyncSession, caller: Principal, customer_id: str, confirm: str, reason: str
    ) -> sa.Row[Any]:
        cid = parse_uuid(customer_id, "customer")
        await check_not_erased(session, cid)
        row = await repository.lock_customer(session, cid, access.scope_clause(caller))
        if row is None:
            raise NotFound("customer not found")
        reason = clean_text(reason)
        errors: list[FieldError] = []
        if not clean_text(confirm):
            errors.append(FieldError("confirm", "required", "type the customer's code or name to confirm"))
        elif not _confirmed(row, confirm):
            errors.append(FieldError("confirm", "confirm_mismatch", "does not match the customer's code or name"))
        if not reason:
            errors.append(FieldError("reason", "required", "say why the customer is erased"))
        elif len(reason) > MAX_REASON:
            errors.append(FieldError("reason", "too_long", f"at most {MAX_REASON} characters"))
        if errors:
            raise InvalidInput(errors)
        await repository.delete_related(session, cid)
        await repository.delete_customer(session, cid)
        await repository.purge_events(session, caller.tenant_id, cid)
        tombstone = await repository.insert_tombstone(session, cid, caller.actor, reason)
        await outbox.add_event(
            session, source=SOURCE, tenant_id=caller.tenant_id, aggregate="customer", verb="erased",
            data=proto_data(events_pb2.CustomerErased(customer_id=str(cid))), subject_id=str(cid),
        )
        return tombstone


erasure_service = ErasureService()
