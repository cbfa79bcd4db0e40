"""Whose view a delivered dashboard is computed under (docs/reporting.md, "Share links",
"Subscriptions"): an `AccessSnapshot` is a data scope resolved to owners (None: every customer) plus
the field policies, as JSON. A share link stores its sharer's snapshot at creation and computes
under it ever after; a subscription takes each recipient's own when it fires."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from crm_platform.auth import Principal, Scope
from crm_reporting.scope.service import ReportScope, report_scope

# Customer fields that identify a person; masked on share links unless the tenant allows them.
PERSONAL_FIELDS: Final = ("name",)


@dataclass(frozen=True)
class AccessSnapshot:
    user_id: uuid.UUID
    data_scope: str
    owners: tuple[str, ...] | None
    field_policies: Mapping[str, str] = field(default_factory=dict)
    team_ids: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {"user_id": str(self.user_id), "data_scope": self.data_scope,
                "owners": list(self.owners) if self.owners is not None else None,
                "field_policies": dict(self.field_policies), "team_ids": list(self.team_ids)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AccessSnapshot:
        owners = data.get("owners")
        return cls(uuid.UUID(str(data["user_id"])), str(data.get("data_scope") or "own"),
                   tuple(str(o) for o in owners) if owners is not None else None,
                   dict(data.get("field_policies") or {}), tuple(data.get("team_ids") or ()))

    @property
    def scope(self) -> ReportScope:
        return ReportScope(self.owners)

    def masking_personal(self) -> AccessSnapshot:
        """The same, with personal fields masked (a stricter existing policy stays)."""
        policies = dict(self.field_policies)
        for name in PERSONAL_FIELDS:
            if policies.get(name) != "hidden":
                policies[name] = "masked"
        return AccessSnapshot(self.user_id, self.data_scope, self.owners, policies, self.team_ids)

    def principal(self, tenant_id: uuid.UUID, subject: str) -> Principal:
        """A read-only principal for computing panels (field policies decide which panels open)."""
        return Principal(tenant_id=tenant_id, subject=subject, client_id="crm-delivery",
                         scopes=frozenset({Scope.REPORTS_READ.value}), user_id=self.user_id,
                         data_scope=self.data_scope, team_ids=self.team_ids,
                         field_policies=dict(self.field_policies))


async def snapshot_of(session: AsyncSession, principal: Principal) -> AccessSnapshot:
    """The caller's access now: their data scope resolved to owners, and their field policies."""
    if principal.user_id is None:
        raise ValueError("a snapshot needs a user")
    scope = await report_scope(session, principal)
    return AccessSnapshot(principal.user_id, principal.data_scope, scope.owners,
                          dict(principal.field_policies), tuple(principal.team_ids))
