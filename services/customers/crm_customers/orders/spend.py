"""A customer's spend on every customer read: `annual_spend` (order dates in the last 365 days) and
`lifetime_value` (all time), per currency, from orders of kind `order` in status confirmed or paid.

Computed when read (a column of the statement that reads the customers, orders/repository.py
`spend_column`, on the `(customer_id, ordered_on)` index) rather than stored: a stored 365-day
figure goes stale every day without a job to age it, and an order write then needs no second write.
Field policies apply afterwards, in the one place (customer/access.py `apply_field_policies`)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from crm_customers.orders import events
from crm_proto.crm.customers.v1 import customers_pb2 as pb


def attach_from(messages: Sequence[pb.Customer], columns: Sequence[list[list[str]]]) -> None:
    """The same figures from each row's spend column (orders/repository.py `spend_column`:
    [currency, annual, lifetime] with amounts as decimal text), in the messages' order."""
    for message, triples in zip(messages, columns, strict=True):
        _set(message, {c: events.amount_text(Decimal(a)) for c, a, _ in triples},
             {c: events.amount_text(Decimal(total)) for c, _, total in triples})


def _set(message: pb.Customer, annual: dict[str, str], lifetime: dict[str, str]) -> None:
    message.annual_spend.SetInParent()
    message.annual_spend.amounts.update(annual)
    message.lifetime_value.SetInParent()
    message.lifetime_value.amounts.update(lifetime)
