"""The demo tenant's business history, so every dashboard panel shows meaningful numbers on first run:
two sales teams with a manager and two reps each plus a customer-service user, customers first
contacted over three years with sources and owners, status moves (potential -> intent -> won, some
lost) made through the mass-change jobs, three years of orders with seasonality and a few big accounts
through `/v1/orders:batch-upsert` (1,000 a request), tags by auto-tag rules (applied as customers are
created) and a VIP tag on the big accounts, and follow-up records of the last four months on about a
fifth of the customers, logged in their owners' names, whose next follow-ups leave each rep tasks that
are overdue, due today and due later (so "My follow-ups", reminders and the timeline have content), and
two years of customer feedback with ratings, texts and NPS answers (`/v1/feedback:batch-create`) plus a
few CSAT surveys mailed out, so the satisfaction panels have content.

Plans are pure and deterministic (`plan_customers`, `plan_orders`); `DemoHistory` sends them.

Known limit: the platform stamps a customer's creation and every status change with the time it
happens, and no API backdates them, so in the status history every move happens on the day of the
seed ("new this month" counts every seeded customer, "median time in stage" is about zero). First
contact dates and order dates are the customer's own fields and spread over the three years, so the
funnel's cohorts, the value trend, top customers and spend KPIs show three years of history.
"""

from __future__ import annotations

import math
import random
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Final

import httpx

from crm_dev.api_client import post_idempotent

DAYS: Final = 3 * 365
SOURCES: Final = (("trade_show", 3), ("referral", 4), ("online", 6), ("cold_call", 3), ("advertising", 2),
                  ("partner", 2), ("walk_in", 1))
# Spend by calendar month (Jan..Dec): the Spring Festival dip, the year-end peak.
SEASON: Final = (0.75, 0.55, 0.95, 1.0, 1.0, 1.05, 0.95, 0.9, 1.05, 1.1, 1.3, 1.5)
BIG_ACCOUNTS: Final = 6
BULK_IDS: Final = 500  # a mass change's `ids` filter takes at most 500
ORDER_BATCH: Final = 1000
TEAMS: Final = (
    ("华北销售部", (("manager.north", "王建国", "sales_manager"), ("rep.north1", "李娜", "sales_rep"),
                   ("rep.north2", "张伟", "sales_rep"))),
    ("华东销售部", (("manager.east", "陈晓东", "sales_manager"), ("rep.east1", "刘洋", "sales_rep"),
                   ("rep.east2", "赵敏", "sales_rep"))),
)
SERVICE_USER: Final = ("service", "周静", "customer_service")
# Auto-tag rules (tagging applies them to every customer created after them): tag, field, operator, value.
# Tags by category key (the four built-in categories), each with the rule that applies it:
# a field rule (basic information) or a condition tree (value, behaviour). Rules exist before the
# customers and orders arrive, so events tag them as they are seeded (no extra pass).
TAG_RULES: Final = (("金融行业", "#2563eb", "industry", "equals", "金融"),
                    ("华东客户", "#059669", "region", "contains", "华东"),
                    ("制造业客户", "#d97706", "industry", "equals", "制造业"))
CONDITION_RULES: Final[tuple[tuple[str, str, str, str, dict[str, Any]], ...]] = (
    ("高价值", "#b91c1c", "value", "单笔订单满 10 万即高价值",
     {"metric": "order_amount", "op": "gte", "value": "100000"}),
    ("近30天下单", "#7c3aed", "behaviour", "近 30 天有订单",
     {"metric": "orders_30d", "op": "gte", "value": 1}),
    ("流失风险", "#f59e0b", "behaviour", "60 天无互动即流失风险",
     {"metric": "days_since_last_interaction", "op": "gte", "value": 60}),
)
PREFERENCE_TAGS: Final = (("偏好电话联系", "#0891b2"), ("关注价格", "#64748b"))
VIP_TAG: Final = ("VIP", "#dc2626")
# Shared segments of the demo tenant (docs/tagging.md, "Segments"), by tag name.
SEGMENTS: Final[tuple[tuple[str, dict[str, Any]], ...]] = (
    ("重点客户（VIP 或高价值）", {"tags": {"any": ["VIP", "高价值"]}}),
    ("近30天未下单的重点客户", {"tags": {"any": ["VIP", "高价值"]}, "orders_30d": {"max": 0}}),
    ("近一年消费 10 万以上且无流失风险", {"tags": {"none": ["流失风险"]}, "spend_12m": {"min": "100000"}}),
)
FOLLOWED_UP_SHARE: Final = 0.2
FOLLOWUP_METHODS: Final = (("phone", 5), ("visit", 2), ("email", 2), ("online_meeting", 1))
FOLLOWUP_RESULTS: Final = (("interested", 3), ("needs_followup", 4), ("not_interested", 1))
FOLLOWUP_NOTES: Final = ("电话沟通了采购计划，对方关注价格和交付周期。", "上门拜访，演示了新版本功能，客户反馈积极。",
                         "发送了报价单，等待对方内部审批。", "线上会议讨论实施方案，需要补充技术资料。",
                         "客户暂无预算，约定下季度再联系。")
