"""A saved segment in report exports, share links and subscriptions, against the real processes
(docs/reporting.md "Segments as the object"): the gateway reads the segment as the creator and
reporting keeps its definition with the export, the link or the subscription.

- per role, the CSV export of a report whose `segment_id` is a segment totals exactly the customers
  `GET /v1/customers?segment_id=` lists for that role, and the XLSX's data sheet holds exactly them;
  a spend segment is refused to customer service when the export is asked for (403 `field_hidden`);
- a share link of such a report, and of a dashboard whose object is the segment, shows what the
  sharer's segment selects, and keeps showing the segment as it was when the link was made;
- a subscription to such a report mails each recipient the segment's customers they may see
  (the creator's segment, the recipient's access): empty copies and copies of a spend segment for
  customer service are skipped."""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from typing import Any

import httpx
import openpyxl

from crm_dev.platform import Platform
from crm_gateway.dev_mail import DevMailbox
from tests.conftest import TenantContext
from tests.e2e.test_dashboards import _all
from tests.e2e.test_orders import _eventually
from tests.e2e.test_report_exports import _export
from tests.e2e.test_report_subscriptions import _email, _make_due
from tests.e2e.test_roles_teams import created
from tests.e2e.test_segment_objects import Segmented, _segment_count, segmented  # noqa: F401  (module fixture)
from tests.e2e.test_share_links import _page
from tests.mail import wait_for_mail

ROLES = ("admin", "manager", "a1", "a2", "b1", "cs")
RECIPIENTS = ROLES[1:]  # the tenant's first admin is not one of build_org's users
BY_INDUSTRY = {"object": "customers", "rows": [{"field": "industry"}], "measures": [{"agg": "count"}]}


def _members(http: httpx.Client, segment: dict[str, Any]) -> list[dict[str, Any]]:
    """The segment's customers the caller may see, as the customers service lists them."""
    members = _all(http, "/v1/customers", segment_id=segment["id"])
    assert len(members) == _segment_count(http, segment)
    return members


def _saved(http: httpx.Client, segment: dict[str, Any], name: str) -> str:
    made = created(http.post("/v1/reports", json={"name": name, "visibility": "tenant", "definition": {
        **BY_INDUSTRY, "segment_id": segment["id"]}}))
    return str(made["id"])


def _csv_counts(content: bytes) -> tuple[dict[str, int], int]:
    """(count per industry label, grand total) of the pivot CSV."""
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert rows[-1][0] == "Grand total", rows
    return {r[0]: int(r[-1]) for r in rows[1:-1]}, int(rows[-1][-1])


def test_exports_hold_exactly_the_segments_customers_per_role(segmented: Segmented) -> None:  # noqa: F811
    admin = segmented.http["admin"]
    reports = {name: _saved(admin, segmented.segments[name], f"导出{name}") for name in ("big", "small", "vip")}
    for who in ROLES:
        http = segmented.http[who]
        for name, report_id in reports.items():
            segment = segmented.segments[name]
            if who == "cs" and name != "vip":  # judged by spend: refused when asked, not failed later
                refused = http.post(f"/v1/reports/{report_id}/exports", json={"format": "csv"})
                assert refused.status_code == 403 and refused.json()["code"] == "field_hidden", refused.text
                continue
            members = _members(http, segment)
            _, file = _export(http, report_id, "csv")
            counts, total = _csv_counts(file.content)
            assert total == len(members), (who, name)
            expected = Counter(c.get("industry") or "(empty)" for c in members)
            assert counts == dict(expected), (who, name, counts)
            if name == "big" or who == "cs":
                state, book = _export(http, report_id, "xlsx")
                records = [[c.value for c in row] for row in
                           openpyxl.load_workbook(io.BytesIO(book.content))["Data"].iter_rows()][1:]
                assert state["rows_done"] == len(records) == len(members), (who, name)
                assert {r[0] for r in records} == {c["id"] for c in members}, (who, name)
    # The segment is read as the requester: a shared report naming a1's private segment exports for
    # a1, and is 404 for anyone else when the export is asked for, as reading the segment.
    private = created(segmented.http["a1"].post("/v1/segments", json={"name": "私有导出", "definition": {}}))
    report_id = _saved(admin, private, "别人的分群")
    for who in ("admin", "a2"):
        refused = segmented.http[who].post(f"/v1/reports/{report_id}/exports", json={"format": "csv"})
        assert refused.status_code == 404, refused.text
    _, file = _export(segmented.http["a1"], report_id, "csv")
    assert _csv_counts(file.content)[1] == len(_members(segmented.http["a1"], private)) == 3


def _page_total(page: httpx.Response) -> int:
    assert page.status_code == 200, page.text[:2000]
    match = re.search(r'class="pivot-total">.*?<td class="num">(\d+)</td>', page.text, re.S)
    assert match, page.text[-3000:]
    return int(match.group(1))


def _kpi_customers(page: httpx.Response) -> int:
    assert page.status_code == 200, page.text[:2000]
    match = re.search(r'data-kpi="customers">.*?class="kpi-value">([^<]*)<', page.text, re.S)
    assert match, page.text[:3000]
    return int(match.group(1).strip().replace(",", ""))


