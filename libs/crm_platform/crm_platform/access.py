"""Row- and field-level access derived from the principal alone (no lookups): what the owning
services apply to customer data. docs/access.md describes the model.

`visible_owner_filter` answers "whose records may this caller see?" with what the token carries:
the caller's own id for data scope `own`, nothing to filter for `all`; for `team` it returns None
and the team ids in `visible_team_filter`, because which owner belongs to which team is identity's
knowledge and a service keeps a team id on each record (or resolves owners) to apply it."""

from __future__ import annotations

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
