"""Customer data scope in services that keep rows about customers (followups' tasks today; its
records, and any other service, the same way): docs/access.md, "Enforcement".

The customers service decides who sees which customer (`crm_customers/customer/access.py`). A
service holding rows that name a customer applies the same rule to them without calling customers
on every read, from two local projections:

- `customer_scope(customer_id, owner_id, deleted, version)`, kept from customers' events
  (`created`, `updated`, `deleted`, `restored`, `erased`; a merge soft-deletes the merged customers
  with `customer.deleted`, its undo restores them) by `customer_scope_subscription`: the newest
  version wins, so redelivered and reordered events are harmless, and an erased customer's row is
  deleted (and later events about it ignored, crm_platform/erasure.py);
- `user_teams` (crm_platform/user_teams.py), the owner -> team map for data scope `team`.

`CustomerAccess` turns a principal into
- a SQL condition on the service's `customer_id` column for lists (`condition`): data scope `all`
  sees rows of every customer that is not soft-deleted; `own` / `team` see rows of customers the
  projection knows to be owned by a visible owner and not deleted;
- a check for one customer (`require_visible`), used by every read or write of one row and by
  every write naming a customer. The projection answers when it can say yes; when it says no or
  does not know the customer yet (created a moment ago; owner changed a moment ago) the customers
  service is asked with the caller's own token (`CustomerDirectory`), which is authoritative and
  gives read-your-writes; its answer is stored in the projection. Outside the scope, deleted,
  unknown or another tenant's id: NotFound, the same 404 the customers service gives.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

import grpc
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.ext.asyncio import AsyncSession

from crm_platform import telemetry
from crm_platform.auth import Principal
from crm_platform.consumer import Subscription
from crm_platform.db import TENANT
from crm_platform.erasure import about_erased_customer, apply_erasure
from crm_platform.errors import NotFound, Unauthenticated, Unavailable
from crm_platform.events import CloudEvent
from crm_platform.grpc_client import DEFAULT_DEADLINE, call_metadata, channel
from crm_platform.user_teams import visible_owners
from crm_proto.crm.customers.v1 import customers_pb2, customers_pb2_grpc

log = logging.getLogger(__name__)

# `imported` / `import_reverted` carry a batch (data.customers: an import's created and updated
# customers; an undo's deleted and restored ones, crm_customers/importing).
SUBJECTS: Final = [f"crm.*.customer.{verb}" for verb in ("created", "updated", "deleted", "restored", "erased",
                                                         "imported", "import_reverted")]
DELETED: Final = "crm.customer.deleted"


def customer_scope_table(metadata: sa.MetaData) -> sa.Table:
    """The tenant table `customer_scope` (each service creates it in its own tenant migration)."""
    return sa.Table(
        "customer_scope",
        metadata,
        sa.Column("customer_id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("owner_id", pg.UUID(as_uuid=True)),
        # Soft-deleted (or merged into another customer): nobody sees its rows until it is restored.
        sa.Column("deleted", sa.Boolean, nullable=False),
        # The customer's version in customers: an older event never overwrites a newer one.
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
        schema=TENANT,
    )


@dataclass(frozen=True)
class CustomerFacts:
    """What data scope needs to know about one customer."""

    customer_id: uuid.UUID
    owner_id: uuid.UUID | None
    deleted: bool
    version: int

    @classmethod
    def from_event(cls, event: CloudEvent) -> CustomerFacts | None:
        """From a CustomerCreated / Updated / Deleted / Restored payload (`data.customer`, proto3
        JSON: int64 as a string, empty strings and unset timestamps left out); None when unusable."""
        customer = event.data.get("customer") if isinstance(event.data, dict) else None
        return cls.from_payload(event, customer)

    @classmethod
    def batch_from_event(cls, event: CloudEvent) -> list[CustomerFacts] | None:
        """Every customer of a batch payload (`data.customers`); None when it is not one or unusable."""
        batch = event.data.get("customers") if isinstance(event.data, dict) else None
        if not isinstance(batch, list):
            return None
        found = [cls.from_payload(event, customer) for customer in batch]
        return None if any(f is None for f in found) else [f for f in found if f is not None]

    @classmethod
    def from_payload(cls, event: CloudEvent, customer: Any) -> CustomerFacts | None:
        if not isinstance(customer, dict):
            return None
        try:
            customer_id = uuid.UUID(str(customer.get("id")))
            owner = str(customer.get("owner_id") or "")
            return cls(
                customer_id=customer_id,
                owner_id=uuid.UUID(owner) if owner else None,
                deleted=event.type == DELETED or bool(customer.get("deleted_at")),
                version=int(customer.get("version") or 0),
            )
        except (TypeError, ValueError):
            return None

    @classmethod
    def from_customer(cls, message: Any) -> CustomerFacts | None:
        """From a `crm.customers.v1.Customer` reply; None when the reply withholds the owner (the
        caller's field policies hide `owner_id`), since the projection must not guess it."""
        if not message.owner_id:
            return None
        try:
            return cls(uuid.UUID(message.id), uuid.UUID(message.owner_id), message.HasField("deleted_at"),
                       int(message.version))
        except ValueError:
            return None


async def save_facts(session: AsyncSession, table: sa.Table, facts: CustomerFacts, *more: CustomerFacts) -> None:
    """Upserts the customers (one statement) unless a row already holds the same or a newer version."""
    newest: dict[uuid.UUID, CustomerFacts] = {}
    for one in (facts, *more):
        if one.customer_id not in newest or newest[one.customer_id].version < one.version:
            newest[one.customer_id] = one
    statement = pg.insert(table).values([
        {"customer_id": f.customer_id, "owner_id": f.owner_id, "deleted": f.deleted, "version": f.version}
        for f in newest.values()])
    await session.execute(statement.on_conflict_do_update(
        index_elements=[table.c.customer_id],
        set_={"owner_id": statement.excluded.owner_id, "deleted": statement.excluded.deleted,
              "version": statement.excluded.version, "updated_at": sa.func.now()},
        where=table.c.version < statement.excluded.version,
    ))


def customer_scope_subscription(durable: str, table: sa.Table) -> Subscription:
    """A durable consumer keeping `table` from customers' events (see the module docstring)."""

    async def forget(session: AsyncSession, tenant_id: uuid.UUID, customer_id: uuid.UUID) -> None:
        await session.execute(sa.delete(table).where(table.c.customer_id == customer_id))

    async def handle(event: CloudEvent, session: AsyncSession) -> None:
        if await apply_erasure(session, event, forget) or await about_erased_customer(session, event):
            return
        is_batch = isinstance(event.data, dict) and "customers" in event.data
        batch = CustomerFacts.batch_from_event(event) if is_batch else None
        facts = None if is_batch else CustomerFacts.from_event(event)
        if batch is None and facts is None:
            # Redelivery cannot fix a malformed payload: skip it (the inbox records it as seen).
            log.warning("customer event without a usable customer; skipped",
                        extra=telemetry.log_fields(event_id=event.id, type=event.type))
            return
        if batch is not None:
            if batch:
                await save_facts(session, table, *batch)
        elif facts is not None:
            await save_facts(session, table, facts)

    return Subscription(durable=durable, filter_subjects=SUBJECTS, handler=handle)


class CustomerDirectory(Protocol):
    """The customers service's answer for one customer, asked with the caller's token: its facts
    when the caller may see it, None when it is unknown, deleted, erased or outside the caller's
    data scope. `facts` may be None while `visible` is True (owner hidden from the caller)."""

    async def lookup(self, principal: Principal, customer_id: uuid.UUID) -> tuple[bool, CustomerFacts | None]: ...


class CustomersOverGrpc:
    """`CustomerDirectory` over customers' `GetCustomer`, forwarding the caller's token: the
    customers service applies the caller's tenant, scopes and data scope itself."""

    def __init__(self, address: str):
        self._stub = customers_pb2_grpc.CustomerServiceStub(channel(address))

    async def lookup(self, principal: Principal, customer_id: uuid.UUID) -> tuple[bool, CustomerFacts | None]:
        try:
            reply = await self._stub.GetCustomer(customers_pb2.GetCustomerRequest(id=str(customer_id)),
                                                 metadata=call_metadata(principal.token), timeout=DEFAULT_DEADLINE)
        except grpc.aio.AioRpcError as exc:
            status = exc.code()
            # Not found, outside the scope, erased, merged away, or a token that may not read
            # customers: in every case the caller may not name this customer.
            if status in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.PERMISSION_DENIED,
                          grpc.StatusCode.INVALID_ARGUMENT):
                return False, None
            if status == grpc.StatusCode.UNAUTHENTICATED:
                raise Unauthenticated("the token was refused") from None
            raise Unavailable("the customers service did not answer; try again") from None
        return True, CustomerFacts.from_customer(reply)