def test_share_links_show_the_segment_as_the_sharer_saw_it(segmented: Segmented,  # noqa: F811
                                                          platform: Platform) -> None:
    admin = segmented.http["admin"]
    report_id = _saved(admin, segmented.segments["small"], "分享small")
    for who in ("admin", "manager", "a1", "b1"):
        http = segmented.http[who]
        expected = len(_members(http, segmented.segments["small"]))
        link = created(http.post("/v1/share-links", json={"target": {"kind": "report", "id": report_id}}))
        if expected:
            assert _page_total(_page(platform, link["token"])) == expected, who
        dashboard = created(http.post("/v1/share-links", json={"target": {
            "kind": "dashboard", "panels": ["kpis"], "object": f"segment:{segmented.segments['vip']['id']}"}}))
        assert _kpi_customers(_page(platform, dashboard["token"])) == len(
            _members(http, segmented.segments["vip"])), who
    # Frozen: a segment changed after the link was made does not change what the link shows.
    segment = created(admin.post("/v1/segments", json={"name": "会变的", "visibility": "shared", "definition": {
        "tags": {"all": segmented.segments["vip"]["definition"]["tags"]["all"]}}}))
    before = len(_members(admin, segment))
    frozen = _saved(admin, segment, "冻结")
    report_link = created(admin.post("/v1/share-links", json={"target": {"kind": "report", "id": frozen}}))
    dashboard_link = created(admin.post("/v1/share-links", json={"target": {
        "kind": "dashboard", "panels": ["kpis"], "object": f"segment:{segment['id']}"}}))
    current = admin.get(f"/v1/segments/{segment['id']}")
    changed = admin.patch(f"/v1/segments/{segment['id']}", headers={"If-Match": current.headers["etag"]},
                          json={"definition": {"tags": {"all": segment["definition"]["tags"]["all"]},
                                               "filters": {"industry": "零售"}}})
    assert changed.status_code == 200, changed.text
    after = len(_members(admin, segment))
    assert after < before
    assert _page_total(_page(platform, report_link["token"])) == before
    assert _kpi_customers(_page(platform, dashboard_link["token"])) == before
    # Customer service may not count by spend: a link of a spend segment is refused when made.
    cs = segmented.http["cs"]
    refused = cs.post("/v1/share-links", json={"target": {"kind": "report", "id": report_id}})
    assert refused.status_code == 403 and refused.json()["code"] == "field_hidden", refused.text
    # Another user's private segment: 404 as reading it; a bad id: the field at fault.
    private = created(segmented.http["a1"].post("/v1/segments", json={"name": "私有分享", "definition": {}}))
    assert admin.post("/v1/share-links", json={"target": {
        "panels": ["kpis"], "object": f"segment:{private['id']}"}}).status_code == 404
    bad = admin.post("/v1/share-links", json={"target": {"panels": ["kpis"], "object": "segment:nope"}})
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "target.object", bad.text


def test_a_subscription_mails_each_recipient_the_segments_customers_they_see(
        segmented: Segmented, platform: Platform) -> None:  # noqa: F811
    admin, tenant = segmented.http["admin"], segmented.tenant
    subs = {}
    for name in ("big", "vip"):
        report_id = _saved(admin, segmented.segments[name], f"订阅{name}")
        subs[name] = created(admin.post("/v1/report-subscriptions", json={
            "target": {"kind": "report", "id": report_id}, "title": "", "frequency": "weekly", "weekday": 1,
            "time_of_day": "09:00", "format": "pdf", "recipient_ids": [segmented.users[w] for w in RECIPIENTS]}))
    mailbox = DevMailbox(platform.mail_dir)
    for name, sub in subs.items():
        before = {w: len(mailbox.list(to=_email(tenant, w))) for w in RECIPIENTS}
        _make_due(platform, sub["id"])
        expected = {w: len(_members(segmented.http[w], segmented.segments[name]))
                    for w in RECIPIENTS if not (w == "cs" and name == "big")}

        def log(sub: dict[str, Any] = sub) -> dict[str, tuple[str, str]]:
            reply = admin.get(f"/v1/report-subscriptions/{sub['id']}/deliveries")
            assert reply.status_code == 200, reply.text
            return {d["recipient_id"]: (d["status"], d["reason"]) for d in reply.json()["items"]}

        _eventually(lambda: len(log()) == len(RECIPIENTS) and all(s != "queued" for s, _ in log().values()), seconds=90)
        statuses = log()
        for who in RECIPIENTS:
            status = statuses[segmented.users[who]]
            if who not in expected:
                assert status == ("skipped", "no_access"), (name, who, status)
            elif expected[who] == 0:
                assert status == ("skipped", "empty"), (name, who, status)
            else:
                assert status == ("sent", ""), (name, who, status)
                mail = wait_for_mail(platform.mail_dir, _email(tenant, who), count=before[who] + 1, timeout=60)[-1]
                rows = re.findall(r"<tr><td>([^<]*)</td><td>(\d+)</td></tr>", mail.html)
                assert rows and int(rows[-1][1]) == expected[who], (name, who, mail.html)
                # Each industry's row too (the "(empty)" label is in the recipient's language).
                members = _members(segmented.http[who], segmented.segments[name])
                industries = Counter(c["industry"] for c in members if c.get("industry"))
                counted = {label: int(n) for label, n in rows[:-1]}
                assert {k: counted.get(k) for k in industries} == dict(industries), (name, who, rows)
                assert sum(counted.values()) == expected[who], (name, who, rows)


def test_the_tenant_of_a_segment_delivery(segmented: Segmented, other_tenant: TenantContext) -> None:  # noqa: F811
    """Another tenant cannot export, share or subscribe to this tenant's report with a segment."""
    from tests.e2e.test_login_security import admin_http

    report_id = _saved(segmented.http["admin"], segmented.segments["vip"], "他租户")
    other = admin_http(other_tenant)
    assert other.post(f"/v1/reports/{report_id}/exports", json={"format": "csv"}).status_code == 404
    assert other.post("/v1/share-links", json={"target": {"kind": "report", "id": report_id}}).status_code == 404
    assert other.post("/v1/share-links", json={"target": {
        "panels": ["kpis"], "object": f"segment:{segmented.segments['vip']['id']}"}}).status_code == 404
