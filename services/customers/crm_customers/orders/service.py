"""Order rules: validation (currency, amounts, dates, items), customer by id or code within the
caller's data scope, idempotent upsert by external id with `order.recorded` on every real change,
batches with per-row results, lists. Amounts follow the `annual_spend` field policy."""

from __future__ import annotations

import contextlib
import re
import uuid
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from crm_customers.customer import access
from crm_customers.customer.cleaning import clean_text
from crm_customers.metrics import service as metrics
from crm_customers.orders import events, repository
from crm_customers.orders.currencies import MINOR_UNITS
from crm_customers.orders.repository import OrderFilter
from crm_platform.access import field_policy
from crm_platform.auth import Principal
from crm_platform.errors import FieldError, InvalidInput, NotFound
from crm_platform.ids import new_id, parse_uuid
from crm_platform.pagination import PageTokens, page_size
from crm_proto.crm.customers.v1 import orders_pb2 as pb

KINDS: Final = ("order", "contract")
STATUSES: Final = ("pending", "confirmed", "paid", "cancelled", "refunded")
MAX_BATCH: Final = 1000
MAX_ITEMS: Final = 500
MAX_EXTERNAL_ID: Final = 200
MAX_TEXT: Final = 200
MAX_INTEGER_DIGITS: Final = 16
EARLIEST: Final = date(1900, 1, 1)
LATEST: Final = date(2199, 12, 31)
_EXTERNAL_ID = re.compile(r"^[A-Za-z0-9._:/#-]+$")
_DECIMAL = re.compile(r"^-?\d+(\.\d+)?$")
# The field policy that governs order amounts (docs/access.md): whoever may not see a customer's
# spend may not see what they paid for an order either.
SPEND_FIELD: Final = "annual_spend"


def amounts_visible(principal: Principal) -> bool:
    """Hidden or masked spend hides order amounts (a masked number has no masked form)."""
    return field_policy(principal, SPEND_FIELD) in ("read_only", "read_write")


def _decimal(raw: str, name: str, errors: list[FieldError], *, places: int, negative: bool = False) -> Decimal | None:
    text = raw.strip()
    if not _DECIMAL.match(text):
        errors.append(FieldError(name, "invalid_decimal", "must be a decimal string such as \"1200.50\""))
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        errors.append(FieldError(name, "invalid_decimal", "must be a decimal string such as \"1200.50\""))
        return None
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)
    if -exponent > places:
        errors.append(FieldError(name, "too_many_decimals", f"at most {places} decimal places"))
        return None
    if len(text.lstrip("-").split(".")[0].lstrip("0")) > MAX_INTEGER_DIGITS:
        errors.append(FieldError(name, "out_of_range", "the number is too large"))
        return None
    if value < 0 and not negative:
        errors.append(FieldError(name, "negative", "must not be negative"))
        return None
    return value


