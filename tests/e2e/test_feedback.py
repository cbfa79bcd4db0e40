"""Feedback and satisfaction surveys through the gateway against the real processes (docs/followups.md,
"Feedback", "Surveys"; docs/reporting.md, "Satisfaction panels"): sentiment of Chinese and English
text, data scope per role (rep: own; manager: team A; admin and customer service: all), another tenant,
a missing scope, a forged token; a survey mailed to the customer's email on the real local SMTP server,
its public page in the survey's language, one answer only, forged and expired links; and the CSAT,
NPS, sentiment-trend and complaint panels compared per role with the same figures computed here from
what `GET /v1/feedback` shows that role."""

from __future__ import annotations

import re
import secrets
from collections import Counter
from decimal import Decimal
from typing import Any

import httpx
import psycopg

from crm_dev.platform import Platform
from tests.conftest import TenantContext, wait_for
from tests.e2e.test_access_enforcement import Org, org  # noqa: F401 - the fixture
from tests.e2e.test_login_security import admin_http, forged_token
from tests.e2e.test_roles_teams import created
from tests.mail import wait_for_mail

ROLES = ("a1", "a2", "b1", "manager", "admin", "cs")


def _feedback(http: httpx.Client, customer: dict[str, Any], **extra: Any) -> httpx.Response:
    return http.post("/v1/feedback", json={"customer_id": customer["id"], "channel": "phone",
                                           "category": "service", **extra})


