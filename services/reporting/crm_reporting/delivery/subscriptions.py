"""Report subscriptions (docs/reporting.md, "Subscriptions"): a dashboard mailed daily, weekly or
monthly at a local time in the tenant's zone to users of the tenant, each recipient's copy computed
under that recipient's own access (never the creator's).

- The schedule is the platform scheduler's (`reporting.subscription`, key `sub:<id>`, an RRULE in
  the tenant's zone): it survives restarts and fires once with several replicas. Its handler only
  enqueues a job (`reporting.subscription.deliver`, deduplicated per occurrence).
- The job, per recipient: skipped when the user is disabled, unsubscribed, without `reports:read`
  or without a known access (`no_access`), or when everything counts zero (`empty`); otherwise the
  dashboard is computed under the recipient's access (identity's user events carry it:
  `user_teams.access_*`), and a mail with the chart inline and the XLSX attached is queued in the
  platform mailer's outbox in the same transaction as the delivery log row. The mailer retries SMTP
  failures (30 s .. 6 h) and gives up on permanent refusals; the log reads the mail's state from it.
- Every mail carries an unsubscribe link: an HMAC-signed token (tenant, subscription, user) opened
  on the public page /unsubscribe/<token>.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import io
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from crm_platform import jobs, scheduler
from crm_platform.auth import Principal, Scope
from crm_platform.db import tenant_session
from crm_platform.errors import FieldError, InvalidInput, NotFound, PermissionDenied
from crm_platform.i18n import N_, NC_, Msg, messages
from crm_platform.ids import new_id
from crm_platform.mail import Attachment, InlineImage, Mail, Mailer
from crm_platform.scheduler import Firing
from crm_platform.tables import mail_outbox
from crm_platform.user_teams import visible_owners
from crm_reporting.analytics import Analytics
from crm_reporting.delivery import report_target
from crm_reporting.delivery.access import AccessSnapshot
from crm_reporting.delivery.dashboard import ComputedDashboard, Target, compute_dashboard
from crm_reporting.delivery.identity_access import IdentityAccess
from crm_reporting.delivery.render import XLSX_TYPE, Table, number, png_bars, xlsx
from crm_reporting.delivery.tables import report_subscriptions, subscription_deliveries, subscription_recipients
from crm_reporting.reports.files.pdf_file import PDF_TYPE, PanelSection, write_panels_pdf
from crm_reporting.scope.tables import user_teams

SCHEDULE_KIND: Final = "reporting.subscription"
DELIVER_JOB: Final = "reporting.subscription.deliver"
MAIL_CATEGORY: Final = "reporting.subscription"
FREQUENCIES: Final = ("daily", "weekly", "monthly")
FORMATS: Final = ("xlsx", "pdf")
WEEKDAYS: Final = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
MAX_RECIPIENTS: Final = 50
MAX_TITLE: Final = 200
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")

TEXTS: Final[dict[str, Msg]] = {
    "subject": N_("%(title)s: your %(frequency)s report"),
    "daily": NC_("report frequency", "daily"),
    "weekly": NC_("report frequency", "weekly"),
    "monthly": NC_("report frequency", "monthly"),
    "intro": N_("Hello %(name)s, here is %(title)s as of %(day)s, counted under your own permissions."),
    "attached": N_("The figures are attached as an Excel workbook."),
    "attached_file": N_("The report is attached."),
    "unsubscribe": N_("Stop receiving this report: %(link)s"),
    "unsubscribe_link": N_("Unsubscribe"),
    "kpis": N_("Key figures"),
    "industry": N_("Customers by industry"),
    "region": N_("Customers by region"),
    "value_trend": N_("Customer value trend"),
    "new_by_source": N_("New customers by source"),
    "top_customers": N_("Top customers by value"),
    "funnel": N_("Sales funnel"),
    "name": N_("Name"),
    "customers": N_("Customers"),
    "value": N_("Value"),
    "orders": N_("Orders"),
    "currency": N_("Currency"),
    "not_set": N_("Not set"),
    "customer_n": N_("Customer #%(n)s"),
    "kpi_customers": N_("Customers"),
    "kpi_new_this_month": N_("New this month"),
    "kpi_new_this_quarter": N_("New this quarter"),
    "kpi_won_this_quarter": N_("Won this quarter"),
    "kpi_conversion_rate": N_("Conversion rate"),
    "kpi_churn_rate": N_("Churn rate"),
    "kpi_spend_this_quarter": N_("Spend this quarter"),
}


def text(locale: str, key: str, **values: object) -> str:
    return messages("en" if locale == "en" else "zh-CN").text(TEXTS[key], **values)


# -- definitions ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Definition:
    title: str
    frequency: str
    weekday: int
    day_of_month: int
    time_of_day: str
    time_zone: str
    format: str
    recipients: list[uuid.UUID]

    @property
    def rrule(self) -> str:
        hour, minute = (int(p) for p in self.time_of_day.split(":"))
        at = f"BYHOUR={hour};BYMINUTE={minute};BYSECOND=0"
        if self.frequency == "daily":
            return f"FREQ=DAILY;{at}"
        if self.frequency == "weekly":
            return f"FREQ=WEEKLY;BYDAY={WEEKDAYS[self.weekday - 1]};{at}"
        return f"FREQ=MONTHLY;BYMONTHDAY={self.day_of_month};{at}"


async def check_definition(session: AsyncSession, request: Any, kind: str = "dashboard") -> Definition:
    errors: list[FieldError] = []
    frequency = request.frequency
    if frequency not in FREQUENCIES:
        errors.append(FieldError("frequency", "invalid_choice", "daily, weekly or monthly"))
    weekday = request.weekday or (1 if frequency == "weekly" else 0)
    if frequency == "weekly" and not 1 <= weekday <= 7:
        errors.append(FieldError("weekday", "out_of_range", "1 (Monday) to 7 (Sunday)"))
    day = request.day_of_month or (1 if frequency == "monthly" else 0)
    if frequency == "monthly" and not 1 <= day <= 28:
        errors.append(FieldError("day_of_month", "out_of_range", "1 to 28 (every month has it)"))
    time_of_day = request.time_of_day or "09:00"
    if not _TIME.match(time_of_day):
        errors.append(FieldError("time_of_day", "invalid_time", "HH:MM, 24 hours"))
    zone = request.time_zone or "Asia/Shanghai"
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        errors.append(FieldError("time_zone", "invalid_time_zone", "an IANA zone such as Asia/Shanghai"))
    fmt = request.format or "xlsx"
    if fmt not in FORMATS:
        errors.append(FieldError("format", "invalid_choice", "xlsx or pdf"))
    if len(request.title) > MAX_TITLE:
        errors.append(FieldError("title", "too_long", f"at most {MAX_TITLE} characters"))
    ids: list[uuid.UUID] = []
    raw_ids = list(dict.fromkeys(request.recipient_ids))
    if not raw_ids:
        errors.append(FieldError("recipient_ids", "required", "at least one user"))
    if len(raw_ids) > MAX_RECIPIENTS:
        errors.append(FieldError("recipient_ids", "too_many", f"at most {MAX_RECIPIENTS} users"))
    for index, raw in enumerate(raw_ids):
        try:
            ids.append(uuid.UUID(raw))
        except ValueError:
            errors.append(FieldError(f"recipient_ids[{index}]", "unknown_user", "a user of the tenant"))
    if ids:
        known = set((await session.execute(
            sa.select(user_teams.c.user_id).where(user_teams.c.user_id.in_(ids), user_teams.c.disabled.is_(False))
        )).scalars())
        errors += [FieldError(f"recipient_ids[{raw_ids.index(str(i))}]", "unknown_user", "a user of the tenant")
                   for i in ids if i not in known and str(i) in raw_ids]
    if errors:
        raise InvalidInput(errors)
    return Definition(request.title.strip(), frequency, weekday if frequency == "weekly" else 0,
                      day if frequency == "monthly" else 0, time_of_day, zone, fmt, ids)


def _may_manage(principal: Principal) -> bool:
    return Scope.REPORTS_MANAGE.value in principal.scopes


async def create(session: AsyncSession, principal: Principal, target: Target, definition: Definition) -> Any:
    if principal.user_id is None:
        raise PermissionDenied("a subscription belongs to a user; sign in as one", code="user_required")
    sub_id = new_id()
    row = (await session.execute(sa.insert(report_subscriptions).values(
        id=sub_id, target=target.as_json(), title=definition.title, frequency=definition.frequency,
        weekday=definition.weekday, day_of_month=definition.day_of_month, time_of_day=definition.time_of_day,
        time_zone=definition.time_zone, format=definition.format, rrule=definition.rrule,
        created_by=principal.user_id, created_at=datetime.now(UTC),
    ).returning(report_subscriptions))).one()
    await session.execute(sa.insert(subscription_recipients), [
        {"subscription_id": sub_id, "user_id": user_id} for user_id in definition.recipients])
    await scheduler.schedule(session, principal.tenant_id, SCHEDULE_KIND, f"sub:{sub_id}", rrule=definition.rrule,
                             time_zone=definition.time_zone, payload={"subscription_id": str(sub_id)})
    return row


async def get(session: AsyncSession, principal: Principal, sub_id: str) -> Any:
    """The creator's (or, with reports:manage, any); another user's is NotFound."""
    try:
        ident = uuid.UUID(sub_id)
    except ValueError:
        raise NotFound("no such subscription") from None
    query = sa.select(report_subscriptions).where(report_subscriptions.c.id == ident)
    if not _may_manage(principal):
        query = query.where(report_subscriptions.c.created_by == principal.user_id)
    row = (await session.execute(query)).first()
    if row is None:
        raise NotFound("no such subscription")
    return row


async def list_subscriptions(session: AsyncSession, principal: Principal, kind: str, target_id: str) -> list[Any]:
    query = sa.select(report_subscriptions).order_by(report_subscriptions.c.created_at.desc()).limit(500)
    if not _may_manage(principal):
        if principal.user_id is None:
            return []
        query = query.where(report_subscriptions.c.created_by == principal.user_id)
    if kind:
        query = query.where(report_subscriptions.c.target["kind"].astext == kind)
    if target_id:
        query = query.where(report_subscriptions.c.target["id"].astext == target_id)
    return list((await session.execute(query)).all())


async def delete(session: AsyncSession, principal: Principal, sub_id: str) -> Any:
    row = await get(session, principal, sub_id)
    await scheduler.cancel(session, principal.tenant_id, SCHEDULE_KIND, f"sub:{row.id}")
    await session.execute(sa.delete(report_subscriptions).where(report_subscriptions.c.id == row.id))
    return row


async def recipients(session: AsyncSession, sub_id: uuid.UUID) -> list[Any]:
    return list((await session.execute(
        sa.select(subscription_recipients.c.user_id, subscription_recipients.c.unsubscribed_at,
                  user_teams.c.display_name, user_teams.c.email, user_teams.c.locale)
        .select_from(subscription_recipients.outerjoin(user_teams,
                                                       user_teams.c.user_id == subscription_recipients.c.user_id))
        .where(subscription_recipients.c.subscription_id == sub_id)
        .order_by(user_teams.c.display_name, subscription_recipients.c.user_id)
    )).all())


async def next_run(session: AsyncSession, tenant_id: uuid.UUID, sub_id: uuid.UUID) -> datetime | None:
    row = await scheduler.get(session, tenant_id, SCHEDULE_KIND, f"sub:{sub_id}")
    return row.occurrence_at if row is not None else None


async def deliveries(session: AsyncSession, sub_id: uuid.UUID, limit: int) -> list[dict[str, Any]]:
    """The log, newest first, with the mail's fate from the mailer's outbox: queued, retrying (an
    SMTP failure being retried), sent, or failed (given up)."""
    rows = (await session.execute(
        sa.select(subscription_deliveries, mail_outbox.c.status.label("mail_status"),
                  mail_outbox.c.attempts.label("mail_attempts"), mail_outbox.c.last_error, mail_outbox.c.sent_at)
        .select_from(subscription_deliveries.outerjoin(
            mail_outbox, mail_outbox.c.id == subscription_deliveries.c.mail_id))
        .where(subscription_deliveries.c.subscription_id == sub_id)
        .order_by(subscription_deliveries.c.created_at.desc(), subscription_deliveries.c.recipient_id)
        .limit(limit)
    )).all()
    out = []
    for r in rows:
        status, reason = r.status, r.reason
        if r.status == "queued" and r.mail_status is not None:
            if r.mail_status == "sent":
                status = "sent"
            elif r.mail_status == "dead":
                status, reason = "failed", r.last_error or "refused"
            elif r.mail_attempts:
                status, reason = "retrying", r.last_error or ""
        out.append({"id": r.id, "subscription_id": r.subscription_id, "recipient_id": r.recipient_id,
                    "occurrence_at": r.occurrence_at, "status": status, "reason": reason,
                    "created_at": r.created_at, "sent_at": r.sent_at, "attempts": int(r.mail_attempts or 0)})
    return out


# -- unsubscribe tokens -----------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text_: str) -> bytes:
    return base64.urlsafe_b64decode(text_ + "=" * (-len(text_) % 4))


def unsubscribe_token(key: bytes, tenant_id: uuid.UUID, sub_id: uuid.UUID, user_id: uuid.UUID) -> str:
    body = tenant_id.bytes + sub_id.bytes + user_id.bytes
    mac = hmac.new(key, b"unsubscribe:" + body, hashlib.sha256).digest()[:16]
    return f"{_b64(body)}.{_b64(mac)}"


def read_unsubscribe_token(key: bytes, token: str) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID] | None:
    try:
        body_text, mac_text = token.split(".", 1)
        body, mac = _unb64(body_text), _unb64(mac_text)
    except (ValueError, TypeError):
        return None
    if len(body) != 48:
        return None
    expected = hmac.new(key, b"unsubscribe:" + body, hashlib.sha256).digest()[:16]
    if not hmac.compare_digest(mac, expected):
        return None
    return uuid.UUID(bytes=body[:16]), uuid.UUID(bytes=body[16:32]), uuid.UUID(bytes=body[32:])


async def unsubscribe(engine: AsyncEngine, key: bytes, token: str) -> tuple[str, str]:
    found = read_unsubscribe_token(key, token) if len(token) < 200 else None
    if found is None:
        return "invalid", ""
    tenant_id, sub_id, user_id = found
    async with tenant_session(engine, tenant_id) as session:
        sub = (await session.execute(sa.select(report_subscriptions.c.title)
                                     .where(report_subscriptions.c.id == sub_id))).first()
        if sub is None:
            return "invalid", ""
        changed = (await session.execute(
            sa.update(subscription_recipients)
            .where(subscription_recipients.c.subscription_id == sub_id, subscription_recipients.c.user_id == user_id,
                   subscription_recipients.c.unsubscribed_at.is_(None))
            .values(unsubscribed_at=datetime.now(UTC)).returning(subscription_recipients.c.user_id)
        )).first()
    return ("unsubscribed" if changed else "already"), str(sub.title)


# -- firing and delivering ----------------------------------------------------------------------------


async def fire(session: AsyncSession, firings: Any) -> None:
    """Scheduler handler: one delivery job per occurrence (the work happens outside the batch's locks)."""
    for firing in firings:
        assert isinstance(firing, Firing)
        await jobs.enqueue(session, DELIVER_JOB, {
            "subscription_id": str(firing.payload.get("subscription_id") or ""),
            "occurrence_at": firing.occurrence_at.isoformat(),
        }, tenant_id=firing.tenant_id,
            dedupe_key=f"{DELIVER_JOB}:{firing.tenant_id}:{firing.key}:{firing.occurrence_at.isoformat()}")


def recipient_access(row: Any) -> AccessSnapshot | None:
    """The recipient's own access, or None when they may not read reports (or it is not known)."""
    if not row.access_known or Scope.REPORTS_READ.value not in (row.access_scopes or []):
        return None
    return AccessSnapshot(row.user_id, str(row.data_scope or "own"), None, dict(row.field_policies or {}),
                          tuple(str(t) for t in row.team_ids or ()))


async def resolve_scope(session: AsyncSession, tenant_id: uuid.UUID, access: AccessSnapshot) -> AccessSnapshot:
    principal = access.principal(tenant_id, f"user:{access.user_id}")
    owners = await visible_owners(session, user_teams, principal)
    return AccessSnapshot(access.user_id, access.data_scope, None if owners is None else tuple(str(o) for o in owners),
                          access.field_policies, access.team_ids)


def tables_of(computed: ComputedDashboard, target: Target, locale: str) -> list[Table]:
    """The panels as rows, in the target's order, in the recipient's language."""
    t = lambda key, **v: text(locale, key, **v)  # noqa: E731
    by_key = {p.panel: p for p in computed.panels}
    out: list[Table] = []
    for key in target.panels:
        if key == "funnel" and computed.funnel is not None:
            table = Table(key, t("funnel"), [t("name"), t("customers"), t("value")])
            for stage in computed.funnel.stages:
                table.rows.append([stage.stage, str(stage.customers), stage.conversion_overall])
                table.bars.append(float(stage.customers))
            out.append(table)
            continue
        panel = by_key.get(key)
        if panel is None:
            continue
        if key == "kpis":
            table = Table(key, t("kpis"), [t("name"), t("value"), t("currency")])
            for p in panel.points:
                name = t(f"kpi_{p.key}") if f"kpi_{p.key}" in TEXTS else p.key
                if p.currency:
                    if p.key == "spend_this_quarter":
                        table.rows.append([name, p.value, p.currency])
                    continue
                table.rows.append([name, p.value if p.key.endswith("_rate") else str(p.count), ""])
            out.append(table)
        elif key in ("industry", "region", "new_by_source"):
            table = Table(key, t(key), [t("name"), t("customers")])
            for p in panel.points:
                table.rows.append([p.key or t("not_set"), str(p.count)])
                table.bars.append(float(p.count))
            out.append(table)
        elif key == "value_trend":
            table = Table(key, t(key), [t("name"), t("currency"), t("value"), t("orders")])
            for p in panel.points:
                table.rows.append([p.key, p.currency, p.value, str(p.count)])
            out.append(table)
        elif key == "top_customers":
            table = Table(key, t(key), [t("name"), t("value"), t("orders")])
            for index, p in enumerate(panel.points):
                table.rows.append([p.label or t("customer_n", n=index + 1), p.value, str(p.count)])
                table.bars.append(number(p.value))
            out.append(table)
    return out


def panels_pdf(tables: list[Table], title: str, locale: str, time_zone: str) -> bytes:
    """The dashboard's panels as a PDF, through the report files' WeasyPrint page (reports/files/
    pdf_file.py): each panel's chart and table, in the recipient's language."""
    out = io.BytesIO()
    write_panels_pdf(title, [PanelSection(t.title, t.head, t.rows, t.bars, _bars_label(t)) for t in tables], out,
                     locale=locale, time_zone=time_zone, generated_at=datetime.now(UTC))
    return out.getvalue()


def _bars_label(table: Table) -> str:
    """The header of the column the chart's bars plot (the first whose figures they are)."""
    for index in range(1, len(table.head)):
        if table.rows and all(len(row) > index and number(row[index]) == bar
                              for row, bar in zip(table.rows, table.bars, strict=False)):
            return table.head[index]
    return table.head[-1] if table.head else ""


def mail_of(sub: Any, recipient: Any, tables: list[Table], day: str, unsubscribe_url: str,
            pdf: bytes | None = None) -> Mail:
    """The mail; the panels attached as an XLSX, or as `pdf` when given (format `pdf`)."""
    locale = "en" if recipient.locale == "en" else "zh-CN"
    t = lambda key, **v: text(locale, key, **v)  # noqa: E731
    title = sub.title or t("kpis")
    name = recipient.display_name or recipient.email
    chart = next((table for table in tables if table.bars), None)
    lines = [t("intro", name=name, title=title, day=day), ""]
    html = [f"<p>{escape(t('intro', name=name, title=title, day=day))}</p>"]
    images: tuple[InlineImage, ...] = ()
    if chart is not None:
        images = (InlineImage("chart-1@crm", png_bars(chart.bars)),)
        html.append(f'<h3>{escape(chart.title)}</h3><img src="cid:chart-1@crm" alt="{escape(chart.title)}" '
                    'width="560" height="220">')
    for table in tables:
        lines.append(table.title)
        lines += ["  " + " | ".join(row) for row in table.rows]
        lines.append("")
        html.append(f"<h3>{escape(table.title)}</h3><table border=\"1\" cellpadding=\"4\" cellspacing=\"0\">"
                    "<tr>" + "".join(f"<th>{escape(h)}</th>" for h in table.head) + "</tr>"
                    + "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in table.rows)
                    + "</table>")
    attached = t("attached") if pdf is None else t("attached_file")
    lines += [attached, "", t("unsubscribe", link=unsubscribe_url)]
    html += [f"<p>{escape(attached)}</p>",
             f'<p><a href="{escape(unsubscribe_url)}">{escape(t("unsubscribe_link"))}</a></p>']
    filename = re.sub(r"[\\/:*?\"<>|]+", "-", title)[:80] + f"-{day}"
    file = (Attachment(f"{filename}.xlsx", xlsx(tables, title), XLSX_TYPE) if pdf is None
            else Attachment(f"{filename}.pdf", pdf, PDF_TYPE))
    return Mail(to=(recipient.email,), subject=t("subject", title=title, frequency=t(sub.frequency)),
                text="\n".join(lines), html="".join(html), inline_images=images, attachments=(file,))


class Deliverer:
    """The `reporting.subscription.deliver` job."""

    def __init__(self, engine: AsyncEngine, analytics: Analytics, mailer: Mailer | None, public_url: str, key: bytes,
                 identity: IdentityAccess | None = None):
        self.engine = engine
        self.analytics = analytics
        self.mailer = mailer
        self.public_url = public_url.rstrip("/")
        self.key = key
        # Asked for a recipient whose access reporting's projection does not know yet.
        self.identity = identity

    async def run(self, job: jobs.Job) -> dict[str, Any]:
        tenant_id = job.tenant_id
        if tenant_id is None:
            return {"skipped": "no tenant"}
        sub_id = uuid.UUID(str(job.payload["subscription_id"]))
        occurrence = datetime.fromisoformat(str(job.payload["occurrence_at"]))
        counts: dict[str, int] = {}
        async with tenant_session(self.engine, tenant_id) as session:
            sub = (await session.execute(sa.select(report_subscriptions)
                                         .where(report_subscriptions.c.id == sub_id))).first()
            if sub is None:
                return {"skipped": "deleted"}
            done = set((await session.execute(
                sa.select(subscription_deliveries.c.recipient_id).where(
                    subscription_deliveries.c.subscription_id == sub_id,
                    subscription_deliveries.c.occurrence_at == occurrence)
            )).scalars())
            people = (await session.execute(
                sa.select(subscription_recipients.c.unsubscribed_at,
                          subscription_recipients.c.user_id.label("recipient_id"), user_teams)
                .select_from(subscription_recipients.outerjoin(
                    user_teams, user_teams.c.user_id == subscription_recipients.c.user_id))
                .where(subscription_recipients.c.subscription_id == sub_id)
            )).all()
            target = Target.from_json(sub.target)
            day = occurrence.astimezone(ZoneInfo(sub.time_zone)).date()
            for row in people:
                if row.recipient_id in done:
                    continue
                person: Any = row
                if (row.user_id is None or not row.access_known) and self.identity is not None:
                    # Not learnt from identity's events yet: ask identity (the first delivery works).
                    person = await self.identity.recipient(tenant_id, row.recipient_id, row)
                if person is None or person.user_id is None:
                    continue  # no such user (any more)
                status, reason, mail_id = await self._one(session, tenant_id, sub, target, person, day)
                counts[status] = counts.get(status, 0) + 1
                await session.execute(sa.insert(subscription_deliveries).values(
                    id=new_id(), subscription_id=sub_id, recipient_id=person.user_id, occurrence_at=occurrence,
                    status=status, reason=reason, mail_id=mail_id, created_at=datetime.now(UTC)))
        return counts

    async def _one(self, session: AsyncSession, tenant_id: uuid.UUID, sub: Any, target: Target, person: Any,
                   day: Any) -> tuple[str, str, uuid.UUID | None]:
        if person.unsubscribed_at is not None:
            return "skipped", "unsubscribed", None
        if person.disabled:
            return "skipped", "disabled", None
        if not person.email:
            return "skipped", "no_email", None
        access = recipient_access(person)
        if access is None:
            return "skipped", "no_access", None
        if self.mailer is None:
            return "failed", "no_mailer", None
        if target.kind == "report":
            return await self._report(session, tenant_id, sub, target, person, access, day)
        access = await resolve_scope(session, tenant_id, access)
        computed = await compute_dashboard(self.analytics, tenant_id, target, access, day,
                                           f"subscription:{sub.id}:{person.user_id}")
        if computed.empty:
            return "skipped", "empty", None
        tables = tables_of(computed, target, person.locale)
        token = unsubscribe_token(self.key, tenant_id, sub.id, person.user_id)
        pdf = None
        if sub.format == "pdf":  # WeasyPrint is synchronous: off the event loop
            locale = "en" if person.locale == "en" else "zh-CN"
            pdf = await asyncio.to_thread(panels_pdf, tables, sub.title or text(locale, "kpis"), locale,
                                          sub.time_zone)
        mail = mail_of(sub, person, tables, day.isoformat(), f"{self.public_url}/unsubscribe/{token}", pdf)
        mail_id = await self.mailer.queue(session, mail, tenant_id=tenant_id, category=MAIL_CATEGORY)
        return "queued", "", mail_id

    async def _report(self, session: AsyncSession, tenant_id: uuid.UUID, sub: Any, target: Target, person: Any,
                      access: AccessSnapshot, day: Any) -> tuple[str, str, uuid.UUID | None]:
        """A saved report under the recipient's own access (their scope now, their field policies),
        its chart inline (SVG) and the report file (XLSX or PDF) attached."""
        assert self.mailer is not None
        locale = "en" if person.locale == "en" else "zh-CN"
        result = await report_target.run_for_recipient(self.analytics, session, tenant_id, access, target.id,
                                                       locale, sub.time_zone)
        if result is None:
            return "skipped", "no_access", None
        if report_target.empty(result):
            return "skipped", "empty", None
        content, extension, content_type = report_target.attachment(result, sub.format)
        token = unsubscribe_token(self.key, tenant_id, sub.id, person.user_id)
        link = f"{self.public_url}/unsubscribe/{token}"
        t = lambda key, **v: text(locale, key, **v)  # noqa: E731
        title = sub.title or result.title
        name = person.display_name or person.email
        svg = report_target.chart(result, locale)
        html = [f"<p>{escape(t('intro', name=name, title=title, day=day.isoformat()))}</p>"]
        if svg is not None:
            html.append(f'<img src="cid:chart-1@crm" alt="{escape(title)}" width="720" height="320">')
        html += [report_target.html_table(result), f"<p>{escape(t('attached_file'))}</p>",
                 f'<p><a href="{escape(link)}">{escape(t("unsubscribe_link"))}</a></p>']
        filename = re.sub(r"[\\/:*?\"<>|]+", "-", title)[:80] + f"-{day.isoformat()}.{extension}"
        mail = Mail(to=(person.email,), subject=t("subject", title=title, frequency=t(sub.frequency)),
                    text="\n".join([t("intro", name=name, title=title, day=day.isoformat()), "", t("attached_file"), "",
                                    t("unsubscribe", link=link)]),
                    html="".join(html),
                    inline_images=(InlineImage("chart-1@crm", svg, "image/svg+xml"),) if svg is not None else (),
                    attachments=(Attachment(filename, content, content_type),))
        mail_id = await self.mailer.queue(session, mail, tenant_id=tenant_id, category=MAIL_CATEGORY)
        return "queued", "", mail_id
