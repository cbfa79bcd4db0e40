"""The Orders section of the customer detail page: the customer's spend figures and latest orders
and contracts, amounts formatted for the page's locale. Shown only to a session whose token holds
`orders:read` and whose field policies let it see spend (`annual_spend`); the customers service
enforces both itself, this only keeps the page from offering what would be refused or empty."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from crm_gateway.clients import Caller
from crm_gateway.i18n import Locale
from crm_gateway.problems import UpstreamError
from crm_gateway.web import formatting
from crm_gateway.web.auth import token_claims
from crm_gateway.web.session import WebSession
from crm_proto.crm.customers.v1 import orders_pb2 as pb

SHOWN: Final = 10
def spend_visible(session: WebSession) -> bool:
    claims = token_claims(session.token)
    scopes = str(claims.get("scope", "")).split()
    policies = claims.get("fp")
    policies = policies if isinstance(policies, dict) else {}
    return "orders:read" in scopes and policies.get("annual_spend", "read_write") in ("read_only", "read_write")


@dataclass
class OrdersSection:
    annual: list[str] = field(default_factory=list)
    lifetime: list[str] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    more: bool = False


def _figures(spend: Any, locale: Locale) -> list[str]:
    return [formatting.money(amount, currency, locale) for currency, amount in sorted(spend.amounts.items())]


async def orders_section(
    caller: Caller, services: Any, session: WebSession, customer: Any
) -> OrdersSection | None:
    """None when the section is not for this session (or the service refuses it after all)."""
    if not spend_visible(session):
        return None
    try:
        reply = await caller.call(services.orders.ListOrders,
                                  pb.ListOrdersRequest(customer_id=customer.id, page_size=SHOWN))
    except UpstreamError:
        return None
    locale = caller.locale
    return OrdersSection(
        annual=_figures(customer.annual_spend, locale) if customer.HasField("annual_spend") else [],
        lifetime=_figures(customer.lifetime_value, locale) if customer.HasField("lifetime_value") else [],
        rows=[
            {"external_id": o.external_id, "kind": o.kind, "status": o.status, "ordered_on": o.ordered_on,
             "amount": "—" if o.amount_hidden else formatting.money(o.amount, o.currency, locale),
             "item_count": len(o.items)}
            for o in reply.items
        ],
        more=bool(reply.next_page_token),
    )
