"""gRPC transport for customer imports: translation only."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import grpc
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_customers.customer.schemas import ts
from crm_customers.importing import columns
from crm_customers.importing.service import UNDO_DAYS, CustomerImports, Upload
from crm_customers.sensitive.service import SensitiveFields
from crm_platform.auth import Scope
from crm_platform.errors import FieldError, InvalidInput
from crm_platform.grpc_server import Call, rpc
from crm_platform.pagination import PageTokens, page_size
from crm_proto.crm.customers.v1 import imports_pb2 as pb
from crm_proto.crm.customers.v1 import imports_pb2_grpc

SERVICE_NAME = "crm.customers.v1.CustomerImportService"


def import_proto(row: Any, missing: list[str] | None = None) -> pb.CustomerImport:
    mapping = {str(k): str(v) for k, v in row.mapping.items()}
    return pb.CustomerImport(
        id=str(row.id), status=row.status, phase=row.phase, filename=row.filename, format=row.format,
        encoding=row.encoding, size_bytes=row.size_bytes, header=[str(h) for h in row.header], mapping=mapping,
        duplicate_mode=row.duplicate_mode, total_rows=row.total_rows, processed=row.processed,
        error_rows=row.error_rows, duplicate_rows=row.duplicate_rows, created=row.created_count,
        updated=row.updated_count, skipped=row.skipped_count, error=row.error, created_by=row.created_by,
        created_at=ts(row.created_at), finished_at=ts(row.finished_at),
        undo_until=ts(row.finished_at + timedelta(days=UNDO_DAYS)) if row.finished_at and row.phase == "import"
        else None,
        undone_at=ts(row.undone_at), cursor=row.cursor,
        missing=missing if missing is not None else [k for k in columns.REQUIRED if k not in mapping.values()]
        if row.format else [],
    )


class CustomerImportServicer(imports_pb2_grpc.CustomerImportServiceServicer):
    def __init__(self, engine: AsyncEngine, imports: CustomerImports, page_tokens: PageTokens):
        self.engine = engine
        self.imports = imports
        self.page_tokens = page_tokens

    @rpc(Scope.CUSTOMERS_WRITE)
    async def GetCustomerImportTemplate(self, request: pb.GetCustomerImportTemplateRequest,
                                        call: Call) -> pb.CustomerImportFile:
        name, kind, content = await self.imports.template(call.session, request.format or "xlsx", request.locale)
        return pb.CustomerImportFile(filename=name, content_type=kind, content=content)

    @rpc(Scope.CUSTOMERS_WRITE)
    async def CreateCustomerImport(self, request: pb.CreateCustomerImportRequest, call: Call) -> pb.CustomerImport:
        return import_proto(await self.imports.create(call.session, call.principal, request.filename,
                                                      request.size_bytes))

    @rpc(Scope.CUSTOMERS_WRITE)
    async def AppendCustomerImportPart(self, request: pb.AppendCustomerImportPartRequest,
                                       call: Call) -> pb.CustomerImport:
        await self.imports.append(call.session, call.principal, request.id, request.seq, request.data)
        return pb.CustomerImport(id=request.id, status="uploading")

    @staticmethod
    def _upload(upload: Upload) -> pb.CustomerImport:
        return import_proto(upload.row, upload.missing)

    @rpc(Scope.CUSTOMERS_WRITE)
    async def FinishCustomerImportUpload(self, request: pb.FinishCustomerImportUploadRequest,
                                         call: Call) -> pb.CustomerImport:
        return self._upload(await self.imports.finish_upload(call.session, call.principal, request.id,
                                                             dict(request.mapping), request.duplicate_mode))

    @rpc(Scope.CUSTOMERS_WRITE)
    async def SetCustomerImportMapping(self, request: pb.SetCustomerImportMappingRequest,
                                       call: Call) -> pb.CustomerImport:
        return self._upload(await self.imports.set_mapping(call.session, call.principal, request.id,
                                                           dict(request.mapping), request.duplicate_mode))

    @rpc(Scope.CUSTOMERS_WRITE)
    async def StartCustomerImport(self, request: pb.CustomerImportAction, call: Call) -> pb.CustomerImport:
        return import_proto(await self.imports.start(call.session, call.principal, request.id,
                                                     request.duplicate_mode))

    @rpc(Scope.CUSTOMERS_WRITE)
    async def CancelCustomerImport(self, request: pb.CustomerImportAction, call: Call) -> pb.CustomerImport:
        return import_proto(await self.imports.cancel(call.session, call.principal, request.id))

    @rpc(Scope.CUSTOMERS_WRITE)
    async def ResumeCustomerImport(self, request: pb.CustomerImportAction, call: Call) -> pb.CustomerImport:
        return import_proto(await self.imports.resume(call.session, call.principal, request.id))

    @rpc(Scope.CUSTOMERS_WRITE)
    async def UndoCustomerImport(self, request: pb.CustomerImportAction, call: Call) -> pb.CustomerImport:
        return import_proto(await self.imports.undo(call.session, call.principal, request.id))

    @rpc(Scope.CUSTOMERS_WRITE)
    async def GetCustomerImport(self, request: pb.GetCustomerImportRequest, call: Call) -> pb.CustomerImport:
        return import_proto(await self.imports.get(call.session, call.principal, request.id))

    @rpc(Scope.CUSTOMERS_WRITE)
    async def ListCustomerImports(self, request: pb.ListCustomerImportsRequest,
                                  call: Call) -> pb.ListCustomerImportsResponse:
        rows = await self.imports.recent(call.session, call.principal, min(page_size(request.page_size), 100))
        return pb.ListCustomerImportsResponse(items=[import_proto(r) for r in rows])

    @rpc(Scope.CUSTOMERS_WRITE)
    async def ListCustomerImportProblems(self, request: pb.ListCustomerImportProblemsRequest,
                                         call: Call) -> pb.ListCustomerImportProblemsResponse:
        limit = page_size(request.page_size)
        after = None
        if request.page_token:
            cursor = self.page_tokens.decode(request.page_token)
            if cursor.get("q") != ["import-problems", request.id]:
                raise InvalidInput([FieldError("page_token", "invalid_page_token",
                                               "page_token belongs to another query")])
            row_number, field, code = cursor["p"]
            after = (int(row_number), str(field), str(code))
        row, items = await self.imports.problems(call.session, call.principal, request.id, after, limit + 1)
        header = list(row.header)
        columns_by_field = {k: header[int(p)] for p, k in row.mapping.items() if int(p) < len(header)}
        token = ""
        if len(items) > limit:
            last = items[limit - 1]
            token = self.page_tokens.encode({"q": ["import-problems", request.id],
                                             "p": [last.row, last.column, last.code]})
        return pb.ListCustomerImportProblemsResponse(items=[
            pb.CustomerImportProblem(row=p.row, field=p.column, column=columns_by_field.get(p.column, ""),
                                     code=p.code, level=p.level, detail=p.detail)
            for p in items[:limit]], next_page_token=token)

    @rpc(Scope.CUSTOMERS_WRITE)
    async def GetCustomerImportErrorFile(self, request: pb.GetCustomerImportErrorFileRequest,
                                         call: Call) -> pb.CustomerImportFile:
        name, kind, content = await self.imports.error_file(call.session, call.principal, request.id,
                                                            dict(request.messages), request.error_header or "error")
        return pb.CustomerImportFile(filename=name, content_type=kind, content=content)


def add_to_server(server: grpc.aio.Server, engine: AsyncEngine, sensitive: SensitiveFields,
                  page_tokens: PageTokens) -> str:
    imports_pb2_grpc.add_CustomerImportServiceServicer_to_server(
        CustomerImportServicer(engine, CustomerImports(sensitive), page_tokens), server
    )
    return SERVICE_NAME