NEXT_ACTIONS: Final = ("回访确认报价", "发送技术方案", "约见采购负责人", "跟进合同条款")
# Customer feedback over the last two years (docs/followups.md, "Feedback"): on about a quarter of the
# customers, one to three each, rating-led texts (sentiment is computed by followups), and NPS answers
# from an earlier survey tool (channel survey) on about a tenth.
FEEDBACK_SHARE: Final = 0.25
NPS_SHARE: Final = 0.1
FEEDBACK_BATCH: Final = 500
DEMO_SURVEYS: Final = 6
FEEDBACK_CHANNELS: Final = (("phone", 5), ("email", 3), ("online_review", 2), ("survey", 2))
FEEDBACK_CATEGORIES: Final = (("service", 5), ("product", 5), ("price", 3), ("other", 1))
RATINGS: Final = (("5", 5), ("4", 6), ("3", 3), ("2", 2), ("1", 1))
FEEDBACK_TEXTS: Final = {
    5: ("产品质量很好，我们很满意。", "客服响应非常及时，问题当天就解决了。", "合作很愉快，明年继续采购。",
        "Great product, it saved our sales team hours every week."),
    4: ("整体不错，交货准时，沟通顺畅。", "设备运行稳定，效率提升明显。",
        "The new version is faster and easier to use."),
    3: ("", "请把下个季度的价格表发给我。", "还可以，希望培训再详细一些。"),
    2: ("交货又延迟了，也没人通知我们。", "价格太贵了，比别家高很多。",
        "The invoice was wrong and it took a month to fix."),
    1: ("产品用了两个星期就坏了，很失望。", "客服一直不回邮件，太让人失望了。",
        "Terrible support, nobody called back."),
}
NPS_SCORES: Final = (("10", 3), ("9", 4), ("8", 3), ("7", 2), ("6", 1), ("5", 1), ("3", 1))


@dataclass(frozen=True)
class CustomerPlan:
    first_contact: date
    source: str
    owner: int  # index into the owners list
    final_status: str  # potential | intent | won | lost
    created_status: str  # the status it is created with; the mass changes move it on
    big: bool
    currency: str


def _weighted(rng: random.Random, pairs: Iterable[tuple[str, int]]) -> str:
    names, weights = zip(*pairs, strict=True)
    return rng.choices(names, weights=weights)[0]


def plan_customers(count: int, owners: int, today: date, international: Callable[[int], bool],
                   seed: int = 11) -> list[CustomerPlan]:
    """Older customers are further along: a customer first contacted two years ago is more likely
    won (or lost) than one contacted last month. More customers in recent months (a growing business)."""
    rng = random.Random(seed)
    plans: list[CustomerPlan] = []
    big = set(rng.sample(range(count), BIG_ACCOUNTS))
    for index in range(count):
        age = int(DAYS * (1 - math.sqrt(rng.random())))  # denser toward today
        maturity = min(1.0, age / 540)
        if index in big:
            final = "won"
        else:
            final = _weighted(rng, (("potential", int(60 - 45 * maturity)), ("intent", 22),
                                    ("won", int(10 + 38 * maturity)), ("lost", int(6 + 14 * maturity))))
        created = {"potential": "potential", "intent": "potential", "won": "intent", "lost": "potential"}[final]
        if final == "won" and rng.random() < 0.2:
            created = "won"  # signed on the first visit
        plans.append(CustomerPlan(
            first_contact=today - timedelta(days=age), source=_weighted(rng, SOURCES),
            owner=rng.randrange(owners), final_status=final, created_status=created, big=index in big,
            currency="USD" if international(index) else "CNY",
        ))
    return plans


