"""The report builder through the real processes (docs/reporting.md, "Report builder"): per role
(admin: all; manager: team A; reps: own; customer service: no money) a pivot's numbers, subtotals and
grand total against the same figures computed here from the OLTP API; a saved report shared
tenant-wide computed under each viewer's own scope; cells opening exactly their customers; private
reports, other tenants, a missing scope, forged and expired tokens; validation errors."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Any

import httpx

from crm_dev.platform import Platform
from tests.conftest import TenantContext
from tests.e2e.test_dashboards import TODAY, Business, _all, business  # noqa: F401  (the module's fixture)
from tests.e2e.test_isolation import _identity_signed
from tests.e2e.test_login_security import admin_http
from tests.e2e.test_orders import _eventually
from tests.e2e.test_report_scope import _with_claims

PIVOT = {"object": "customers", "rows": [{"field": "industry"}], "column": {"field": "status"},
         "measures": [{"agg": "count"}, {"agg": "sum", "field": "lifetime_value"}]}


def _run(http: httpx.Client, definition: dict[str, Any]) -> dict[str, Any]:
    reply = http.post("/v1/reports:run", json={"definition": definition})
    assert reply.status_code == 200, reply.text
    return dict(reply.json()["result"])


def _cells(result: dict[str, Any]) -> dict[tuple[Any, ...], list[Any]]:
    return {(*c["keys"], c["column_key"]): c["values"] for c in result["cells"]}


def _cell_params(result: dict[str, Any], cell: dict[str, Any]) -> dict[str, str]:
    """The list parameters of a cell: its filter, with the run's `cell_report` for a `report_cell`."""
    params = dict(cell["filter"])
    if "report_cell" in params:
        params["report"] = result["cell_report"]
    return params


def _expected(http: httpx.Client, money: bool) -> dict[tuple[Any, ...], list[Any]]:
    """The pivot computed from what the OLTP API shows this caller: customers per industry x status
    with every subtotal, and their lifetime value (CNY orders confirmed or paid, to date)."""
    customers = _all(http, "/v1/customers")
    spend: Counter[str] = Counter()
    if money:
        ids = {c["id"] for c in customers}
        for o in _all(http, "/v1/orders"):
            if o["customer_id"] in ids and o["kind"] == "order" and o["status"] in ("confirmed", "paid") \
                    and o["currency"] == "CNY" and o["ordered_on"] <= TODAY.isoformat():
                spend[o["customer_id"]] += Decimal(o["amount"])  # type: ignore[assignment]
    groups: dict[tuple[Any, ...], list[Any]] = {}
    for c in customers:
        industry = c.get("industry") or ""
        for key in ((industry, c["status"]), (industry, None), (None, c["status"]), (None, None)):
            count, total = groups.get(key, [0, Decimal(0)])
            groups[key] = [count + 1, total + spend[c["id"]]]
    return {k: [v[0], f"{v[1]:.2f}"] if money else [v[0]] for k, v in groups.items()}


def test_each_role_gets_its_own_pivot(business: Business, other_tenant: TenantContext) -> None:  # noqa: F811
    for who, money in (("admin", True), ("manager", True), ("a1", True), ("b1", True), ("cs", False)):
        http = business.http[who]
        _eventually(lambda http=http, money=money: _cells(_run(http, PIVOT)) == _expected(http, money), seconds=30)
        result = _run(http, PIVOT)
        assert result["omitted_fields"] == ([] if money else ["lifetime_value"])
        # The grand total is last; every cell's filter lists exactly its customers.
        assert result["cells"][-1]["rows"] == [None] and result["cells"][-1]["column"] is None
        for cell in result["cells"]:
            params = _cell_params(result, cell)
            assert len(_all(http, "/v1/customers", **params)) == cell["values"][0], (who, cell)
    assert _run(business.http["a1"], PIVOT)["cells"][-1]["values"][0] == 3
    zh = business.http["admin"].post("/v1/reports:run", json={"definition": PIVOT},
                                     headers={"Accept-Language": "zh-CN"}).json()["result"]
    assert zh["rows"][0]["label"] == "行业" and zh["column"]["label"] == "状态"
    with admin_http(other_tenant) as stranger:
        assert _run(stranger, PIVOT)["cells"] == [{"rows": [None], "column": None, "keys": [None], "column_key": None,
                                                    "values": [0, "0.00"], "filter": {}}] or \
            _run(stranger, PIVOT)["cells"] == []


