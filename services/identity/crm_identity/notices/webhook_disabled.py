"""The `identity-webhook-notices` consumer: when the webhooks service disables an endpoint that kept
failing (`crm.<tenant>.webhook_endpoint.disabled`, docs/webhooks.md#automatic-disable), every active
tenant admin gets one email through the platform mailer, in their own language (their preference,
else the tenant's default), with times in their time zone and a link to the endpoint's page. The
mail is queued in the inbox transaction, so a redelivered event sends nothing twice and a rolled-back
one sends nothing."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from crm_identity.tables import tenant_directory, users
from crm_platform.consumer import Handler, Subscription
from crm_platform.events import CloudEvent
from crm_platform.i18n import N_, locale_or_default, messages
from crm_platform.mail import Mail, Mailer

DURABLE_NAME: Final = "identity-webhook-notices"
SUBJECTS: Final = ["crm.*.webhook_endpoint.disabled"]
MAIL_CATEGORY: Final = "identity.webhook_disabled"
ADMIN_ROLE: Final = "tenant_admin"


@dataclass(frozen=True)
class Admin:
    email: str
    name: str
    locale: str
    zone: ZoneInfo


_SUBJECT: Final = N_("Webhook endpoint disabled: %(url)s")
_TEXT: Final = N_(
    "Hello %(name)s,\n\n"
    "The webhook endpoint %(url)s of %(tenant)s was disabled automatically on %(disabled_at)s:\n"
    "every attempt to deliver to it has failed since %(failing_since)s.\n\n"
    "Last error: %(last_error)s\n"
    "Deliveries moved to dead letters: %(dead)s\n\n"
    "Nothing more is sent to it. Once the receiver works again, enable the endpoint and replay\n"
    "its dead letters here:\n\n%(link)s\n"
)


def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name) if name else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _time(value: str, zone: ZoneInfo) -> str:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value or "—"
    return f"{moment.astimezone(zone):%Y-%m-%d %H:%M} ({zone.key})"


def notice_mail(admin: Admin, *, tenant: str, data: dict[str, Any], link: str) -> Mail:
    text = messages(locale_or_default(admin.locale))
    status = int(data.get("last_status_code") or 0)
    error = str(data.get("last_error") or "") or (f"HTTP {status}" if status else "—")
    values = {
        "name": admin.name or admin.email, "tenant": tenant, "url": str(data.get("url") or ""),
        "disabled_at": _time(str(data.get("disabled_at") or ""), admin.zone),
        "failing_since": _time(str(data.get("failing_since") or ""), admin.zone),
        "last_error": error, "dead": int(data.get("deliveries_dead_lettered") or 0), "link": link,
    }
    return Mail(to=admin.email, subject=text.text(_SUBJECT, **values), text=text.text(_TEXT, **values))


async def tenant_admins(session: AsyncSession, tenant_id: uuid.UUID) -> tuple[str, list[Admin]]:
    """The tenant's name and its active admins with the language and zone each reads mail in."""
    tenant = (await session.execute(sa.select(tenant_directory).where(tenant_directory.c.id == tenant_id))).first()
    default_locale = tenant.default_locale if tenant is not None else "en"
    default_zone = _zone(tenant.time_zone if tenant is not None else "") or ZoneInfo("UTC")
    rows = await session.execute(
        sa.select(users.c.email, users.c.display_name, users.c.locale, users.c.time_zone)
        .where(users.c.roles.any_() == ADMIN_ROLE, sa.not_(users.c.disabled), users.c.status == "active")
        .order_by(users.c.email)
    )
    admins = [Admin(r.email, r.display_name, r.locale or default_locale, _zone(r.time_zone) or default_zone)
              for r in rows]
    return (tenant.name if tenant is not None else ""), admins


def notify_admins(mailer: Mailer, public_url: str) -> Handler:
    async def handle(event: CloudEvent, session: AsyncSession) -> None:
        tenant_id = uuid.UUID(event.tenantid)
        tenant, admins = await tenant_admins(session, tenant_id)
        link = f"{public_url.rstrip('/')}/app/webhooks/{event.data.get('endpoint_id', '')}"
        for admin in admins:
            await mailer.queue(session, notice_mail(admin, tenant=tenant, data=event.data, link=link),
                               tenant_id=tenant_id, category=MAIL_CATEGORY)

    return handle


def webhook_notice_subscription(mailer: Mailer, public_url: str) -> Subscription:
    return Subscription(durable=DURABLE_NAME, filter_subjects=list(SUBJECTS), handler=notify_admins(mailer, public_url))

