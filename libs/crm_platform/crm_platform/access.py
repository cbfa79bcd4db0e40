"""Row- and field-level access derived from the principal alone (no lookups): what the owning
services apply to customer data. docs/access.md describes the model.

`visible_owner_filter` answers "whose records may this caller see?" with what the token carries:
the caller's own id for data scope `own`, nothing to filter for `all`; for `team` it returns None
and the team ids in `visible_team_filter`, because which owner belongs to which team is identity's
knowledge and a service keeps a team id on each record (or resolves owners) to apply it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crm_platform.auth import FIELD_POLICIES, Principal

ALL = "all"
TEAM = "team"
OWN = "own"


def visible_owner_filter(principal: Principal) -> set[str] | None:
    """None: no owner restriction (data scope `all`, or `team`, which filters by team instead).
    Otherwise the owner ids whose records are visible: just the caller for `own`; an empty set
    (nothing visible) for an `own` token that names no user."""
    if principal.data_scope == OWN:
        return {str(principal.user_id)} if principal.user_id else set()
    return None


def visible_team_filter(principal: Principal) -> set[str] | None:
    """None unless data scope is `team`; then the team ids whose records are visible (the caller's
    team and its sub-teams, as the token lists them). Owner filter applies too: a user always sees
    their own records, so services match `owner = caller OR team in teams`."""
    if principal.data_scope == TEAM:
        return set(principal.team_ids)
    return None


def field_policy(principal: Principal, field: str) -> str:
    """hidden | masked | read_only | read_write for one customer field (`cf.<key>` for custom ones)."""
    policy = principal.field_policies.get(field, "read_write")
    return policy if policy in FIELD_POLICIES else "hidden"


def can_read_field(principal: Principal, field: str) -> bool:
    return field_policy(principal, field) != "hidden"


def can_write_field(principal: Principal, field: str) -> bool:
    return field_policy(principal, field) == "read_write"


# -- field policies on dict-shaped customers (webhooks, exports) ------------------------------------

MASK = "****"
# Customer fields a policy can govern (the customers service's `access.GOVERNED`; a test keeps
# the two equal). Ids, versions and audit fields always travel.
CUSTOMER_FIELDS: frozenset[str] = frozenset({
    "code", "name", "type", "industry", "region", "mobile", "email", "owner_id", "status", "contact_person",
    "phone", "first_contact_date", "source", "employees", "annual_revenue", "annual_revenue_currency", "needs",
    "notes", "credit_code", "resident_id", "bank_card",
    # Read-only spend figures computed from orders (customers' orders/spend.py).
    "annual_spend", "lifetime_value",
})
# No masked form (a number; the spend figures, objects of amounts per currency): masked is removed.
NO_MASKED_FORM: frozenset[str] = frozenset({"employees", "annual_spend", "lifetime_value"})
# Always masked by the customers service itself; `masked` leaves them as they are.
SELF_MASKED: frozenset[str] = frozenset({"resident_id", "bank_card"})


def effective_policy(policies: Mapping[str, str], field: str) -> str:
    """Like `field_policy`, from a plain {field: policy} map (an unknown policy value is hidden)."""
    policy = policies.get(field, "read_write")
    return policy if policy in FIELD_POLICIES else "hidden"


def redact_customer(customer: Mapping[str, Any], policies: Mapping[str, str]) -> dict[str, Any]:
    """A customer as a dict (proto3 JSON / REST JSON shape) with field policies applied, by the same
    rules as the customers service's `apply_field_policies` on its proto replies: a hidden field
    is removed, a masked text becomes `****` (a masked number is removed; resident ID and bank
    card are masked already), `cf.<key>` governs a key of `custom_fields`. Returns a new dict."""
    out = dict(customer)
    custom = out.get("custom_fields")
    custom_out = dict(custom) if isinstance(custom, Mapping) else None
    for name in policies:
        policy = effective_policy(policies, name)
        if policy not in ("hidden", "masked"):
            continue
        if name.startswith("cf."):
            key = name[3:]
            if custom_out is not None and key in custom_out:
                if policy == "hidden":
                    del custom_out[key]
                else:
                    custom_out[key] = MASK
            continue
        if name not in CUSTOMER_FIELDS or name not in out:
            continue
        if policy == "masked" and name in SELF_MASKED:
            continue
        value = out[name]
        if policy == "hidden" or name in NO_MASKED_FORM or not isinstance(value, str):
            del out[name]
        elif value:
            out[name] = MASK
    if custom_out is not None:
        out["custom_fields"] = custom_out
    return out


def hidden_by(policies: Mapping[str, str]) -> frozenset[str]:
    """Fields a policy map hides (e.g. to drop them from `changed_fields` lists)."""
    return frozenset(name for name in policies if effective_policy(policies, name) == "hidden")


def require_readable_fields(principal: Principal, *fields: str) -> None:
    """For answers derived from customer fields (reports): PermissionDenied `field_hidden`, naming
    the fields in `fields`, when the caller's field policies hide or mask any of them. Such a field
    may not be shown as a figure or used as a dimension (a masked total or group says nothing, so
    masked counts as hidden here, as it does for numbers in customer replies)."""
    from crm_platform.errors import PermissionDenied

    hidden = sorted(f for f in fields if field_policy(principal, f) in ("hidden", "masked"))
    if hidden:
        raise PermissionDenied(
            f"your role may not see {', '.join(hidden)}", code="field_hidden", extra={"fields": hidden}
        )
