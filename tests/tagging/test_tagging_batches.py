"""Batch tagging through the real gRPC edge and job handlers (docs/tagging.md, "Batch tagging"):
progress in chunks, the limit and data scope applied (others skipped), exactly-its-own undo."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta

import grpc
from joserfc.jwk import ECKey
from nats.aio.client import Client as NATS
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_platform import jobs
from crm_platform.consumer import EventConsumer
from crm_platform.grpc_client import call_metadata
from crm_platform.ids import new_id
from crm_proto.crm.tagging.v1 import tagging_pb2 as pb
from crm_proto.crm.tagging.v1 import tagging_pb2_grpc
from crm_tagging import access
from crm_tagging.batch import service as batch_module
from crm_tagging.batch.service import BatchService
from crm_tagging.tag.service import TagService
from tests.support import Customers, access_token
from tests.tagging.test_tagging_api import field_errors, rejected
from tests.tagging.test_tagging_rules import customer_event

TokenFor = Callable[[uuid.UUID, list[str]], tuple[tuple[str, str], ...]]
Stub = tagging_pb2_grpc.TaggingServiceStub
MANAGE = ["tags:manage", "tags:read"]
WRITER = ["customers:write", "tags:read"]


async def run_jobs(engine: AsyncEngine, service: BatchService, kind: str) -> None:
    handler = service.runner(engine) if kind == batch_module.BATCH_JOB else service.undo_runner(engine)
    for job in await jobs.claim(engine, [kind], 50, timedelta(minutes=1)):
        await jobs.complete(engine, job.id, await handler(job))


async def names(tagging: Stub, md: tuple[tuple[str, str], ...], customer: uuid.UUID) -> list[str]:
    reply = await tagging.ListCustomerTags(pb.ListCustomerTagsRequest(customer_id=str(customer)), metadata=md)
    return sorted(t.tag_name for t in reply.items)


async def test_a_batch_adds_in_chunks_respects_the_limit_and_undoes_only_its_changes(
    tagging: Stub, engine: AsyncEngine, tenant_id: uuid.UUID, token_for: TokenFor, tag_service: TagService,
    monkeypatch: object,
) -> None:
    md, hand = token_for(tenant_id, MANAGE), token_for(tenant_id, WRITER)
    await tagging.UpdateTaggingSettings(pb.UpdateTaggingSettingsRequest(max_tags_per_customer=1), metadata=md)
    vip = await tagging.CreateTag(pb.CreateTagRequest(name="VIP"), metadata=md)
    other = await tagging.CreateTag(pb.CreateTagRequest(name="Other"), metadata=md)
    customers = [new_id() for _ in range(5)]
    full, had_it = customers[0], customers[1]
    await tagging.ApplyCustomerTag(pb.ApplyCustomerTagRequest(customer_id=str(full), tag_id=other.id), metadata=hand)
    await tagging.ApplyCustomerTag(pb.ApplyCustomerTagRequest(customer_id=str(had_it), tag_id=vip.id), metadata=hand)
    setattr(batch_module, "CHUNK", 2)  # noqa: B010 - several chunks with few customers

    try:
        batch = await tagging.StartTagBatch(pb.StartTagBatchRequest(
            action="add", tag_ids=[vip.id], customer_ids=[str(c) for c in customers]), metadata=hand)
        assert (batch.status, batch.total, batch.done) == ("running", 5, 0)
        service = BatchService(tag_service)
        await run_jobs(engine, service, batch_module.BATCH_JOB)
    finally:
        setattr(batch_module, "CHUNK", 200)  # noqa: B010
    done = await tagging.GetTagBatch(pb.GetTagBatchRequest(id=batch.id), metadata=md)
    assert (done.status, done.done, done.applied, done.skipped) == ("succeeded", 5, 3, 1)
    job = await tagging.GetTagJob(pb.GetTagJobRequest(id=done.job_id), metadata=md)
    assert (job.status, job.done, job.total) == ("succeeded", 5, 5)
    assert await names(tagging, md, full) == ["Other"]  # no room

    undo = await tagging.UndoTagBatch(pb.UndoTagBatchRequest(id=batch.id), metadata=hand)
    assert undo.status == "undoing"
    again = await rejected(tagging.UndoTagBatch(pb.UndoTagBatchRequest(id=batch.id), metadata=hand))
    assert again.code() == grpc.StatusCode.ALREADY_EXISTS
    await run_jobs(engine, service, batch_module.UNDO_JOB)
    assert (await tagging.GetTagBatch(pb.GetTagBatchRequest(id=batch.id), metadata=md)).status == "undone"
    assert await names(tagging, md, had_it) == ["VIP"]  # it had the tag before: the undo leaves it
    assert [await names(tagging, md, c) for c in customers[2:]] == [[], [], []]


async def test_a_batch_changes_only_customers_in_the_callers_scope(
    tagging: Stub, engine: AsyncEngine, nc: NATS, tenant_id: uuid.UUID, token_for: TokenFor, signing_key: ECKey,
    customers: Customers, tag_service: TagService,
) -> None:
    md = token_for(tenant_id, MANAGE)
    vip = await tagging.CreateTag(pb.CreateTagRequest(name="VIP"), metadata=md)
    rep_a, rep_b = uuid.uuid4(), uuid.uuid4()
    scope = EventConsumer(engine, nc, access.subscriptions()[0])
    mine, theirs = new_id(), new_id()
    for customer, owner in ((mine, rep_a), (theirs, rep_b)):
        assert await scope.apply(customer_event(tenant_id, customer, owner_id=str(owner)))
        customers.declare(tenant_id, customer, owner)
    rep = call_metadata(access_token(signing_key, tenant_id, WRITER, uid=str(rep_a), ds="own"))

    batch = await tagging.StartTagBatch(pb.StartTagBatchRequest(
        action="add", tag_ids=[vip.id], customer_ids=[str(mine), str(theirs)]), metadata=rep)
    assert (batch.total, batch.skipped) == (1, 1)
    await run_jobs(engine, BatchService(tag_service), batch_module.BATCH_JOB)
    assert await names(tagging, md, mine) == ["VIP"]
    assert await names(tagging, md, theirs) == []

    bad = await rejected(tagging.StartTagBatch(pb.StartTagBatchRequest(
        action="toggle", tag_ids=[str(uuid.uuid4())], customer_ids=["x"]), metadata=rep))
    assert field_errors(bad) == [("action", "invalid_choice"), ("customer_ids", "invalid_id")]
    denied = await rejected(tagging.StartTagBatch(pb.StartTagBatchRequest(
        action="add", tag_ids=[vip.id], customer_ids=[str(mine)]), metadata=token_for(tenant_id, ["tags:read"])))
    assert denied.code() == grpc.StatusCode.PERMISSION_DENIED
