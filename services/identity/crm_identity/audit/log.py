"""The one way identity writes and reads its audit log (`audit_events`, tenant schema, it0004).

Every entry is written in the same session (transaction) as the change it records. Where the request
came from (ip, user agent) is read once per gRPC call from the metadata the gateway sends
(`x-forwarded-for`, `x-client-user-agent`) by the platform's `EdgeInterceptor` into a context variable
(`crm_platform.origin`), so the domain code never passes it around. Details never hold secrets or
revealed values."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from crm_identity.tables import audit_events
from crm_platform.auth import Principal
from crm_platform.ids import new_id
from crm_platform.origin import Origin, current_origin

LOGIN_SUCCEEDED: Final = "login.succeeded"
LOGIN_FAILED: Final = "login.failed"
LOGIN_LOCKED: Final = "login.locked"
LOGIN_REFUSED_LOCKED: Final = "login.refused_locked"
MFA_ENROLLED: Final = "mfa.enrolled"
MFA_FAILED: Final = "mfa.failed"
MFA_RECOVERY_CODE_USED: Final = "mfa.recovery_code_used"
USER_PASSWORD_CHANGED: Final = "user.password_changed"
USER_PASSWORD_RESET: Final = "user.password_reset"
CLIENT_CREATED: Final = "client.created"
CLIENT_SECRET_ROTATED: Final = "client.secret_rotated"
CLIENT_REVOKED: Final = "client.revoked"
CUSTOMER_REVEALED: Final = "customer.revealed"
CUSTOMER_EXPORTED: Final = "customer.exported"
CUSTOMER_IMPORTED: Final = "customer.imported"
CUSTOMER_IMPORT_UNDONE: Final = "customer.import_undone"
AUDIT_EXPORTED: Final = "audit.exported"
REPORT_EXPORTED: Final = "report.exported"
MFA_DISABLED: Final = "mfa.disabled"
MFA_RECOVERY_CODES_REGENERATED: Final = "mfa.recovery_codes_regenerated"
TOKEN_ISSUED: Final = "token.issued"
TOKEN_REVOKED: Final = "token.revoked"
SESSION_REVOKED: Final = "session.revoked"
USER_CREATED: Final = "user.created"
USER_UPDATED: Final = "user.updated"
USER_DISABLED: Final = "user.disabled"
USER_ENABLED: Final = "user.enabled"
ROLE_CREATED: Final = "role.created"
ROLE_UPDATED: Final = "role.updated"
ROLE_DELETED: Final = "role.deleted"
ROLE_FIELD_POLICIES_UPDATED: Final = "role.field_policies_updated"
TEAM_CREATED: Final = "team.created"
TEAM_UPDATED: Final = "team.updated"
TEAM_DELETED: Final = "team.deleted"
TENANT_SUSPENDED: Final = "tenant.suspended"
TENANT_UPDATED: Final = "tenant.updated"
TENANT_RESUMED: Final = "tenant.resumed"
# Reporting's share links (events crm.share_link.*, audit/revealed.py).
SHARE_LINK_CREATED: Final = "share_link.created"
SHARE_LINK_VIEWED: Final = "share_link.viewed"
SHARE_LINK_REVOKED: Final = "share_link.revoked"

# Keys never stored in details, whoever passes them.
_SECRET_KEYS: Final = frozenset({"password", "secret", "client_secret", "token", "code", "values", "totp"})


def actor_of(principal: Principal) -> tuple[str, str]:
    """(actor, actor_kind): a user's id, `client:<id>` for a machine client's token, or the subject
    of an operator / service token (`system`)."""
    if principal.is_system:
        return principal.subject, "system"
    if principal.user_id is not None:
        return str(principal.user_id), "user"
    return f"client:{principal.client_id}", "client"


async def record(
    session: AsyncSession, action: str, *, actor: str = "", actor_kind: str = "anonymous", target_type: str = "",
    target_id: str = "", details: dict[str, Any] | None = None, at: datetime | None = None,
    origin: Origin | None = None,
) -> uuid.UUID:
    where = origin or current_origin()
    event_id = new_id()
    await session.execute(sa.insert(audit_events).values(
        id=event_id, occurred_at=at or datetime.now(UTC), actor=actor, actor_kind=actor_kind, action=action,
        target_type=target_type, target_id=target_id, ip=where.ip, user_agent=where.user_agent,
        details={k: v for k, v in (details or {}).items() if k not in _SECRET_KEYS},
    ))
    return event_id


async def record_by(session: AsyncSession, principal: Principal, action: str, **kwargs: Any) -> uuid.UUID:
    actor, kind = actor_of(principal)
    return await record(session, action, actor=actor, actor_kind=kind, **kwargs)


@dataclass(frozen=True)
class AuditFilter:
    actor: str = ""
    action_prefix: str = ""
    target_id: str = ""
    occurred_after: datetime | None = None
    occurred_before: datetime | None = None

    def as_details(self) -> dict[str, str]:
        """The filters, for the `audit.exported` entry (only those set)."""
        values = {
            "actor": self.actor, "action": self.action_prefix, "target_id": self.target_id,
            "occurred_after": self.occurred_after.isoformat() if self.occurred_after else "",
            "occurred_before": self.occurred_before.isoformat() if self.occurred_before else "",
        }
        return {k: v for k, v in values.items() if v}


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def search(
    session: AsyncSession, where: AuditFilter, limit: int, after: tuple[datetime, uuid.UUID] | None = None,
) -> list[sa.Row[Any]]:
    """Newest first; `after` is the (occurred_at, id) of the last row of the previous page."""
    t = audit_events.c
    query = sa.select(audit_events).order_by(t.occurred_at.desc(), t.id.desc()).limit(limit)
    if where.actor:
        query = query.where(t.actor == where.actor)
    if where.action_prefix:
        query = query.where(t.action.like(_escape_like(where.action_prefix) + "%", escape="\\"))
    if where.target_id:
        query = query.where(t.target_id == where.target_id)
    if where.occurred_after is not None:
        query = query.where(t.occurred_at > where.occurred_after)
    if where.occurred_before is not None:
        query = query.where(t.occurred_at < where.occurred_before)
    if after is not None:
        query = query.where(sa.tuple_(t.occurred_at, t.id) < sa.tuple_(sa.literal(after[0]), sa.literal(after[1])))
    return list((await session.execute(query)).all())