def plan_orders(plans: list[CustomerPlan], codes: list[str], today: date, seed: int = 12) -> list[dict[str, Any]]:
    """Orders of won customers from a month after first contact to today (and a trial order for some
    in intent): about one every 45 days, amounts log-normal per customer, big accounts ~20x, months
    weighted by `SEASON`."""
    rng = random.Random(seed)
    orders: list[dict[str, Any]] = []
    for index, (plan, code) in enumerate(zip(plans, codes, strict=True)):
        if plan.final_status == "won" or (plan.final_status == "lost" and rng.random() < 0.4):
            start = plan.first_contact + timedelta(days=30)
            count = max(1, int((today - start).days / rng.uniform(30, 70)))
        elif plan.final_status == "intent" and rng.random() < 0.25:
            start, count = plan.first_contact + timedelta(days=10), 1
        else:
            continue
        if start > today:
            start = plan.first_contact
        # A lost customer stopped ordering some months ago (churn shows).
        end = today if plan.final_status != "lost" else max(start, today - timedelta(days=rng.randint(120, 400)))
        base = rng.lognormvariate(math.log(8000), 0.8) * (20 if plan.big else 1)
        span = max(1, (end - start).days)
        made = 0
        attempts = 0
        while made < count and attempts < count * 6:
            attempts += 1
            day = start + timedelta(days=rng.randrange(span + 1))
            if rng.random() > SEASON[day.month - 1] / max(SEASON):
                continue
            amount = Decimal(str(round(base * rng.uniform(0.5, 1.6), 2)))
            orders.append({"external_id": f"DEMO-{index}-{made}", "customer_code": code, "amount": str(amount),
                           "currency": plan.currency, "ordered_on": day.isoformat(),
                           "status": "paid" if rng.random() < 0.85 else "confirmed"})
            made += 1
    return orders


def plan_followups(customers: list[tuple[str, str]], now: datetime, seed: int = 13) -> list[dict[str, Any]]:
    """Follow-up records for (customer id, owner id) pairs: one to three each over the last 120 days,
    oldest first; a customer's last one (unless "not interested") names a next follow-up between five
    days ago (overdue) and two weeks ahead, which becomes the owner's open task."""
    rng = random.Random(seed)
    records: list[dict[str, Any]] = []
    for customer_id, owner_id in customers:
        if rng.random() >= FOLLOWED_UP_SHARE:
            continue
        count = rng.randint(1, 3)
        times = sorted(now - timedelta(days=rng.uniform(1, 120), hours=rng.uniform(0, 8)) for _ in range(count))
        for number, at in enumerate(times, 1):
            result = _weighted(rng, FOLLOWUP_RESULTS)
            record: dict[str, Any] = {
                "customer_id": customer_id, "followed_by": owner_id, "followed_at": at.isoformat(timespec="seconds"),
                "method": _weighted(rng, FOLLOWUP_METHODS), "result": result, "content": rng.choice(FOLLOWUP_NOTES)}
            if number == len(times) and result != "not_interested":
                next_at = now.replace(hour=10, minute=0, second=0, microsecond=0) + timedelta(days=rng.randint(-5, 14))
                record |= {"next_followup_at": next_at.isoformat(timespec="seconds"),
                           "next_action": rng.choice(NEXT_ACTIONS)}
            records.append(record)
    return records


def plan_feedback(customers: list[str], now: datetime, seed: int = 14) -> list[dict[str, Any]]:
    """`POST /v1/feedback:batch-create` items for customer ids, spread over the last 730 days, oldest
    first, so the sentiment trend and the CSAT / NPS panels have two years of history."""
    rng = random.Random(seed)
    items: list[dict[str, Any]] = []
    for customer_id in customers:
        if rng.random() < FEEDBACK_SHARE:
            for _ in range(rng.randint(1, 3)):
                rating = int(_weighted(rng, RATINGS))
                channel = _weighted(rng, FEEDBACK_CHANNELS)
                at = now - timedelta(days=rng.uniform(0, 730), hours=rng.uniform(0, 10))
                items.append({"customer_id": customer_id, "channel": channel,
                              "category": _weighted(rng, FEEDBACK_CATEGORIES), "rating": rating,
                              "text": rng.choice(FEEDBACK_TEXTS[rating]),
                              "received_at": at.isoformat(timespec="seconds")})
        if rng.random() < NPS_SHARE:
            at = now - timedelta(days=rng.uniform(0, 730))
            items.append({"customer_id": customer_id, "channel": "survey", "category": "service",
                          "nps_score": int(_weighted(rng, NPS_SCORES)),
                          "received_at": at.isoformat(timespec="seconds")})
    items.sort(key=lambda item: str(item["received_at"]))
    return items