def _all(http: httpx.Client, path: str, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    token = ""
    while True:
        reply = http.get(path, params={**params, "page_size": 100, **({"page_token": token} if token else {})})
        assert reply.status_code == 200, reply.text
        items += reply.json()["items"]
        token = reply.json().get("next_page_token") or ""
        if not token:
            return items


def _db(platform: Platform) -> psycopg.Connection[tuple[Any, ...]]:
    url = platform.database_url("followups").replace("+asyncpg", "").replace("+psycopg", "")
    return psycopg.connect(url, autocommit=True)


def test_feedback_is_scored_and_follows_the_customers_scope(
    org: Org, tenant: TenantContext, other_tenant: TenantContext, platform: Platform,  # noqa: F811
) -> None:
    http, customers = org.http, org.customers
    angry = created(_feedback(http["a1"], customers["a1"], rating=1, category="product",
                              text="产品用了两个星期就坏了，售后也一直不回复，非常失望。"))
    assert (angry["sentiment"], angry["language"], angry["rating"]) == ("negative", "zh", 1)
    assert angry["sentiment_score"] < 0 and angry["created_by"] == org.users["a1"]
    happy = created(_feedback(http["cs"], customers["b1"], channel="online_review", rating=5,
                              text="Great product, the support team fixed our issue the same day. Thank you!"))
    assert (happy["sentiment"], happy["language"], happy["nps_score"]) == ("positive", "en", None)
    plain = created(_feedback(http["a2"], customers["a2"], channel="email", rating=3))
    assert (plain["sentiment"], plain["text"]) == ("", "")

    def ids(who: str, **params: Any) -> set[str]:
        return {f["id"] for f in _all(http[who], "/v1/feedback", **params)}

    assert ids("a1") == {angry["id"]} and ids("b1") == {happy["id"]} and ids("a2") == {plain["id"]}
    wait_for(lambda: ids("manager") == {angry["id"], plain["id"]}, timeout=15)
    assert ids("admin") == ids("cs") == {angry["id"], happy["id"], plain["id"]}
    assert ids("admin", sentiment="negative") == {angry["id"]}
    assert ids("admin", channel="online_review", rating=5) == {happy["id"]}
    assert ids("admin", category="product") == {angry["id"]}
    assert http["a1"].get(f"/v1/feedback/{angry['id']}").json()["text"].startswith("产品用了")
    for outsider in ("b1", "a2"):
        assert http[outsider].get(f"/v1/feedback/{angry['id']}").status_code == 404
        hidden = _feedback(http[outsider], customers["a1"], rating=2)
        assert hidden.status_code == 404 and hidden.json()["code"] == "not_found"
    with admin_http(other_tenant) as stranger:
        assert stranger.get(f"/v1/feedback/{angry['id']}").status_code == 404
        assert _feedback(stranger, customers["a1"], rating=2).status_code == 404
        assert stranger.get("/v1/feedback").json()["items"] == []
    with tenant.http(scopes=["customers:read"]) as narrow:
        denied = narrow.get("/v1/feedback")
        assert denied.status_code == 403 and denied.json()["code"] == "permission_denied"
    with tenant.http(scopes=["followups:read", "customers:read"]) as reader:
        assert _feedback(reader, customers["a1"], rating=4).status_code == 403
    forged = httpx.get(f"{platform.gateway_url}/v1/feedback",
                       headers={"Authorization": f"Bearer {forged_token(platform, tenant)}"})
    assert forged.status_code == 401


def test_bad_feedback_is_a_problem_naming_the_field(org: Org) -> None:  # noqa: F811
    rep, customer = org.http["a1"], org.customers["a1"]
    reply = rep.post("/v1/feedback", json={"customer_id": customer["id"], "channel": "phone", "category": "weather",
                                           "received_at": "2099-01-01T00:00:00Z"})
    assert reply.status_code == 400 and reply.headers["content-type"].startswith("application/problem+json")
    assert sorted((e["field"], e["code"]) for e in reply.json()["errors"]) == [
        ("category", "unknown_code"), ("received_at", "in_future"), ("text", "required")]
    assert rep.post("/v1/feedback", json={"customer_id": customer["id"], "channel": "fax", "category": "price",
                                          "rating": 3}).status_code == 400
    assert rep.post("/v1/feedback", json={"customer_id": customer["id"], "channel": "phone", "category": "price",
                                          "rating": 6}).status_code == 400
    assert rep.get("/v1/feedback", params={"sentiment": "angry"}).status_code == 400
    assert rep.get("/v1/feedback/not-an-id").status_code == 400
    categories = rep.get("/v1/followup-dictionaries/feedback_category").json()["items"]
    assert [(e["code"], e["label_zh"]) for e in categories] == [
        ("product", "产品"), ("service", "服务"), ("price", "价格"), ("other", "其他")]
    assert rep.get("/v1/feedback", params={"customer_id": customer["id"]}).json()["items"] == []


def test_the_batch_path_is_all_or_none_and_checks_every_customer(
    org: Org, other_tenant: TenantContext,  # noqa: F811
) -> None:
    rep, customers = org.http["a1"], org.customers
    good = {"customer_id": customers["a1"]["id"], "channel": "survey", "category": "service", "nps_score": 9,
            "received_at": "2025-06-01T10:00:00+08:00"}
    bad = {"customer_id": customers["a1"]["id"], "channel": "phone", "category": "nope", "nps_score": 3}
    refused = rep.post("/v1/feedback:batch-create", json={"items": [good, bad]})
    assert refused.status_code == 400
    assert sorted((e["field"], e["code"]) for e in refused.json()["errors"]) == [
        ("items[1].category", "unknown_code"), ("items[1].nps_score", "not_allowed")]
    assert rep.get("/v1/feedback").json()["items"] == []
    # Another rep's customer, or another tenant's: nothing is written.
    other = {**good, "customer_id": customers["b1"]["id"]}
    assert rep.post("/v1/feedback:batch-create", json={"items": [good, other]}).status_code == 404
    with admin_http(other_tenant) as stranger:
        assert stranger.post("/v1/feedback:batch-create", json={"items": [good]}).status_code == 404
    assert rep.get("/v1/feedback").json()["items"] == []
    done = rep.post("/v1/feedback:batch-create", json={"items": [good, {**good, "nps_score": 4}]})
    assert done.status_code == 201, done.text
    listed = {f["id"]: f for f in rep.get("/v1/feedback").json()["items"]}
    assert list(listed) == done.json()["ids"] or set(listed) == set(done.json()["ids"])
    assert sorted((f["nps_score"], f["survey_kind"], f["sentiment"]) for f in listed.values()) == [
        (4, "nps", ""), (9, "nps", "")]
    assert rep.post("/v1/feedback:batch-create", json={"items": []}).status_code == 400


def _survey_link(platform: Platform, address: str, count: int = 1) -> tuple[str, Any]:
    mail = wait_for_mail(platform.mail_dir, address, count=count)[-1]
    match = re.search(re.escape(platform.gateway_url) + r"/survey/(\S+)", mail.text)
    assert match, mail.text
    return match.group(0), mail


def test_a_survey_is_mailed_answered_once_and_becomes_feedback(
    org: Org, tenant: TenantContext, other_tenant: TenantContext, platform: Platform,  # noqa: F811
) -> None:
    http = org.http
    address = f"buyer.{secrets.token_hex(3)}@example.org"
    customer = created(http["a1"].post("/v1/customers", json={"name": "问卷客户", "email": address,
                                                              "mobile": "13700139999"}))
    sent = created(http["a1"].post("/v1/surveys", json={"customer_id": customer["id"], "kind": "nps",
                                                        "language": "en"}))
    assert (sent["status"], sent["email"], sent["kind"], sent["feedback_id"]) == ("sent", address, "nps", "")
    link, mail = _survey_link(platform, address)
    assert "recommend" in mail.subject and "/survey/" in mail.html
    assert tenant.tenant_id.replace("-", "") in link  # the tenant part; the rest is random

    page = httpx.get(link)
    assert page.status_code == 200 and "How likely are you to recommend us" in page.text
    assert page.text.count('name="score"') == 11 and 'lang="en"' in page.text
    # Outsiders do not see the survey; a rep of the team's manager does.
    for who in ("b1", "a2"):
        assert http[who].get(f"/v1/surveys/{sent['id']}").status_code == 404
        assert http[who].post("/v1/surveys", json={"customer_id": customer["id"], "kind": "csat"}).status_code == 404
    with admin_http(other_tenant) as stranger:
        assert stranger.get(f"/v1/surveys/{sent['id']}").status_code == 404
        assert stranger.get("/v1/surveys").json()["items"] == []

    bad = httpx.post(link, data={"score": "11"})
    assert bad.status_code == 400
    answered = httpx.post(link, data={"score": "9", "comment": "Quick support, keep it up!"})
    assert answered.status_code == 200 and "Thank you" in answered.text
    again = httpx.post(link, data={"score": "0", "comment": "changed my mind"})
    assert again.status_code == 410 and "already" in again.text.lower()
    assert httpx.get(link).status_code == 200  # the page says it was answered

    survey = http["a1"].get(f"/v1/surveys/{sent['id']}").json()
    assert survey["status"] == "answered" and survey["feedback_id"]
    answer = http["a1"].get(f"/v1/feedback/{survey['feedback_id']}").json()
    assert (answer["channel"], answer["survey_kind"], answer["nps_score"], answer["rating"]) == ("survey", "nps", 9,
                                                                                                None)
    assert answer["sentiment"] == "positive" and answer["survey_id"] == sent["id"]
    assert [s["id"] for s in _all(http["a1"], "/v1/surveys", status="answered")] == [sent["id"]]

    # Forged links: another random part, another tenant, garbage. None answers, none reveals anything.
    head = link.rsplit("/", 1)[1].split(".")[0]
    for token in (f"{head}.{secrets.token_urlsafe(32)}",
                  f"{other_tenant.tenant_id.replace('-', '')}.{link.rsplit('.', 1)[1]}",
                  f"{secrets.token_hex(16)}.{secrets.token_urlsafe(32)}", "garbage"):
        forged = httpx.post(f"{platform.gateway_url}/survey/{token}", data={"score": "1"},
                            headers={"Accept-Language": "en"})
        assert forged.status_code == 410 and "not valid" in forged.text
    # An expired link: the page says so in the survey's language (zh-CN here), and nothing is written.
    created(http["a1"].post("/v1/surveys", json={"customer_id": customer["id"], "kind": "csat"}))
    zh_link, zh_mail = _survey_link(platform, address, count=2)
    assert "满意" in zh_mail.subject
    page = httpx.get(zh_link)
    assert page.status_code == 200 and 'lang="zh-CN"' in page.text and page.text.count('name="score"') == 5
    with _db(platform) as db:
        db.execute(f'update "t_{tenant.tenant_id.replace("-", "")}".surveys '
                   "set expires_at = now() - interval '1 minute' where answered_at is null")
    expired = httpx.post(zh_link, data={"score": "5"})
    assert expired.status_code == 410 and "已过期" in expired.text
    assert [s["status"] for s in _all(http["a1"], "/v1/surveys", customer_id=customer["id"])] == ["expired",
                                                                                                 "answered"]
    # Without an email there is nothing to send to.
    no_mail = http["a1"].post("/v1/surveys", json={"customer_id": org.customers["a1"]["id"], "kind": "csat"})
    assert no_mail.status_code == 400 and no_mail.json()["errors"][0]["code"] == "no_email"
    with tenant.http(scopes=["followups:read", "customers:read"]) as reader:
        assert reader.post("/v1/surveys", json={"customer_id": customer["id"], "kind": "csat"}).status_code == 403


# -- the satisfaction panels, per role, against the feedback each role sees ------------------------------

SEEDED = [  # (who logs it, on whose customer, channel, category, rating, text)
    ("a1", "a1", "phone", "product", 5, "非常满意，产品质量很好。"),
    ("a1", "a1", "email", "price", 2, "价格太贵了，比别家高很多。"),
    ("a2", "a2", "phone", "service", 4, "The engineer was friendly and fixed it on the first visit."),
    ("a2", "a2", "online_review", "service", 1, "Terrible support, nobody called back."),
    ("b1", "b1", "phone", "other", 3, ""),
    ("admin", "admin", "email", "product", 0, "The delivery was late again and the box was damaged."),
]


def _expected(items: list[dict[str, Any]]) -> dict[str, Any]:
    rated = [f["rating"] for f in items if f["rating"]]
    nps = [f["nps_score"] for f in items if f["nps_score"] is not None]
    complaints = Counter(f["category"] for f in items
                         if f["sentiment"] == "negative" or (f["rating"] and f["rating"] <= 2))
    months = Counter((f["received_at"][:7] + "-01", f["sentiment"]) for f in items if f["sentiment"])
    satisfied = sum(1 for r in rated if r >= 4)
    promoters, detractors = sum(1 for s in nps if s >= 9), sum(1 for s in nps if s <= 6)
    return {
        "csat": (len(rated), f"{Decimal(satisfied) / Decimal(len(rated)):.4f}" if rated else ""),
        "ratings": {f"rating_{n}": rated.count(n) for n in range(1, 6)},
        "nps": (len(nps), f"{Decimal(promoters - detractors) * 100 / Decimal(len(nps)):.1f}" if nps else ""),
        "complaints": dict(complaints),
        "trend": {(m, s): n for (m, s), n in months.items()},
    }


def _panel(http: httpx.Client, name: str) -> dict[str, Any]:
    reply = http.get(f"/v1/dashboards/panels/{name}", params={"range": "12m"})
    assert reply.status_code == 200, reply.text
    return dict(reply.json())


def _computed(http: httpx.Client) -> dict[str, Any]:
    csat = {p["key"]: p for p in _panel(http, "csat")["points"]}
    nps = {p["key"]: p for p in _panel(http, "nps")["points"]}
    return {
        "csat": (csat["csat"]["count"], csat["csat"]["value"]),
        "ratings": {k: p["count"] for k, p in csat.items() if k.startswith("rating_")},
        "nps": (nps["nps"]["count"], nps["nps"]["value"]),
        "complaints": {p["key"]: p["count"] for p in _panel(http, "complaint_categories")["points"]},
        "trend": {(p["key"], p["label"]): p["count"] for p in _panel(http, "sentiment_trend")["points"]},
    }


def test_satisfaction_panels_match_the_feedback_each_role_sees(
    org: Org, tenant: TenantContext, other_tenant: TenantContext, platform: Platform,  # noqa: F811
) -> None:
    http, customers = org.http, org.customers
    for who, owner, channel, category, rating, text in SEEDED:
        body: dict[str, Any] = {"channel": channel, "category": category, "text": text}
        if rating:
            body["rating"] = rating
        created(_feedback(http[who], customers[owner], **body))
    # An NPS answer through a real survey (promoter) on a1's customer.
    address = f"nps.{secrets.token_hex(3)}@example.org"
    customer = created(http["a1"].post("/v1/customers", json={"name": "NPS 客户", "email": address,
                                                              "mobile": "13700138888"}))
    created(http["a1"].post("/v1/surveys", json={"customer_id": customer["id"], "kind": "nps", "language": "en"}))
    link, _ = _survey_link(platform, address)
    assert httpx.post(link, data={"score": "10"}).status_code == 200

    total = len(SEEDED) + 1
    wait_for(lambda: _panel(http["admin"], "csat")["points"][0]["count"] == 5
             and _panel(http["admin"], "nps")["points"][0]["count"] == 1, timeout=30)
    for who in ROLES:
        seen = _all(http[who], "/v1/feedback")
        expected = _expected(seen)
        wait_for(lambda who=who, expected=expected: _computed(http[who]) == expected, timeout=20)
    assert len(_all(http["admin"], "/v1/feedback")) == total
    # a1 sees its own two ratings (5 and 2) and the NPS promoter; b1 sees one neutral rating.
    assert _computed(http["a1"])["csat"] == (2, "0.5000") and _computed(http["a1"])["nps"] == (1, "100.0")
    assert _computed(http["b1"])["nps"] == (0, "")
    # The home dashboard's key figures carry the satisfaction card once rated feedback exists.
    kpis = {p["key"]: p for p in _panel(http["admin"], "kpis")["points"] if not p["currency"]}
    assert (kpis["csat"]["count"], kpis["csat"]["value"]) == (5, "0.4000")
    with admin_http(other_tenant) as stranger:
        assert _computed(stranger)["csat"] == (0, "")
        assert "csat" not in {p["key"] for p in _panel(stranger, "kpis")["points"]}
    with tenant.http(scopes=["customers:read"]) as narrow:
        assert narrow.get("/v1/dashboards/panels/csat").status_code == 403
    catalogue = {p["id"] for p in http["a1"].get("/v1/dashboards/panels").json()["panels"]}
    assert {"csat", "nps", "sentiment_trend", "complaint_categories"} <= catalogue
