"""Owner pickers on the customer pages (list filter, create and edit forms, mass change): the users
the viewer may make owners, from CustomerService/ListCustomerOwners (the customers service decides
who that is: data scope, disabled users left out)."""

from __future__ import annotations

from typing import Any, Final

from crm_gateway.clients import Caller
from crm_gateway.problems import UpstreamError
from crm_proto.crm.customers.v1 import customers_pb2 as pb

# A select beyond this many people stops being usable; REST `q` serves larger tenants' type-aheads.
MAX_CHOICES: Final = 500


async def owner_choices(caller: Caller, services: Any) -> list[tuple[str, str]]:
    """(user id, display name) pairs by name; empty when the service cannot say (the page still works)."""
    try:
        reply = await caller.call(services.customers.ListCustomerOwners,
                                  pb.ListCustomerOwnersRequest(page_size=MAX_CHOICES))
    except UpstreamError:
        return []
    return [(o.user_id, o.display_name or o.user_id[:8]) for o in reply.items]


def with_current(choices: list[tuple[str, str]], owner_id: str, owner_name: str) -> list[tuple[str, str]]:
    """The choices plus the current owner when they are not among them (disabled, or outside the
    viewer's scope): a form must show whom the customer belongs to, and saving it unchanged keeps them."""
    if not owner_id or any(user_id == owner_id for user_id, _ in choices):
        return choices
    return [(owner_id, owner_name or owner_id[:8]), *choices]
