"""The quick templates (issue 15): definitions a user opens as they are or clones into a saved report
of their own. Each runs like any definition, under the viewer's data scope and field policies
(docs/reporting.md, "Quick templates")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from crm_platform.errors import NotFound
from crm_platform.i18n import N_, Msg
from crm_reporting.reports.definition import Definition, check_definition


@dataclass(frozen=True)
class Template:
    key: str
    name: Msg
    description: Msg
    definition: dict[str, Any]

    @property
    def checked(self) -> Definition:
        return check_definition(self.definition)


TEMPLATES: Final[dict[str, Template]] = {t.key: t for t in (
    Template("monthly_customer_activity", N_("Monthly customer activity"),
             N_("Customers new, contacted (a follow-up record), won and lost per month over the last 12 months"),
             {"object": "customer_activity", "rows": [{"field": "happened_at", "bucket": "month"}],
              "column": {"field": "activity"}, "measures": [{"agg": "distinct_customers"}],
              "time_range": {"range": "12m", "field": "happened_at"}, "chart": "bar"}),
    Template("high_value_customers", N_("High-value customer list"),
             N_("Customers in the high value segment, biggest 12-month spend first"),
             {"object": "customers", "rows": [{"field": "customer"}],
              "filters": [{"field": "value_segment", "op": "eq", "values": ["high_value"]}],
              "measures": [{"agg": "sum", "field": "annual_spend"}, {"agg": "sum", "field": "lifetime_value"}],
              "sort": {"by": "measure", "measure": 0, "direction": "desc"}, "top_n": 100, "chart": "table"}),
    Template("churn_risk", N_("Churn-risk list"),
             N_("Won customers in the low value segment (no order for a long time), by owner"),
             {"object": "customers", "rows": [{"field": "owner"}, {"field": "customer"}],
              "filters": [{"field": "status", "op": "eq", "values": ["won"]},
                          {"field": "value_segment", "op": "eq", "values": ["low_value"]}],
              "measures": [{"agg": "count"}, {"agg": "sum", "field": "lifetime_value"}], "chart": "table"}),
    Template("followup_performance_by_rep", N_("Follow-up performance by rep"),
             N_("Follow-ups each rep logged in the last 12 months, the customers they contacted, and the share "
                "of those potential customers that were won"),
             {"object": "followup_records", "rows": [{"field": "followed_by"}],
              "measures": [{"agg": "count"}, {"agg": "distinct_customers"},
                           {"agg": "conversion", "from": "potential", "to": "won"}],
              "time_range": {"range": "12m", "field": "followed_at"}, "chart": "bar"}),
    Template("conversion_by_source", N_("Conversion by source channel"),
             N_("Customers per source channel and the share that went from potential or intent to won"),
             {"object": "customers", "rows": [{"field": "source"}],
              "measures": [{"agg": "count"}, {"agg": "conversion", "from": "potential", "to": "won"},
                           {"agg": "conversion", "from": "intent", "to": "won"}],
              "time_range": {"range": "12m", "field": "created_at"}, "chart": "bar"}),
    Template("value_distribution_by_segment", N_("Value distribution by segment"),
             N_("Customers, 12-month spend and average spend per value segment"),
             {"object": "customers", "rows": [{"field": "value_segment"}],
              "measures": [{"agg": "count"}, {"agg": "sum", "field": "annual_spend"},
                           {"agg": "avg", "field": "annual_spend"}], "chart": "pie"}),
)}


def template_named(key: str) -> Template:
    try:
        return TEMPLATES[key]
    except KeyError:
        raise NotFound("no such report template") from None
