"""gRPC transport for customers: translation only."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from crm_customers.customer import repository as customer_repository
from crm_customers.customer.access import apply_field_policies
from crm_customers.customer.list_query import ListQuery
from crm_customers.customer.repository import REPLY_NAMES, REPLY_SPEND
from crm_customers.customer.schemas import sent_custom_fields, sent_fields, to_proto, ts
from crm_customers.customer.service import CustomerService
from crm_customers.duplicates.check import PossibleDuplicate
from crm_customers.fields import service as fields
from crm_customers.orders import spend
from crm_customers.owners import service as owners
from crm_customers.sensitive.service import ClientInfo
from crm_customers.settings import dictionaries
from crm_customers.settings import service as settings
from crm_platform.auth import Scope
from crm_platform.grpc_server import Call, rpc
from crm_platform.origin import current_origin
from crm_proto.crm.customers.v1 import customers_pb2 as pb
from crm_proto.crm.customers.v1 import customers_pb2_grpc

SERVICE_NAME = "crm.customers.v1.CustomerService"


def settings_proto(value: settings.Settings) -> pb.CustomerSettings:
    return pb.CustomerSettings(
        code_pattern=value.code_pattern,
        status_transitions={k: pb.StatusTransitions(to=v) for k, v in value.status_transitions.items()},
        enforce_dictionaries=value.enforce_dictionaries,
        duplicate_policy=value.duplicate_policy,
        version=value.version,
        updated_at=ts(value.updated_at),
    )


def possible_duplicate_proto(d: PossibleDuplicate) -> pb.PossibleDuplicate:
    return pb.PossibleDuplicate(id=d.id, code=d.code, name=d.name, matched_on=d.matched_on, confidence=d.confidence,
                                outside_scope=d.outside_scope, conflicts=d.conflicts, likely=d.likely)


def with_duplicates(message: pb.Customer, found: list[PossibleDuplicate]) -> pb.Customer:
    """A create/update reply with the likely and possible duplicates the check found (duplicates/check.py)."""
    message.possible_duplicates.extend(possible_duplicate_proto(d) for d in found)
    return message


def dictionary_proto(value: dictionaries.Dictionary) -> pb.Dictionary:
    return pb.Dictionary(
        name=value.name,
        entries=[pb.DictionaryEntry(code=e.code, label=e.label, parent=e.parent, path=e.path, label_en=e.label_en,
                                    label_zh=e.label_zh) for e in value.entries],
    )


def field_proto(value: fields.FieldDef) -> pb.CustomerField:
    return pb.CustomerField(
        key=value.key, label=value.label, type=value.type, required=value.required, options=list(value.options),
        pattern=value.pattern, min=value.min, max=value.max, version=value.version,
        created_at=ts(value.created_at), updated_at=ts(value.updated_at),
    )


def field_changes(message: pb.CustomerFieldInput) -> fields.FieldChanges:
    def opt(name: str) -> Any:
        return getattr(message, name) if message.HasField(name) else None

    return fields.FieldChanges(
        key=opt("key"), label=opt("label"), type=opt("type"), required=opt("required"),
        options=list(message.options) if message.options_set else None, pattern=opt("pattern"), min=opt("min"),
        max=opt("max"),
    )


def list_filters(request: pb.ListCustomersRequest) -> ListQuery:
    """The list's filters of a request (mass changes reuse them)."""
    return ListQuery.from_request(request)


