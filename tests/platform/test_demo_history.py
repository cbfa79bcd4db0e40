"""The demo seed's follow-up plan (crm_dev/demo_history.py): deterministic, about a fifth of the
customers, records in their owners' names within the last 120 days and oldest first, and next
follow-ups that leave overdue, today's and later tasks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from crm_dev.demo_history import FOLLOWUP_METHODS, FOLLOWUP_RESULTS, plan_followups


def test_the_followup_plan_gives_every_kind_of_task() -> None:
    now = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
    customers = [(f"c{i}", f"owner{i % 4}") for i in range(1000)]
    records = plan_followups(customers, now)
    assert records == plan_followups(customers, now)  # the same seed, the same demo
    followed = {r["customer_id"] for r in records}
    assert 150 <= len(followed) <= 250
    owners = dict(customers)
    assert all(r["followed_by"] == owners[r["customer_id"]] for r in records)
    assert {r["method"] for r in records} <= {m for m, _ in FOLLOWUP_METHODS}
    assert {r["result"] for r in records} <= {m for m, _ in FOLLOWUP_RESULTS}
    for r in records:
        at = datetime.fromisoformat(r["followed_at"])
        assert now - timedelta(days=121) < at < now
    days = {(datetime.fromisoformat(r["next_followup_at"]).date() - now.date()).days
            for r in records if "next_followup_at" in r}
    assert min(days) < 0 and 0 in days and max(days) > 0  # overdue, today and later
    by_customer: dict[str, list[str]] = {}
    for r in records:
        by_customer.setdefault(r["customer_id"], []).append(r["followed_at"])
    assert all(times == sorted(times) for times in by_customer.values())


def test_the_feedback_plan_spreads_ratings_channels_and_nps_over_two_years() -> None:
    from crm_dev.demo_history import FEEDBACK_BATCH, plan_feedback

    now = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    customers = [f"0190a0c2-0000-7000-8000-{n:012d}" for n in range(1000)]
    items = plan_feedback(customers, now)
    assert items == plan_feedback(customers, now)
    assert 300 < len(items) < 1000 and len(items) > FEEDBACK_BATCH  # more than one batch request
    assert {i["channel"] for i in items} == {"phone", "email", "online_review", "survey"}
    assert {i["rating"] for i in items if "rating" in i} == {1, 2, 3, 4, 5}
    nps = [i for i in items if "nps_score" in i]
    assert nps and all(i["channel"] == "survey" and 0 <= i["nps_score"] <= 10 for i in nps)
    days = {(now - datetime.fromisoformat(i["received_at"])).days for i in items}
    assert min(days) < 30 and max(days) > 600
    assert [i["received_at"] for i in items] == sorted(i["received_at"] for i in items)
