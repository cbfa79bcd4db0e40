"""Likely and possible duplicates shown on the way in (docs/customers.md, "Duplicates"): after a
create or an edit that the check reported duplicates for, the saved customer's page lists them
(freshly, from DuplicateService.ListPossibleDuplicates) with links to each and to the merge screen;
when the tenant blocks duplicates, the refused form lists them the same way (from the 409's
`duplicates`) and offers admins "Save anyway" (`allow_duplicates`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final
from urllib.parse import urlencode

from crm_gateway.clients import Caller
from crm_gateway.i18n import Locale
from crm_gateway.problems import UpstreamError
from crm_gateway.web.common import label
from crm_gateway.web.session import WebSession
from crm_gateway.web.shell import session_scopes
from crm_proto.crm.customers.v1 import duplicates_pb2 as pb

MERGE_PAGE: Final = "/app/customers/merge"
# The flash key a save sets when the check reported duplicates: the next page lists them.
FLASH_KEY: Final = "possible_duplicates"


def merge_url(ids: Iterable[str]) -> str:
    return f"{MERGE_PAGE}?{urlencode({'ids': ','.join(ids)}, safe=',')}"


def _field(found: Any, name: str) -> Any:
    return found.get(name) if isinstance(found, Mapping) else getattr(found, name)


def views(found: Iterable[Any], customer_id: str, locale: Locale) -> list[dict[str, Any]]:
    """One line per candidate, from PossibleDuplicate messages or the 409's `duplicates` dicts.
    `customer_id`: the customer they were found for ("" before it exists)."""
    shown = []
    for d in found:
        confidence = float(_field(d, "confidence") or 0)
        entry: dict[str, Any] = {
            "outside_scope": bool(_field(d, "outside_scope")),
            "likely": bool(_field(d, "likely")),
            "confidence": round(confidence * 100),
            "reasons": [label("dup.reason", r, locale) for r in _field(d, "matched_on") or []],
            "conflicts": [label("dup.conflict", r, locale) for r in _field(d, "conflicts") or []],
        }
        if not entry["outside_scope"]:
            other = str(_field(d, "id"))
            entry |= {"id": other, "code": _field(d, "code"), "name": _field(d, "name") or _field(d, "code"),
                      "url": f"/app/customers/{other}",
                      "merge_url": merge_url([customer_id, other]) if customer_id else ""}
        shown.append(entry)
    return shown


def merge_all_url(shown: list[dict[str, Any]], customer_id: str) -> str:
    """The merge screen with this customer and every likely duplicate in view (a merge takes ten)."""
    likely = [d["id"] for d in shown if d["likely"] and not d["outside_scope"]][:9]
    return merge_url([customer_id, *likely]) if customer_id and len(likely) > 1 else ""


async def load(caller: Caller, services: Any, customer_id: str, locale: Locale) -> list[dict[str, Any]]:
    """What the check reports for this customer now (an empty list when the call fails: the page
    it is shown on must not)."""
    try:
        reply = await caller.call(services.customer_duplicates.ListPossibleDuplicates,
                                  pb.ListPossibleDuplicatesRequest(customer_id=customer_id))
    except UpstreamError:
        return []
    return views(reply.items, customer_id, locale)


def blocked(exc: UpstreamError, customer_id: str, locale: Locale) -> list[dict[str, Any]]:
    """The duplicates a 409 `duplicate_customer` names (the tenant blocks duplicates)."""
    if exc.error.code != "duplicate_customer":
        return []
    found = exc.error.extra.get("duplicates")
    return views(found if isinstance(found, list) else [], customer_id, locale)


def can_override(session: WebSession) -> bool:
    """Saving a likely duplicate where the tenant blocks them takes customers:admin."""
    return "customers:admin" in session_scopes(session)
