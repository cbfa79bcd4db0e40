"""The follow-up KPI cards of the home dashboard (docs/reporting.md, "Dashboards"): follow-up
records logged this month and last month, and open tasks past their due time, each over the
customers of the caller's audience (data scope via the customer's owner, and the dashboard's
object), as the other cards."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Final

from crm_reporting.analytics import Analytics, TenantQuery
from crm_reporting.dashboards.audience import Audience, add_months
from crm_reporting.followups.service import OPEN
from crm_reporting.followups.tables import FOLLOWUP_RECORDS, FOLLOWUP_TASKS

# Records by the day they happened (`followed_at`, UTC), as the other cards count by UTC days.
FOLLOWED_ON: Final = "toDate32(followed_at)"


def records(audience: Audience, tenant_id: uuid.UUID) -> TenantQuery:
    """The follow-up records of the audience's customers."""
    return audience.by_customer(TenantQuery(FOLLOWUP_RECORDS, tenant_id, final=True))


def overdue_tasks(audience: Audience, tenant_id: uuid.UUID) -> TenantQuery:
    """Open tasks of the audience's customers whose due time has passed."""
    return (audience.by_customer(TenantQuery(FOLLOWUP_TASKS, tenant_id, final=True))
            .where("status = {open_status:String}", open_status=OPEN).where("due_at < now64(6)"))


async def followup_counts(analytics: Analytics, audience: Audience, tenant_id: uuid.UUID,
                          today: date) -> tuple[int, int, int]:
    """(records this month, records last month, overdue tasks)."""
    month = today.replace(day=1)
    [logged] = await analytics.query(
        records(audience, tenant_id).where(f"{FOLLOWED_ON} >= {{last_month:Date32}}", last_month=add_months(month, -1))
        .where(f"{FOLLOWED_ON} <= {{today:Date32}}", today=today)
        .select(f"countIf({FOLLOWED_ON} >= {{month_start:Date32}}) AS this_month",
                f"countIf({FOLLOWED_ON} < {{month_start:Date32}}) AS last_month", month_start=month))
    [overdue] = await analytics.query(overdue_tasks(audience, tenant_id).select("count() AS overdue"))
    return int(logged["this_month"]), int(logged["last_month"]), int(overdue["overdue"])