def test_saved_reports_sharing_and_isolation(business: Business, platform: Platform,  # noqa: F811
                                             other_tenant: TenantContext) -> None:
    admin, a1, b1, cs = (business.http[k] for k in ("admin", "a1", "b1", "cs"))
    mine = a1.post("/v1/reports", json={"name": "我的行业报表", "definition": PIVOT})
    assert mine.status_code == 201, mine.text
    report = mine.json()
    assert report["visibility"] == "private" and report["editable"]
    path = f"/v1/reports/{report['id']}"
    assert a1.get(path).status_code == 200
    # Another user's private report does not exist for them; another tenant's neither.
    for http in (b1, admin):
        assert http.get(path).status_code == 404
        assert http.post(f"{path}:run").status_code == 404
    with admin_http(other_tenant) as stranger:
        assert stranger.get(path).status_code == 404
        assert stranger.delete(path).status_code == 404
    # Tenant-wide sharing needs reports:manage.
    refused = a1.patch(path, json={"visibility": "tenant"})
    assert refused.status_code == 403 and refused.json()["code"] == "manage_required", refused.text
    shared = admin.post("/v1/reports", json={"name": "全员", "definition": PIVOT, "visibility": "tenant"})
    assert shared.status_code == 201, shared.text
    shared_path = f"/v1/reports/{shared.json()['id']}"
    # Everyone runs it under their own scope and policies.
    for who in ("a1", "b1", "manager"):
        http = business.http[who]
        ran = http.post(f"{shared_path}:run").json()["result"]
        assert _cells(ran) == _expected(http, True), who
        assert not any(r["id"] == report["id"] for r in http.get("/v1/reports").json()["reports"]) or who == "a1"
    assert cs.post(f"{shared_path}:run").json()["result"]["omitted_fields"] == ["lifetime_value"]
    assert a1.patch(shared_path, json={"name": "x"}).status_code == 403
    # Team sharing: a rep shares with their own team (team A): the manager sees it, b1 (team B) does not.
    team = a1.patch(path, json={"visibility": "team", "expected_version": report["version"]})
    assert team.status_code == 200, team.text
    assert team.json()["team_id"] and team.json()["version"] == report["version"] + 1
    assert business.http["manager"].get(path).status_code == 200
    assert b1.get(path).status_code == 404
    stale = a1.patch(path, json={"name": "旧", "expected_version": report["version"]})
    assert stale.status_code == 412 and stale.json()["code"] == "version_mismatch"
    # Clone a template and another's shared report into private copies.
    templates = a1.get("/v1/report-templates").json()["templates"]
    assert len(templates) == 6
    for template in templates:
        ran = a1.post("/v1/reports:run", json={"definition": template["definition"]})
        assert ran.status_code == 200, (template["key"], ran.text)
    cloned = a1.post("/v1/report-templates/conversion_by_source:clone", json={})
    assert cloned.status_code == 201 and cloned.json()["template"] == "conversion_by_source"
    copy = b1.post(f"{shared_path}:clone", json={"name": "副本"})
    assert copy.status_code == 201 and copy.json()["visibility"] == "private" and copy.json()["name"] == "副本"
    assert a1.post("/v1/report-templates/nope:clone", json={}).status_code == 404
    assert a1.delete(path).status_code == 200 and a1.get(path).status_code == 404
    # Tokens: a missing scope is 403, forged and expired tokens 401.
    tenant = business.tenant
    without = tenant.http(["customers:read"])
    for method, url in (("GET", "/v1/reports"), ("POST", "/v1/reports:run"), ("GET", shared_path),
                        ("GET", "/v1/report-templates")):
        reply = without.request(method, url, json={"definition": PIVOT} if method == "POST" else None)
        assert reply.status_code == 403 and reply.json()["code"] == "permission_denied", reply.text
    token = str(a1.headers["authorization"]).removeprefix("Bearer ")
    for bad in (_with_claims(token, ds="all"), _identity_signed(platform, tenant.tenant_id, ttl=-120)):
        reply = httpx.get(f"{platform.gateway_url}{shared_path}", headers={"Authorization": f"Bearer {bad}"})
        assert reply.status_code == 401, reply.text