def canonical(value: Decimal) -> str:
    """`2`, `2.5`, `0.125`: one text per number, so a re-sent `2.0` compares equal to `2`."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


@dataclass
class Cleaned:
    values: dict[str, Any] = field(default_factory=dict)
    errors: list[FieldError] = field(default_factory=list)
    customer_id: uuid.UUID | None = None
    customer_code: str = ""


def clean(raw: pb.OrderInput) -> Cleaned:
    """Every rule that needs no database; field names as in the API (`items[2].quantity`)."""
    out = Cleaned()
    errors = out.errors
    external_id = clean_text(raw.external_id)
    if not external_id:
        errors.append(FieldError("external_id", "required", "the outside system's order id is required"))
    elif len(external_id) > MAX_EXTERNAL_ID or not _EXTERNAL_ID.match(external_id):
        errors.append(FieldError("external_id", "invalid_external_id",
                                 f"up to {MAX_EXTERNAL_ID} letters, digits and . _ : / # -"))
    kind = clean_text(raw.kind) or "order"
    if kind not in KINDS:
        errors.append(FieldError("kind", "invalid_choice", "kind must be order or contract"))
    status = clean_text(raw.status)
    if not status:
        errors.append(FieldError("status", "required", f"status is required: {', '.join(STATUSES)}"))
    elif status not in STATUSES:
        errors.append(FieldError("status", "invalid_choice", f"status must be one of {', '.join(STATUSES)}"))
    customer_id, code = clean_text(raw.customer_id), clean_text(raw.customer_code)
    if customer_id and code:
        errors.append(FieldError("customer_code", "one_of", "send customer_id or customer_code, not both"))
    elif not customer_id and not code:
        errors.append(FieldError("customer_id", "required", "customer_id or customer_code is required"))
    elif customer_id:
        try:
            out.customer_id = uuid.UUID(customer_id)
        except ValueError:
            errors.append(FieldError("customer_id", "unknown_customer", "no customer has this id"))
    out.customer_code = code
    currency = clean_text(raw.currency).upper()
    places = MINOR_UNITS.get(currency)
    if not currency:
        errors.append(FieldError("currency", "required", "an ISO 4217 currency code is required"))
    elif places is None:
        errors.append(FieldError("currency", "invalid_currency", "not an ISO 4217 currency code"))
    ordered_on: date | None = None
    text_date = clean_text(raw.ordered_on)
    if not text_date:
        errors.append(FieldError("ordered_on", "required", "the order (or signing) date is required"))
    else:
        try:
            ordered_on = date.fromisoformat(text_date) if len(text_date) == 10 else None
        except ValueError:
            ordered_on = None
        if ordered_on is None:
            errors.append(FieldError("ordered_on", "invalid_date", "must be a date as YYYY-MM-DD"))
        elif not EARLIEST <= ordered_on <= LATEST:
            errors.append(FieldError("ordered_on", "date_out_of_range", "must be between 1900-01-01 and 2199-12-31"))
    items: list[dict[str, str]] = []
    total = Decimal(0)
    if len(raw.items) > MAX_ITEMS:
        errors.append(FieldError("items", "too_many", f"at most {MAX_ITEMS} items"))
    for i, item in enumerate(raw.items[:MAX_ITEMS]):
        prefix = f"items[{i}]"
        name, sku = clean_text(item.name), clean_text(item.sku)
        row_errors: list[FieldError] = []
        if not name:
            row_errors.append(FieldError(f"{prefix}.name", "required", "each item needs a name"))
        elif len(name) > MAX_TEXT:
            row_errors.append(FieldError(f"{prefix}.name", "too_long", f"at most {MAX_TEXT} characters"))
        if len(sku) > MAX_TEXT:
            row_errors.append(FieldError(f"{prefix}.sku", "too_long", f"at most {MAX_TEXT} characters"))
        quantity = _decimal(item.quantity, f"{prefix}.quantity", row_errors, places=4)
        if quantity is not None and quantity <= 0:
            row_errors.append(FieldError(f"{prefix}.quantity", "not_positive", "must be greater than 0"))
        # A negative unit price is a discount line; the order's amount must still not be negative.
        unit_price = _decimal(item.unit_price, f"{prefix}.unit_price", row_errors, places=4, negative=True)
        errors += row_errors
        if row_errors or quantity is None or unit_price is None:
            continue
        total += quantity * unit_price
        items.append({"sku": sku, "name": name, "quantity": canonical(quantity), "unit_price": canonical(unit_price)})
    amount: Decimal | None = None
    if raw.amount.strip():
        amount = _decimal(raw.amount, "amount", errors, places=places if places is not None else 4)
    elif not raw.items:
        errors.append(FieldError("amount", "required", "amount is required when there are no items"))
    if places is not None and raw.items and len(items) == len(raw.items):
        expected = total.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
        if amount is None and not raw.amount.strip():
            if expected < 0:
                errors.append(FieldError("amount", "negative", "the items add up to less than 0"))
            amount = expected
        elif amount is not None and amount != expected:
            errors.append(FieldError("amount", "amount_mismatch",
                                     f"amount must equal the sum of quantity × unit_price of the items ({expected})"))
    out.values = {
        "external_id": external_id, "kind": kind, "status": status, "currency": currency, "ordered_on": ordered_on,
        "amount": amount, "items": items,
    }
    return out


def to_proto(row: Any, customer_code: str, *, show_amounts: bool) -> pb.Order:
    message = pb.Order(
        id=str(row.id), external_id=row.external_id, kind=row.kind, customer_id=str(row.customer_id),
        customer_code=customer_code, currency=row.currency, ordered_on=row.ordered_on.isoformat(),
        status=row.status, version=row.version, created_by=row.created_by, updated_by=row.updated_by,
        amount_hidden=not show_amounts,
    )
    message.created_at.FromDatetime(row.created_at)
    message.updated_at.FromDatetime(row.updated_at)
    if show_amounts:
        message.amount = events.amount_text(row.amount)
    for item in row.items or []:
        message.items.append(pb.OrderItem(
            sku=item.get("sku", ""), name=item.get("name", ""), quantity=item.get("quantity", ""),
            unit_price=item.get("unit_price", "") if show_amounts else "",
        ))
    return message


def _same(row: Any, values: dict[str, Any]) -> bool:
    return bool(
        row.kind == values["kind"] and row.customer_id == values["customer_id"] and row.amount == values["amount"]
        and row.currency == values["currency"] and row.ordered_on == values["ordered_on"]
        and row.status == values["status"] and (row.items or []) == values["items"]
    )


@dataclass
class RowResult:
    index: int
    external_id: str
    result: str  # created | updated | unchanged | invalid
    order: pb.Order | None = None
    errors: list[FieldError] = field(default_factory=list)


class OrderService:
    def __init__(self, page_tokens: PageTokens):
        self.page_tokens = page_tokens

    async def upsert(self, session: AsyncSession, caller: Principal, raw: pb.OrderInput) -> tuple[pb.Order, str]:
        [result] = await self._write(session, caller, [raw])
        if result.errors:
            if [e.code for e in result.errors] == ["not_found"]:
                raise NotFound("order not found")
            raise InvalidInput(result.errors)
        assert result.order is not None
        return result.order, result.result

    async def batch(self, session: AsyncSession, caller: Principal, rows: list[pb.OrderInput]) -> list[RowResult]:
        if not rows:
            raise InvalidInput([FieldError("orders", "required", "send at least one order")])
        if len(rows) > MAX_BATCH:
            raise InvalidInput([FieldError("orders", "too_many", f"at most {MAX_BATCH} orders per batch")])
        return await self._write(session, caller, rows)

    async def _write(self, session: AsyncSession, caller: Principal, rows: list[pb.OrderInput]) -> list[RowResult]:
        """Validates every row, then writes the valid ones in order. Each row is all or nothing:
        an invalid row writes nothing and emits nothing."""
        scope = access.scope_clause(caller)
        show = amounts_visible(caller)
        cleaned = [clean(raw) for raw in rows]
        seen: set[str] = set()
        for c in cleaned:
            ext = c.values["external_id"]
            if ext and ext in seen:
                c.errors.append(FieldError("external_id", "duplicate_in_batch",
                                           "this external_id appears earlier in the batch"))
            seen.add(ext)
        existing = await repository.by_external_ids(
            session, sorted({c.values["external_id"] for c in cleaned if not c.errors})
        )
        # Every customer the batch names (and the current customer of every existing order), in
        # one query: a 1,000-row batch then costs one insert or update plus its event per row.
        visible = await repository.find_customers(
            session, scope=scope,
            ids={c.customer_id for c in cleaned if c.customer_id} | {r.customer_id for r in existing.values()},
            codes={c.customer_code for c in cleaned if c.customer_code},
        )
        by_id = {r.id: r for r in visible}
        by_code = {r.code: r for r in visible}
        results: dict[int, RowResult] = {}
        recorded: list[Any] = []  # rows whose `order.recorded` goes out, in row order
        moved_from: set[uuid.UUID] = set()  # customers of updated orders before the update
        new_rows: list[tuple[int, dict[str, Any], Any]] = []
        checked: list[tuple[int, dict[str, Any], Any, Any]] = []
        for index, c in enumerate(cleaned):
            ext = c.values["external_id"]
            if c.errors:
                results[index] = RowResult(index, ext, "invalid", errors=c.errors)
                continue
            customer = by_id.get(c.customer_id) if c.customer_id else by_code.get(c.customer_code)
            if customer is None:
                name = "customer_id" if c.customer_id else "customer_code"
                results[index] = RowResult(index, ext, "invalid", errors=[
                    FieldError(name, "unknown_customer", "no customer you can see has this " + name.split("_")[1])
                ])
                continue
            values = {**c.values, "customer_id": customer.id}
            current = existing.get(ext)
            if current is None:
                new_rows.append((index, values, customer))
            else:
                checked.append((index, values, customer, current))
        # New external ids: one INSERT; a row another transaction inserted meanwhile is then
        # treated like an existing one.
        inserted = await repository.insert_many(session, [
            {**values, "id": new_id(), "version": 1, "created_by": caller.actor, "updated_by": caller.actor}
            for _, values, _ in new_rows
        ])
        for index, values, customer in new_rows:
            row = inserted.get(values["external_id"])
            if row is None:
                current = (await repository.by_external_ids(session, [values["external_id"]]))[values["external_id"]]
                checked.append((index, values, customer, current))
                continue
            recorded.append(row)
            results[index] = RowResult(index, row.external_id, "created",
                                       to_proto(row, customer.code, show_amounts=show))
        for index, values, customer, current in sorted(checked, key=lambda item: item[0]):
            ext = values["external_id"]
            if current.customer_id != customer.id and current.customer_id not in by_id and (
                await repository.find_customer(session, customer_id=current.customer_id, code="", scope=scope)
            ) is None:
                # The order belongs to a customer this caller cannot see: answered as absent.
                results[index] = RowResult(index, ext, "invalid", errors=[
                    FieldError("external_id", "not_found", "order not found")
                ])
                continue
            if _same(current, values):
                results[index] = RowResult(index, ext, "unchanged",
                                           to_proto(current, customer.code, show_amounts=show))
                continue
            updated = await repository.update(session, current.id, {**values, "updated_by": caller.actor})
            recorded.append(updated)
            moved_from.add(current.customer_id)
            results[index] = RowResult(index, ext, "updated", to_proto(updated, customer.code, show_amounts=show))
        await events.recorded_many(session, recorded, tenant_id=caller.tenant_id)
        # The value metrics of every customer an order was written for or moved away from.
        await metrics.recompute(session, caller.tenant_id, {r.customer_id for r in recorded} | moved_from)
        return [results[i] for i in range(len(cleaned))]

    async def get(self, session: AsyncSession, caller: Principal, order_id: str) -> pb.Order:
        row = await repository.get(session, parse_uuid(order_id, "order"), access.scope_clause(caller))
        if row is None:
            raise NotFound("order not found")
        return to_proto(row, row.customer_code, show_amounts=amounts_visible(caller))

    async def list(
        self, session: AsyncSession, caller: Principal, *, size: int, token: str, customer_id: str = "",
        status: str = "", kind: str = "", ordered_after: str = "", ordered_before: str = "",
    ) -> tuple[list[pb.Order], str]:
        limit = page_size(size)
        errors: list[FieldError] = []
        f = OrderFilter(scope=access.scope_clause(caller), status=status, kind=kind)
        if customer_id:
            customer = parse_uuid(customer_id, "customer")
            if await repository.find_customer(session, customer_id=customer, code="", scope=f.scope) is None:
                raise NotFound("customer not found")
            f.customer_id = customer
        if status and status not in STATUSES:
            errors.append(FieldError("status", "invalid_choice", f"status must be one of {', '.join(STATUSES)}"))
        if kind and kind not in KINDS:
            errors.append(FieldError("kind", "invalid_choice", "kind must be order or contract"))
        for name, text in (("ordered_after", ordered_after), ("ordered_before", ordered_before)):
            if not text:
                continue
            with contextlib.suppress(ValueError):
                setattr(f, name, date.fromisoformat(text) if len(text) == 10 else None)
            if getattr(f, name) is None:
                errors.append(FieldError(name, "invalid_date", "must be a date as YYYY-MM-DD"))
        if errors:
            raise InvalidInput(errors)
        query = [customer_id, status, kind, ordered_after, ordered_before]
        after: tuple[date, uuid.UUID] | None = None
        if token:
            cursor = self.page_tokens.decode(token)
            if cursor.get("q") != query:
                raise InvalidInput([FieldError("page_token", "invalid_page_token",
                                               "page_token belongs to another query")])
            after = (date.fromisoformat(cursor["d"]), uuid.UUID(cursor["i"]))
        rows = await repository.list_page(session, f, limit=limit + 1, after=after)
        next_token = ""
        if len(rows) > limit:
            last = rows[limit - 1]
            next_token = self.page_tokens.encode({"q": query, "d": last.ordered_on.isoformat(), "i": str(last.id)})
        show = amounts_visible(caller)
        return [to_proto(r, r.customer_code, show_amounts=show) for r in rows[:limit]], next_token