class CustomerServicer(customers_pb2_grpc.CustomerServiceServicer):
    def __init__(self, engine: AsyncEngine, customers: CustomerService):
        self.engine = engine
        self.customers = customers
        self.owners = owners.OwnerService(customers.page_tokens)

    @classmethod
    async def _out(cls, call: Call, row: Any) -> pb.Customer:
        """Every single-customer reply, writes included, has the same shape as a read."""
        return (await cls._out_with_spend(call, [row]))[0]

    @staticmethod
    async def _out_with_spend(call: Call, rows: list[Any]) -> list[pb.Customer]:
        """Every customer reply: the contract shape with the spend figures from orders
        (orders/spend.py) and the caller's field policies applied (which may hide spend too), then
        the people's names, all read with the record (customer/repository.py reply columns): rows
        read for a reply carry them; rows just written are read again with them (one query)."""
        if rows and REPLY_SPEND not in rows[0]._fields:  # the rows of one statement: the same columns
            rows = await customer_repository.with_reply(call.session, [row.id for row in rows])
        messages = [to_proto(row) for row in rows]
        spend.attach_from(messages, [getattr(row, REPLY_SPEND) for row in rows])
        shown = [apply_field_policies(call.principal, m) for m in messages]
        owners.attach_known(shown, [{str(getattr(row, field) or ""): getattr(row, label)
                                     for field, label in REPLY_NAMES.items()} for row in rows])
        return shown

    # -- customers -------------------------------------------------------------------------

    @rpc(Scope.CUSTOMERS_WRITE)
    async def CreateCustomer(self, request: pb.CreateCustomerRequest, call: Call) -> pb.Customer:
        found: list[PossibleDuplicate] = []
        row = await self.customers.create(
            call.session, call.principal, sent_fields(request.customer), sent_custom_fields(request.customer),
            allow_duplicates=request.allow_duplicates, duplicates_found=found,
        )
        return with_duplicates(await self._out(call, row), found)

    @rpc(Scope.CUSTOMERS_READ, read_only=True)
    async def GetCustomer(self, request: pb.GetCustomerRequest, call: Call) -> pb.Customer:
        [customer] = await self._out_with_spend(call, [await self.customers.get(
            call.session, request.id, caller=call.principal, show_deleted=request.show_deleted, reply=True
        )])
        return customer

    @rpc(Scope.CUSTOMERS_READ, read_only=True)
    async def ListCustomers(self, request: pb.ListCustomersRequest, call: Call) -> pb.ListCustomersResponse:
        rows, next_token = await self.customers.list(
            call.session,
            caller=call.principal,
            size=request.page_size,
            token=request.page_token,
            order_by=request.order_by,
            query=list_filters(request),
            reply=True,
        )
        reply = pb.ListCustomersResponse(items=await self._out_with_spend(call, rows), next_page_token=next_token)
        if request.include_total:
            reply.total_size, reply.total_size_capped = await self.customers.count_upto(
                call.session, caller=call.principal, query=list_filters(request))
        return reply

    @rpc(Scope.CUSTOMERS_WRITE)
    async def UpdateCustomer(self, request: pb.UpdateCustomerRequest, call: Call) -> pb.Customer:
        found: list[PossibleDuplicate] = []
        row = await self.customers.update(
            call.session, call.principal, request.id, sent_fields(request.customer), request.expected_version,
            sent_custom_fields(request.customer), allow_duplicates=request.allow_duplicates, duplicates_found=found,
        )
        return with_duplicates(await self._out(call, row), found)

    @rpc(Scope.CUSTOMERS_WRITE)
    async def DeleteCustomer(self, request: pb.DeleteCustomerRequest, call: Call) -> pb.Customer:
        row = await self.customers.delete(call.session, call.principal, request.id, request.expected_version)
        return await self._out(call, row)

    @rpc(Scope.CUSTOMERS_WRITE)
    async def RestoreCustomer(self, request: pb.RestoreCustomerRequest, call: Call) -> pb.Customer:
        return await self._out(call, await self.customers.restore(call.session, call.principal, request.id))

    @rpc(Scope.CUSTOMERS_WRITE)
    async def ChangeCustomerStatus(self, request: pb.ChangeCustomerStatusRequest, call: Call) -> pb.Customer:
        return await self._out(call, await self.customers.change_status(
            call.session, call.principal, request.id, request.status, request.reason, request.expected_version
        ))

    @rpc(Scope.CUSTOMERS_REVEAL)
    async def RevealCustomer(self, request: pb.RevealCustomerRequest, call: Call) -> pb.RevealCustomerResponse:
        """Where the request came from (the gateway's metadata, read once per call by the platform's
        `EdgeInterceptor`: `crm_platform.origin`) goes into the reveal audit and the event."""
        where = current_origin()
        values = await self.customers.reveal(call.session, call.principal, request.id, list(request.fields),
                                             ClientInfo(ip=where.ip, user_agent=where.user_agent))
        return pb.RevealCustomerResponse(customer_id=request.id, values=values)

    @rpc(Scope.CUSTOMERS_READ)
    async def ListStatusHistory(
        self, request: pb.ListStatusHistoryRequest, call: Call
    ) -> pb.ListStatusHistoryResponse:
        rows = await self.customers.status_history(call.session, request.id, call.principal)
        known = await owners.names(call.session, (r.changed_by for r in rows))
        return pb.ListStatusHistoryResponse(items=[
            pb.StatusChange(
                id=str(r.id), customer_id=str(r.customer_id), from_status=r.from_status, to_status=r.to_status,
                reason=r.reason, changed_by=r.changed_by, changed_at=ts(r.changed_at),
                changed_by_name=known.get(r.changed_by, ""),
            )
            for r in rows
        ])

    # -- settings and dictionaries -----------------------------------------------------------

    @rpc(Scope.CUSTOMERS_ADMIN)
    async def GetCustomerSettings(self, request: pb.GetCustomerSettingsRequest, call: Call) -> pb.CustomerSettings:
        return settings_proto(await settings.get(call.session))

    @rpc(Scope.CUSTOMERS_ADMIN)
    async def UpdateCustomerSettings(
        self, request: pb.UpdateCustomerSettingsRequest, call: Call
    ) -> pb.CustomerSettings:
        return settings_proto(await settings.update(
            call.session,
            code_pattern=request.code_pattern if request.HasField("code_pattern") else None,
            status_transitions=(
                {k: list(v.to) for k, v in request.status_transitions.items()}
                if request.replace_status_transitions else None
            ),
            enforce_dictionaries=request.enforce_dictionaries if request.HasField("enforce_dictionaries") else None,
            expected_version=request.expected_version,
            duplicate_policy=request.duplicate_policy if request.HasField("duplicate_policy") else None,
        ))

    @rpc(Scope.CUSTOMERS_READ)
    async def GetDictionary(self, request: pb.GetDictionaryRequest, call: Call) -> pb.Dictionary:
        return dictionary_proto(await dictionaries.load(call.session, request.name))

    @rpc(Scope.CUSTOMERS_ADMIN)
    async def ReplaceDictionary(self, request: pb.ReplaceDictionaryRequest, call: Call) -> pb.Dictionary:
        entries = [dictionaries.Entry(e.code, e.label, e.parent, "", e.label_en, e.label_zh) for e in request.entries]
        return dictionary_proto(await dictionaries.replace(call.session, request.name, entries))

    # -- custom field definitions --------------------------------------------------------------

    @rpc(Scope.CUSTOMERS_READ)
    async def ListCustomerFields(
        self, request: pb.ListCustomerFieldsRequest, call: Call
    ) -> pb.ListCustomerFieldsResponse:
        return pb.ListCustomerFieldsResponse(items=[field_proto(f) for f in await fields.list_all(call.session)])

    @rpc(Scope.CUSTOMERS_READ)
    async def GetCustomerField(self, request: pb.GetCustomerFieldRequest, call: Call) -> pb.CustomerField:
        return field_proto(await fields.get(call.session, request.key))

    @rpc(Scope.CUSTOMERS_ADMIN)
    async def CreateCustomerField(self, request: pb.CreateCustomerFieldRequest, call: Call) -> pb.CustomerField:
        return field_proto(await fields.create(call.session, field_changes(request.field)))

    @rpc(Scope.CUSTOMERS_ADMIN)
    async def UpdateCustomerField(self, request: pb.UpdateCustomerFieldRequest, call: Call) -> pb.CustomerField:
        return field_proto(await fields.update(
            call.session, request.key, field_changes(request.field), request.expected_version
        ))

    @rpc(Scope.CUSTOMERS_ADMIN)
    async def DeleteCustomerField(
        self, request: pb.DeleteCustomerFieldRequest, call: Call
    ) -> pb.DeleteCustomerFieldResponse:
        return pb.DeleteCustomerFieldResponse(field=field_proto(await fields.delete(call.session, request.key)))

    # -- owners ------------------------------------------------------------------------------------

    @rpc(Scope.CUSTOMERS_READ)
    async def ListCustomerOwners(
        self, request: pb.ListCustomerOwnersRequest, call: Call
    ) -> pb.ListCustomerOwnersResponse:
        rows, next_token = await self.owners.list_candidates(
            call.session, call.principal, request.q, request.page_size, request.page_token
        )
        return pb.ListCustomerOwnersResponse(
            items=[pb.CustomerOwner(user_id=str(r.user_id), display_name=r.display_name, team_id=str(r.team_id or ""))
                   for r in rows],
            next_page_token=next_token,
        )
