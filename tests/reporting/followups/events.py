"""Follow-up, task and feedback events as followups publishes them, and a world of them over the
dashboard tests' customers (tests/reporting/dashboards/test_panels.py `World`)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from crm_platform.events import CloudEvent, event_type, proto_data
from crm_proto.crm.events.v1 import events_pb2
from crm_proto.crm.followups.v1 import feedback_pb2, followups_pb2
from crm_reporting.dashboards.audience import add_months
from tests.reporting.dashboards.test_panels import REP_A, REP_B, TODAY, World, at
from tests.reporting.reporting_events import timestamp

# The names followups' default `method` dictionary gives these codes, as its events carry them.
METHOD_NAMES: dict[str, tuple[str, str]] = {"phone": ("Phone", "电话"), "visit": ("Visit", "拜访"),
                                            "email": ("Email", "邮件")}


def record_event(tenant: uuid.UUID, cid: uuid.UUID, by: str, day: date, *, method: str = "phone",
                 result: str = "interested", record_id: uuid.UUID | None = None) -> CloudEvent:
    record = followups_pb2.Record(id=str(record_id or uuid.uuid4()), number="F1", customer_id=str(cid),
                                  followed_at=timestamp(at(day)), method=method, result=result, followed_by=by,
                                  created_at=timestamp(at(day)), created_by=by)
    method_en, method_zh = METHOD_NAMES.get(method, ("", ""))
    return CloudEvent.new(source="followups", type=event_type("followup_record", "created"), tenant_id=tenant,
                          data=proto_data(events_pb2.FollowupRecordCreated(record=record, method_en=method_en,
                                                                           method_zh=method_zh)),
                          subject=str(cid))


def task_event(tenant: uuid.UUID, cid: uuid.UUID, assignee: str, due: datetime, *, verb: str = "created",
               status: str = "open", task_id: uuid.UUID | None = None) -> CloudEvent:
    task = followups_pb2.Task(id=str(task_id or uuid.uuid4()), customer_id=str(cid), title="call", status=status,
                              due_at=timestamp(due), assignee_id=assignee)
    message = {"created": events_pb2.FollowupTaskCreated, "completed": events_pb2.FollowupTaskCompleted,
               "updated": events_pb2.FollowupTaskUpdated}[verb](task=task)
    return CloudEvent.new(source="followups", type=event_type("followup_task", verb), tenant_id=tenant,
                          data=proto_data(message), subject=str(cid))


def feedback_event(tenant: uuid.UUID, cid: uuid.UUID, day: date, *, rating: int = 0, nps: int = -1,
                   channel: str = "phone", category: str = "service", sentiment: str = "") -> CloudEvent:
    feedback = feedback_pb2.Feedback(id=str(uuid.uuid4()), customer_id=str(cid), channel=channel, category=category,
                                     rating=rating, nps_score=nps, sentiment=sentiment, received_at=timestamp(at(day)),
                                     survey_kind="nps" if nps >= 0 else "")
    return CloudEvent.new(source="followups", type=event_type("feedback", "created"), tenant_id=tenant,
                          data=proto_data(feedback_pb2.FeedbackCreated(feedback=feedback)))


def merge_event(tenant: uuid.UUID, merge_id: uuid.UUID, survivor: uuid.UUID, merged: list[uuid.UUID], *,
                undo: bool = False) -> CloudEvent:
    message = (events_pb2.CustomerUnmerged if undo else events_pb2.CustomerMerged)(
        merge_id=str(merge_id), survivor_id=str(survivor), merged_ids=[str(m) for m in merged])
    return CloudEvent.new(source="customers", type=event_type("customer", "unmerged" if undo else "merged"),
                          tenant_id=tenant, data=proto_data(message), subject=str(survivor))


def last_month_day() -> date:
    return add_months(TODAY.replace(day=1), -1) + timedelta(days=3)


class FollowupWorld:
    """Over `World`'s customers (rep A: c1, c2; rep B: c3; c4 deleted): follow-up records this month
    (rep A on c1 twice and c2 once; rep B on c3; one on the deleted c4), last month (rep A on c1) and
    a year and a half ago (rep B on c3); tasks open and overdue (c1, c3, c4), open and due later
    (c2), done and past due (c1); feedback with ratings and NPS answers."""

    def __init__(self, world: World):
        t = world.tenant
        now = datetime.now(UTC)
        self.world = world
        self.overdue_task = uuid.uuid4()
        self.events = [
            record_event(t, world.c1, REP_A, TODAY),
            record_event(t, world.c1, REP_A, TODAY, method="visit", result="won"),
            record_event(t, world.c2, REP_A, TODAY, method="email"),
            record_event(t, world.c3, REP_B, TODAY, method="visit"),
            record_event(t, world.c4, REP_B, TODAY),
            record_event(t, world.c1, REP_A, last_month_day()),
            record_event(t, world.c3, REP_B, add_months(TODAY, -18)),
            task_event(t, world.c1, REP_A, now - timedelta(days=3), task_id=self.overdue_task),
            task_event(t, world.c3, REP_B, now - timedelta(days=1)),
            task_event(t, world.c4, REP_B, now - timedelta(days=1)),
            task_event(t, world.c2, REP_A, now + timedelta(days=2)),
            task_event(t, world.c1, REP_A, now - timedelta(days=5), verb="completed", status="done"),
            feedback_event(t, world.c1, TODAY, rating=5, sentiment="positive"),
            feedback_event(t, world.c1, TODAY, rating=2, sentiment="negative", category="price"),
            feedback_event(t, world.c2, TODAY, nps=10, channel="survey"),
            feedback_event(t, world.c3, TODAY, nps=3, channel="survey"),
            feedback_event(t, world.c3, TODAY, rating=4),
        ]
