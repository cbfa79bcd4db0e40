"""/v1/followup-sla: the share of cadence tasks done on time, per rep and per team, in the viewer's
data scope (a rep sees themselves, a manager their team, an admin everyone; docs/followups.md "SLA")."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from google.protobuf.timestamp_pb2 import Timestamp
from pydantic import AwareDatetime

from crm_gateway.api.common import BackendsDep, CallerDep, Resource, operation, timestamp
from crm_platform.auth import Scope
from crm_proto.crm.followups.v1 import automation_pb2 as apb

router = APIRouter(prefix="/v1/followup-sla", tags=["follow-ups"])


class SlaLine(Resource):
    id: str
    total: int
    on_time: int
    late: int
    overdue_open: int
    on_time_share: float


class FollowupSla(Resource):
    since: datetime | None
    until: datetime | None
    reps: list[SlaLine]
    teams: list[SlaLine]
    overall: SlaLine


def _line(m: apb.SlaLine) -> SlaLine:
    return SlaLine(id=m.id, total=m.total, on_time=m.on_time, late=m.late, overdue_open=m.overdue_open,
                   on_time_share=round(m.on_time_share, 4))


def _stamp(value: datetime | None) -> Timestamp | None:
    if value is None:
        return None
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


@router.get(
    "",
    response_model=FollowupSla,
    **operation(operation_id="getFollowupSla", summary="Cadence task SLA per rep and team",
                scopes=[Scope.FOLLOWUPS_READ], errors=[400],
                description="Tasks made by cadence rules completed in [since, until), on time or late, and open "
                            "ones that fell due in it and are overdue (default: the last 90 days). Cancelled tasks "
                            "and tasks not due yet are not counted. `id` is the assignee's user id (reps) or team "
                            "id (teams)."),
)
async def get_followup_sla(
    caller: CallerDep, services: BackendsDep,
    since: Annotated[AwareDatetime | None, Query(description="Start of the window")] = None,
    until: Annotated[AwareDatetime | None, Query(description="End of the window (exclusive)")] = None,
) -> FollowupSla:
    reply = await caller.call(services.followup_automation.GetCadenceSla,
                              apb.GetCadenceSlaRequest(since=_stamp(since), until=_stamp(until)))
    return FollowupSla(since=timestamp(reply.since), until=timestamp(reply.until), reps=[_line(x) for x in reply.reps],
                       teams=[_line(x) for x in reply.teams], overall=_line(reply.overall))
