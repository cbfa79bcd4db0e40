"""The satisfaction panels of the dashboard catalogue (docs/reporting.md, "Satisfaction panels"):
CSAT, NPS, the sentiment trend and complaint categories, each a `TenantQuery` over the `feedback`
projection narrowed to the caller's audience (data scope and object, `Audience.by_customer`) and the
panel's date range (the day the feedback was given, UTC)."""

from __future__ import annotations

from decimal import Decimal
from typing import Final

from crm_reporting.analytics import Analytics, TenantQuery

SATISFIED_FROM: Final = 4  # CSAT: the share of ratings 4 and 5
PROMOTER_FROM: Final = 9  # NPS: 9-10 promoters, 7-8 passives, 0-6 detractors
PASSIVE_FROM: Final = 7
COMPLAINT_RATING: Final = 2  # a complaint: negative text, or a rating of 1 or 2


def share(part: int, whole: int) -> str:
    return f"{Decimal(part) / Decimal(whole):.4f}" if whole else ""


def nps_value(promoters: int, detractors: int, answers: int) -> str:
    """-100..100 with one decimal; "" without answers."""
    return f"{Decimal(promoters - detractors) * 100 / Decimal(answers):.1f}" if answers else ""


async def csat_counts(analytics: Analytics, query: TenantQuery) -> dict[int, int]:
    rows = await analytics.query(query.where("rating > 0").select("rating", "count() AS answers")
                                 .group_by("rating").order_by("rating ASC"))
    return {int(r["rating"]): int(r["answers"]) for r in rows}


async def nps_counts(analytics: Analytics, query: TenantQuery) -> tuple[int, int, int]:
    [row] = await analytics.query(query.where("nps_score >= 0").select(
        "countIf(nps_score >= {promoter:Int8}) AS promoters",
        "countIf(nps_score >= {passive:Int8} AND nps_score < {promoter:Int8}) AS passives",
        "countIf(nps_score < {passive:Int8}) AS detractors",
        promoter=PROMOTER_FROM, passive=PASSIVE_FROM))
    return int(row["promoters"]), int(row["passives"]), int(row["detractors"])