def test_validation_errors_name_the_field(business: Business) -> None:  # noqa: F811
    admin = business.http["admin"]
    cases = [
        ({"object": "people"}, "definition.object", "invalid_choice"),
        ({"object": "customers", "rows": [{"field": "shoe_size"}]}, "definition.rows[0].field", "unknown_dimension"),
        ({"object": "customers", "rows": [{"field": "industry"}] * 4}, "definition.rows", "too_many"),
        ({"object": "customers", "measures": [{"agg": "sum", "field": "industry"}]}, "definition.measures[0].field",
         "not_numeric"),
        ({"object": "customers", "time_range": {"range": "custom", "from": "2026-13-01", "to": "2026-01-01"}},
         "definition.time_range.from", "invalid_date"),
        ({"object": "customers", "top_n": 5}, "definition.top_n", "requires_rows"),
    ]
    for definition, field, code in cases:
        reply = admin.post("/v1/reports:run", json={"definition": definition})
        assert reply.status_code == 400, reply.text
        assert reply.headers["content-type"].startswith("application/problem+json")
        assert {"field": field, "code": code} in [{"field": e["field"], "code": e["code"]}
                                                  for e in reply.json()["errors"]], reply.text
        saved = admin.post("/v1/reports", json={"name": "x", "definition": definition})
        assert saved.status_code == 400, saved.text
    empty_name = admin.post("/v1/reports", json={"name": "", "definition": PIVOT})
    assert empty_name.status_code == 400
    assert admin.get("/v1/reports/not-a-uuid").status_code == 404


CLICK_THROUGHS = [
    {"object": "customers", "rows": [{"field": "team"}], "column": {"field": "status"}},
    {"object": "customers", "rows": [{"field": "value_segment"}, {"field": "industry"}]},
    {"object": "customers", "rows": [{"field": "industry"}], "column": {"field": "source"}, "top_n": 1},
    {"object": "customers", "rows": [{"field": "tag"}], "column": {"field": "owner"}},
    {"object": "customers", "rows": [{"field": "region", "level": 1}],
     "filters": [{"field": "status", "op": "ne", "values": ["lost"]}]},
]


def test_every_cell_opens_exactly_its_customers(business: Business) -> None:  # noqa: F811
    """Every cell — team, value segment, "Others" of a top N, empty values, tags, a filter the list
    has no parameter for, subtotals and totals — opens the customer list of exactly its customers
    (its filter, with the run's `cell_report` for a `report_cell`): the list's total is the cell's
    count, per role."""
    seen_kinds: set[str] = set()
    for who in ("admin", "manager", "a1"):
        http = business.http[who]
        for definition in CLICK_THROUGHS:
            result = _run(http, {**definition, "measures": [{"agg": "count"}]})
            for cell in result["cells"]:
                params = _cell_params(result, cell)
                if "report_cell" in params:
                    seen_kinds.add("report_cell")
                listed = http.get("/v1/customers", params={**params, "include_total": "true", "page_size": 1})
                assert listed.status_code == 200, listed.text
                assert listed.json()["total_size"] == cell["values"][0], (who, definition, cell)
                if "others" in str(cell["keys"]).lower() or "\u2063" in str(cell["keys"]):
                    seen_kinds.add("others")
                if "" in cell["keys"] or cell["column_key"] == "":
                    seen_kinds.add("empty")
    assert seen_kinds == {"report_cell", "others", "empty"}, seen_kinds
    # Bad input and access: one parameter alone, a forged token, a missing scope.
    a1 = business.http["a1"]
    result = _run(a1, {**CLICK_THROUGHS[0], "measures": [{"agg": "count"}]})
    cell = next(c for c in result["cells"] if "report_cell" in c["filter"])
    alone = a1.get("/v1/customers", params={"report_cell": cell["filter"]["report_cell"]})
    assert alone.status_code == 400 and alone.json()["errors"][0]["field"] == "report", alone.text
    forged = a1.get("/v1/customers", params={"report": "forged", "report_cell": cell["filter"]["report_cell"]})
    assert forged.status_code == 400 and forged.json()["errors"][0]["field"] == "report", forged.text
    without = business.tenant.http(["customers:read"])
    denied = without.get("/v1/customers", params={"report": result["cell_report"],
                                                  "report_cell": cell["filter"]["report_cell"]})
    assert denied.status_code == 403, denied.text
