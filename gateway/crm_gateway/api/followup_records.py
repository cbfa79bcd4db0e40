"""/v1/followup-records and /v1/followup-dictionaries (followups). Data scope is the followups
service's (docs/followups.md): a record, task or customer outside the caller's scope is a 404 like a
missing one."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import AwareDatetime, Field

from crm_gateway.api.common import (
    WRITE_ERRORS,
    BackendsDep,
    CallerDep,
    ItemList,
    Multiline,
    Name,
    Page,
    PageQuery,
    RequestBody,
    Resource,
    operation,
    page,
    timestamp,
)
from crm_gateway.api.followup_tasks import _timestamp
from crm_platform.auth import Scope
from crm_proto.crm.followups.v1 import followups_pb2 as pb

router = APIRouter(prefix="/v1/followup-records", tags=["follow-ups"])
dictionaries = APIRouter(prefix="/v1/followup-dictionaries", tags=["follow-ups"])


class FollowupRecord(Resource):
    id: str
    number: str = Field(description="From the tenant's pattern, e.g. 20240320001")
    customer_id: str
    followed_at: datetime | None
    method: str = Field(description="A code of the tenant's method dictionary")
    content: str
    result: str = Field(description="A code of the tenant's result dictionary")
    next_followup_at: datetime | None
    followed_by: str = Field(description='The user who followed up ("client:<id>" for an API client)')
    task_id: str = Field(description="The task this record completed")
    next_task_id: str = Field(description="The task created for the next follow-up")
    created_at: datetime | None
    created_by: str


def record_out(message: Any) -> FollowupRecord:
    return FollowupRecord(
        id=message.id, number=message.number, customer_id=message.customer_id,
        followed_at=timestamp(message.followed_at), method=message.method, content=message.content,
        result=message.result,
        next_followup_at=timestamp(message.next_followup_at) if message.HasField("next_followup_at") else None,
        followed_by=message.followed_by, task_id=message.task_id, next_task_id=message.next_task_id,
        created_at=timestamp(message.created_at), created_by=message.created_by,
    )


class FollowupRecordCreate(RequestBody):
    customer_id: str
    followed_at: AwareDatetime | None = Field(None, description="When it happened (default now; not in the future)")
    method: str = Field(description="A code of the method dictionary")
    content: Multiline = Field(description="What was said (up to 10,000 characters)")
    result: str = Field(description="A code of the result dictionary")
    next_followup_at: AwareDatetime | None = Field(None, description="Creates the next task at this time")
    next_method: str = Field("", description="The next task's method (default: this record's)")
    next_action: Name = Field("", description="What to do next: the next task's title")
    next_assignee_id: str = Field("", description="The next task's assignee (default: who followed up)")
    task_id: str = Field("", description="Completes this open task of the same customer")
    followed_by: str = Field("", description="Default you; another user needs `followups:manage`")


class FollowupRecordQuery(PageQuery):
    customer_id: str = Field("", description="Only this customer's records")
    followed_by: str = Field("", description='Only records of this user; "me" for yourself')
    since: AwareDatetime | None = Field(None, description="Followed up at or after")
    until: AwareDatetime | None = Field(None, description="Followed up before")


@router.get(
    "",
    response_model=Page[FollowupRecord],
    **operation(operation_id="listFollowupRecords", summary="List follow-up records",
                scopes=[Scope.FOLLOWUPS_READ], errors=[400],
                description="Records of customers in your data scope, newest first."),
)
async def list_records(query: Annotated[FollowupRecordQuery, Query()], caller: CallerDep,
                       services: BackendsDep) -> Page[FollowupRecord]:
    reply = await caller.call(services.followups.ListRecords, pb.ListRecordsRequest(
        customer_id=query.customer_id, followed_by=query.followed_by, since=_timestamp(query.since),
        until=_timestamp(query.until), page_size=query.size, page_token=query.page_token))
    return page([record_out(r) for r in reply.items], reply.next_page_token)


@router.post(
    "",
    response_model=FollowupRecord,
    **operation(operation_id="createFollowupRecord", summary="Log a follow-up", scopes=[Scope.FOLLOWUPS_WRITE],
                errors=[*WRITE_ERRORS, 404], status_code=201,
                description="With `task_id`, completes that task; with `next_followup_at`, creates the next task. "
                            "Emits `crm.followup_record.created` (the customer timeline shows it)."),
)
async def create_record(body: FollowupRecordCreate, response: Response, caller: CallerDep,
                        services: BackendsDep) -> FollowupRecord:
    reply = await caller.call(services.followups.CreateRecord, pb.CreateRecordRequest(
        customer_id=body.customer_id, followed_at=_timestamp(body.followed_at), method=body.method,
        content=body.content, result=body.result, next_followup_at=_timestamp(body.next_followup_at),
        next_method=body.next_method, next_action=body.next_action, next_assignee_id=body.next_assignee_id,
        task_id=body.task_id, followed_by=body.followed_by))
    response.headers["Location"] = f"{router.prefix}/{reply.id}"
    return record_out(reply)


@router.get(
    "/{record_id}",
    response_model=FollowupRecord,
    **operation(operation_id="getFollowupRecord", summary="Get a follow-up record", scopes=[Scope.FOLLOWUPS_READ],
                errors=[400, 404]),
)
async def get_record(record_id: str, caller: CallerDep, services: BackendsDep) -> FollowupRecord:
    return record_out(await caller.call(services.followups.GetRecord, pb.GetRecordRequest(id=record_id)))


class FollowupDictionaryEntry(Resource):
    code: str
    label_en: str
    label_zh: str


class FollowupDictionaryEntryIn(RequestBody):
    code: str
    label_en: Name
    label_zh: Name


class FollowupDictionaryReplace(RequestBody):
    entries: list[FollowupDictionaryEntryIn]


def dictionary_out(message: Any) -> ItemList[FollowupDictionaryEntry]:
    return ItemList(items=[FollowupDictionaryEntry(code=e.code, label_en=e.label_en, label_zh=e.label_zh)
                           for e in message.entries])


@dictionaries.get(
    "/{name}",
    response_model=ItemList[FollowupDictionaryEntry],
    **operation(operation_id="getFollowupDictionary", summary="A follow-up dictionary (method or result)",
                scopes=[Scope.FOLLOWUPS_READ], errors=[404]),
)
async def get_dictionary(name: str, caller: CallerDep, services: BackendsDep) -> ItemList[FollowupDictionaryEntry]:
    return dictionary_out(await caller.call(services.followups.GetDictionary, pb.GetDictionaryRequest(name=name)))


@dictionaries.put(
    "/{name}",
    response_model=ItemList[FollowupDictionaryEntry],
    **operation(operation_id="replaceFollowupDictionary", summary="Replace a follow-up dictionary",
                scopes=[Scope.FOLLOWUPS_MANAGE], errors=[*WRITE_ERRORS, 404],
                description="Records and tasks keep the codes they hold."),
)
async def replace_dictionary(name: str, body: FollowupDictionaryReplace, caller: CallerDep,
                             services: BackendsDep) -> ItemList[FollowupDictionaryEntry]:
    reply = await caller.call(services.followups.ReplaceDictionary, pb.ReplaceDictionaryRequest(
        name=name, entries=[pb.DictionaryEntry(code=e.code, label_en=e.label_en, label_zh=e.label_zh)
                            for e in body.entries]))
    return dictionary_out(reply)