class SeedFailed(RuntimeError):
    pass


def _ok(reply: httpx.Response, *expected: int) -> Any:
    if reply.status_code not in (expected or (200, 201)):
        raise SeedFailed(f"{reply.request.method} {reply.request.url.path}: {reply.status_code} {reply.text[:300]}")
    return reply.json()


class DemoHistory:
    """Sends the plans with the demo admin's token (users, teams, tags need an admin)."""

    def __init__(self, http: httpx.Client, token: str, slug: str, password: str):
        self.http, self.slug, self.password = http, slug, password
        self.headers = {"Authorization": f"Bearer {token}"}

    def post(self, path: str, body: Any, *expected: int) -> Any:
        return _ok(post_idempotent(self.http, path, body, self.headers, str(uuid.uuid4())), *expected)

    def organisation(self) -> list[dict[str, str]]:
        """Two teams with a manager and two reps each, and a customer-service user. Returns the
        owners (id, name) customers are spread over; every user signs in with the demo password
        and is asked to choose their own on first sign-in."""
        owners: list[dict[str, str]] = []
        for team_name, members in TEAMS:
            team = self.post("/v1/teams", {"name": team_name}, 201)
            for login, name, role in members:
                user = self.post("/v1/users", {"email": f"{login}@{self.slug}.example.com", "password": self.password,
                                               "display_name": name, "roles": [role], "team_id": team["id"]}, 201)
                owners.append({"id": user["id"], "name": name})
        login, name, role = SERVICE_USER
        self.post("/v1/users", {"email": f"{login}@{self.slug}.example.com", "password": self.password,
                                "display_name": name, "roles": [role]}, 201)
        return owners

    def categories(self) -> dict[str, str]:
        """The built-in categories' ids by key."""
        reply = _ok(self.http.get("/v1/tag-categories", headers=self.headers))
        return {c["key"]: c["id"] for c in reply["items"] if c.get("key")}

    def tag_rules(self) -> None:
        """Tags in the four categories and the rules that apply them."""
        categories = self.categories()
        for tag_name, color, field, operator, value in TAG_RULES:
            tag = self.post("/v1/tags", {"name": tag_name, "color": color, "category_id": categories["basic"]}, 201)
            self.post("/v1/tag-rules", {"tag_id": tag["id"], "field": field, "operator": operator, "value": value},
                      201)
        for tag_name, color, category, rule_name, conditions in CONDITION_RULES:
            tag = self.post("/v1/tags", {"name": tag_name, "color": color, "category_id": categories[category]}, 201)
            self.post("/v1/tag-rules", {"tag_id": tag["id"], "name": rule_name, "conditions": conditions}, 201)
        for tag_name, color in PREFERENCE_TAGS:
            self.post("/v1/tags", {"name": tag_name, "color": color, "category_id": categories["preference"]}, 201)

    def segments(self) -> None:
        """Re-runs the time-based rules over the seeded history (the daily sweep would, at night),
        then saves the demo's shared segments."""
        for rule in _ok(self.http.get("/v1/tag-rules", headers=self.headers))["items"]:
            if rule.get("time_based"):
                job = self.post(f"/v1/tag-rules/{rule['id']}:rerun", None, 202)
                deadline = time.monotonic() + 120
                while job["status"] not in ("succeeded", "failed", "dead"):
                    if time.monotonic() > deadline:
                        raise SeedFailed(f"rule re-run {job['id']} did not finish")
                    time.sleep(0.3)
                    job = _ok(self.http.get(f"/v1/tag-jobs/{job['id']}", headers=self.headers))
        tags = {t["name"]: t["id"] for t in _ok(self.http.get("/v1/tags", params={"page_size": 200},
                                                              headers=self.headers))["items"]}
        for name, definition in SEGMENTS:
            parts: dict[str, list[str]] = definition.get("tags", {})
            body = {**definition, "tags": {part: [tags[n] for n in names] for part, names in parts.items()}}
            self.post("/v1/segments", {"name": name, "visibility": "shared", "definition": body}, 201)

    def move_statuses(self, moves: list[tuple[str, str]], progress: Callable[[int, int], None]) -> None:
        """(customer id, new status) through mass-change jobs of up to 500 ids each, one after another."""
        by_status: dict[str, list[str]] = {}
        for customer_id, status in moves:
            by_status.setdefault(status, []).append(customer_id)
        jobs = [(status, ids[i:i + BULK_IDS])
                for status, ids in by_status.items() for i in range(0, len(ids), BULK_IDS)]
        for number, (status, ids) in enumerate(jobs, 1):
            job = self.post("/v1/customer-bulk-changes", {
                "filter": {"ids": ",".join(ids)}, "set": {"status": status, "reason": "演示数据：历史进展"}}, 201, 202)
            deadline = time.monotonic() + 120
            while job["status"] not in ("succeeded", "cancelled"):
                if time.monotonic() > deadline:
                    raise SeedFailed(f"mass change {job['id']} did not finish")
                time.sleep(0.3)
                job = _ok(self.http.get(f"/v1/customer-bulk-changes/{job['id']}", headers=self.headers))
            if job["failed"]:
                raise SeedFailed(f"mass change to {status}: {job['failed']} failed ({job['failures'][:3]})")
            progress(number, len(jobs))

    def orders(self, orders: list[dict[str, Any]], progress: Callable[[int, int], None]) -> None:
        for start in range(0, len(orders), ORDER_BATCH):
            reply = self.post("/v1/orders:batch-upsert", {"orders": orders[start:start + ORDER_BATCH]}, 200, 207)
            failed = [r for r in reply.get("results", []) if r.get("errors")]
            if failed:
                raise SeedFailed(f"orders refused: {failed[:3]}")
            progress(min(start + ORDER_BATCH, len(orders)), len(orders))

    def followups(self, records: list[dict[str, Any]], progress: Callable[[int, int], None]) -> None:
        """One request a record (there is no batch path for records), eight at a time."""
        done = {"n": 0}

        def send(record: dict[str, Any]) -> None:
            self.post("/v1/followup-records", record, 201)
            done["n"] += 1
            progress(done["n"], len(records))

        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(send, records))

    def feedback(self, items: list[dict[str, Any]], progress: Callable[[int, int], None]) -> None:
        """The feedback history through the batch path (500 a request), then a few real CSAT surveys
        mailed to customers (to the local SMTP server: their links are in /app/dev/mail)."""
        for start in range(0, len(items), FEEDBACK_BATCH):
            self.post("/v1/feedback:batch-create", {"items": items[start:start + FEEDBACK_BATCH]}, 201)
            progress(min(start + FEEDBACK_BATCH, len(items)), len(items))
        for item in items[-DEMO_SURVEYS:]:
            self.post("/v1/surveys", {"customer_id": item["customer_id"], "kind": "csat"}, 201)

    def vip(self, customer_ids: list[str]) -> None:
        tag = self.post("/v1/tags", {"name": VIP_TAG[0], "color": VIP_TAG[1],
                                     "category_id": self.categories()["value"]}, 201)
        # Cadences and automation (docs/followups.md): a quarterly visit while a customer is VIP,
        # escalated to the team's manager a week overdue; a signed contract means won.
        self.post("/v1/cadence-rules", {"tag_id": tag["id"], "due_in_days": 14, "title": "大客户季度拜访",
                                        "rrule": "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=1;BYHOUR=9;BYMINUTE=0;BYSECOND=0",
                                        "escalate_after_days": 7}, 201)
        self.post("/v1/automation-rules", {"name": "签订合同即成交", "trigger": "order_recorded",
                                           "trigger_value": "contract", "action": "set_status", "status": "won",
                                           "reason": "contract signed"}, 201)
        for customer_id in customer_ids:  # the few big accounts
            self.post(f"/v1/customers/{customer_id}/tags", {"tag_id": tag["id"]}, 200, 201)