@dataclass(frozen=True)
class CustomerScope:
    """Whose customers the caller sees: `owners` None means every customer of the tenant."""

    owners: tuple[uuid.UUID, ...] | None

    def allows(self, facts: Any) -> bool:
        """For a projection row (or CustomerFacts): visible and not deleted."""
        if facts.deleted:
            return False
        return self.owners is None or facts.owner_id in self.owners


class CustomerAccess:
    """Data scope on a service's rows about customers (see the module docstring)."""

    def __init__(self, scope_table: sa.Table, user_teams: sa.Table, directory: CustomerDirectory):
        self.table = scope_table
        self.user_teams = user_teams
        self.directory = directory

    async def scope(self, session: AsyncSession, principal: Principal) -> CustomerScope:
        owners = await visible_owners(session, self.user_teams, principal)
        return CustomerScope(None if owners is None else tuple(owners))

    def condition(self, customer_id: sa.ColumnElement[Any], scope: CustomerScope) -> sa.ColumnElement[bool]:
        """Rows whose customer the caller sees: for `all` every customer not known to be deleted
        (rows of a customer not in the projection yet stay visible), otherwise customers the
        projection knows, owned by a visible owner and not deleted."""
        table = self.table
        if scope.owners is None:
            return ~sa.exists().where(table.c.customer_id == customer_id, table.c.deleted)
        if not scope.owners:
            return sa.false()
        return sa.exists().where(table.c.customer_id == customer_id, ~table.c.deleted,
                                 table.c.owner_id.in_(scope.owners))

    async def facts(self, session: AsyncSession, customer_id: uuid.UUID) -> sa.Row[Any] | None:
        return (await session.execute(sa.select(self.table).where(self.table.c.customer_id == customer_id))).first()

    async def require_all_visible(self, session: AsyncSession, principal: Principal,
                                  customer_ids: Sequence[uuid.UUID]) -> None:
        """`require_visible` for many customers: one projection query for all; only those the
        projection does not know (or knows outside the scope: it may lag a reassignment) are asked
        of the customers service, one by one."""
        scope = await self.scope(session, principal)
        known = {row.customer_id: row for row in (await session.execute(
            sa.select(self.table).where(self.table.c.customer_id.in_(list(customer_ids))))).all()}
        for customer_id in customer_ids:
            facts = known.get(customer_id)
            if facts is None or not scope.allows(facts):
                await self.require_visible(session, principal, customer_id, scope)

    async def require_visible(self, session: AsyncSession, principal: Principal, customer_id: uuid.UUID,
                              scope: CustomerScope | None = None) -> None:
        """NotFound unless the caller may see the customer (the projection, else customers)."""
        if scope is None:
            scope = await self.scope(session, principal)
        known = await self.facts(session, customer_id)
        if known is not None and scope.allows(known):
            return
        visible, facts = await self.directory.lookup(principal, customer_id)
        if not visible:
            raise NotFound("customer not found")
        if facts is not None:
            await save_facts(session, self.table, facts)
