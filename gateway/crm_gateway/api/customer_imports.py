"""Customer imports (API.md `/v1/imports`, kind `customers`; docs/customers.md "Customer import"):
HTTP <-> crm.customers.v1.CustomerImportService. The upload is streamed to the service in 4 MiB
parts; the service proposes the column mapping and runs the dry run as a job; the import itself,
its cancel, resume and undo are jobs too. Row problems come back as stable codes; their messages
are the gateway's catalogue in the caller's language (`SERVICE_FIELD_MESSAGES`), for the JSON
list and for the error file alike."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Final, Literal
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field
from starlette.datastructures import UploadFile

from crm_gateway import i18n
from crm_gateway.api.common import BackendsDep, CallerDep, RequestBody, Resource, operation, timestamp
from crm_gateway.clients import Backends, Caller
from crm_gateway.i18n import N_, messages
from crm_gateway.problem_texts import SERVICE_FIELD_MESSAGES
from crm_gateway.problems import Problem, catalogue_text
from crm_platform.auth import Scope
from crm_proto.crm.customers.v1 import imports_pb2 as pb

router = APIRouter(tags=["customer imports"])
IMPORTS: Final = "/v1/imports"
PART_BYTES: Final = 4 * 1024 * 1024
DuplicateMode = Literal["skip", "update", "create"]
IMPORT_ID = Annotated[str, Path(max_length=100)]
# The error file's added column.
IMPORT_ERROR_HEADER: Final = N_("Errors")


class CustomerImport(Resource):
    id: str
    kind: Literal["customers"] = "customers"
    status: str = Field(description="uploading, validating, validated, importing, cancelling, cancelled, succeeded, "
                                    "failed, undoing or undone")
    phase: str = Field(description="validate (the dry run), import or undo: what the job does or did last")
    filename: str
    format: str = Field(description="csv or xlsx")
    encoding: str = Field(description="CSV: utf-8-sig, utf-8 or gb18030 (GBK)")
    size_bytes: int
    header: list[str] = Field(description="The file's header row as read")
    mapping: dict[str, str] = Field(description="Column position (\"0\", \"1\", ...) -> field (`name`, `mobile`, "
                                                "`owner`, `cf.<key>`, ...); unmapped columns are ignored")
    missing: list[str] = Field(description="Required fields no column is mapped to (`name`)")
    duplicate_mode: DuplicateMode = Field(description="Rows matching a customer (or an earlier row): skip, update "
                                                      "the existing customer, or create anyway")
    total_rows: int
    processed: int
    percent: int = Field(description="processed / total rows, 0-100 (the dry run counts the rows first)")
    error_rows: int = Field(description="Rows with at least one error (not imported)")
    duplicate_rows: int
    created: int
    updated: int
    skipped: int
    cursor: int = Field(description="The last file row the import has written (it resumes after it)")
    error: str | None = Field(description="A file-level problem code (e.g. invalid_encoding, too_many_rows)")
    created_by: str
    created_at: datetime | None
    finished_at: datetime | None
    undo_until: datetime | None = Field(description="An import can be undone until then (7 days)")
    undone_at: datetime | None


def import_out(message: Any) -> CustomerImport:
    total = message.total_rows
    # The dry run's total is estimated from the file until it has read every row.
    base = message.created + message.updated if message.phase == "undo" else total
    percent = 100 if message.status in ("validated", "succeeded", "undone") else (
        min(99, message.processed * 100 // base) if base else 0)
    return CustomerImport(
        id=message.id, status=message.status, phase=message.phase, filename=message.filename, format=message.format,
        encoding=message.encoding, size_bytes=message.size_bytes, header=list(message.header),
        mapping=dict(message.mapping), missing=list(message.missing),
        duplicate_mode=message.duplicate_mode or "skip", total_rows=total, processed=message.processed,
        percent=percent, error_rows=message.error_rows, duplicate_rows=message.duplicate_rows,
        created=message.created, updated=message.updated, skipped=message.skipped, cursor=message.cursor,
        error=message.error or None, created_by=message.created_by, created_at=timestamp(message.created_at),
        finished_at=timestamp(message.finished_at), undo_until=timestamp(message.undo_until),
        undone_at=timestamp(message.undone_at),
    )


class ImportMapping(RequestBody):
    mapping: dict[str, str] = Field(description="Column position -> field; an empty field leaves the column out")
    duplicate_mode: DuplicateMode | None = None


class ImportStart(RequestBody):
    duplicate_mode: DuplicateMode | None = Field(None, description="Default: the import's")


class ImportProblem(BaseModel):
    row: int = Field(description="Spreadsheet row number (the header is row 1)")
    column: str = Field(description="The file's header cell of the column at fault (empty for the row)")
    field: str = Field(description="The customer field (`mobile`, `cf.<key>`, ...)")
    code: str = Field(description="Stable: required, invalid_phone, not_mobile, invalid_email, invalid_date, "
                                  "date_in_future, not_in_dictionary, invalid_credit_code, invalid_resident_id, "
                                  "unknown_owner, owner_out_of_scope, duplicate_in_file, duplicate_existing, ...")
    level: str = Field(description="error (the row is not imported) or duplicate (it follows duplicate_mode)")
    message: str = Field(description="In the caller's language (Accept-Language)")
    detail: str = Field(description="duplicate_in_file: the first row it repeats")


class ImportProblems(BaseModel):
    items: list[ImportProblem]
    next_page_token: str | None = None


def problem_message(code: str, locale: i18n.Locale) -> str:
    return catalogue_text(SERVICE_FIELD_MESSAGES, code, locale) or code


def _file_response(reply: Any, ascii_name: str) -> Response:
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(reply.filename)}"
    return Response(reply.content, media_type=reply.content_type, headers={
        "Content-Disposition": disposition, "Cache-Control": "no-store"})


async def template(caller: Caller, services: Backends, fmt: str) -> Response:
    reply = await caller.call(services.customer_imports.GetCustomerImportTemplate,
                              pb.GetCustomerImportTemplateRequest(format=fmt, locale=caller.locale))
    return _file_response(reply, f"customer-import-template.{fmt}")


async def upload(caller: Caller, services: Backends, file: UploadFile, mapping: dict[str, str],
                 duplicate_mode: str) -> CustomerImport:
    """Streams the upload to the service in parts, then asks for the mapping and the dry run."""
    stub = services.customer_imports
    size = file.size or 0
    created = await caller.call(stub.CreateCustomerImport, pb.CreateCustomerImportRequest(
        filename=file.filename or "", size_bytes=size))
    seq = 0
    while part := await file.read(PART_BYTES):
        await caller.call(stub.AppendCustomerImportPart, pb.AppendCustomerImportPartRequest(
            id=created.id, seq=seq, data=part))
        seq += 1
    if seq == 0:
        raise Problem(400, "invalid_input", params={"count": 1},
                      errors=[{"field": "file", "code": "required", "message": ""}])
    return import_out(await caller.call(stub.FinishCustomerImportUpload, pb.FinishCustomerImportUploadRequest(
        id=created.id, mapping=mapping, duplicate_mode=duplicate_mode)))


async def get(caller: Caller, services: Backends, import_id: str) -> CustomerImport:
    return import_out(await caller.call(services.customer_imports.GetCustomerImport,
                                        pb.GetCustomerImportRequest(id=import_id)))


_WRITE = [Scope.CUSTOMERS_WRITE]


@router.get("/v1/customer-imports", response_model=list[CustomerImport], **operation(
    operation_id="listCustomerImports", summary="Your recent customer imports (any user's with customers:admin)",
    scopes=_WRITE))
async def list_imports(caller: CallerDep, services: BackendsDep) -> list[CustomerImport]:
    reply = await caller.call(services.customer_imports.ListCustomerImports, pb.ListCustomerImportsRequest(
        page_size=20))
    return [import_out(m) for m in reply.items]


@router.post(f"{IMPORTS}/{{import_id}}:validate", response_model=CustomerImport, **operation(
    operation_id="remapCustomerImport", summary="Correct the column mapping; the dry run runs again",
    scopes=_WRITE, errors=[404, 409, 413],
    description="Only before the import starts (409 `import_started`). Unknown columns or fields, a field mapped "
                "twice, or a field your role may not write: 400 on `mapping.<column>`."))
async def remap(caller: CallerDep, services: BackendsDep, import_id: IMPORT_ID, body: ImportMapping) -> CustomerImport:
    return import_out(await caller.call(services.customer_imports.SetCustomerImportMapping,
                                        pb.SetCustomerImportMappingRequest(id=import_id, mapping=body.mapping,
                                                                           duplicate_mode=body.duplicate_mode or "")))


def _action(name: str, summary: str, description: str) -> Any:
    method_name = f"{name.capitalize()}CustomerImport"

    async def act(caller: CallerDep, services: BackendsDep, import_id: IMPORT_ID) -> CustomerImport:
        return import_out(await caller.call(getattr(services.customer_imports, method_name),
                                            pb.CustomerImportAction(id=import_id)))

    router.post(f"{IMPORTS}/{{import_id}}:{name}", response_model=CustomerImport, **operation(
        operation_id=f"{name}CustomerImport", summary=summary, scopes=_WRITE, errors=[404, 409, 413],
        description=description))(act)
    return act


@router.post(f"{IMPORTS}/{{import_id}}:start", response_model=CustomerImport, **operation(
    operation_id="startCustomerImport", summary="Start a validated customer import (a job)", scopes=_WRITE,
    errors=[404, 409, 413], description="Rows with errors are skipped; duplicates follow `duplicate_mode`. 409 "
                                   "`not_validated` before the dry run has finished. Poll the import for progress."))
async def start(caller: CallerDep, services: BackendsDep, import_id: IMPORT_ID,
                body: ImportStart | None = None) -> CustomerImport:
    mode = body.duplicate_mode if body is not None and body.duplicate_mode else ""
    return import_out(await caller.call(services.customer_imports.StartCustomerImport,
                                        pb.CustomerImportAction(id=import_id, duplicate_mode=mode)))


cancel = _action("cancel", "Cancel a running import or dry run (after its current batch)",
                 "What was written stays (undo it, or resume). 409 `not_running` otherwise.")
resume = _action("resume", "Resume a cancelled or failed import after its last written batch",
                 "409 `not_resumable` unless cancelled or failed.")
undo = _action("undo", "Undo an import within 7 days (a job)",
               "Customers it created are deleted, customers it updated get their previous values back; audited "
               "(`customer.import_undone`). 409 `not_undoable` / `undo_expired`.")


@router.get(f"{IMPORTS}/{{import_id}}/problems", response_model=ImportProblems, **operation(
    operation_id="listCustomerImportProblems", summary="Every row's problems found by the dry run",
    scopes=_WRITE, errors=[404]))
async def problems(caller: CallerDep, services: BackendsDep, import_id: IMPORT_ID,
                   page_size: Annotated[int, Query(ge=0, le=500)] = 100,
                   page_token: Annotated[str, Query(max_length=2000)] = "") -> ImportProblems:
    reply = await caller.call(services.customer_imports.ListCustomerImportProblems,
                              pb.ListCustomerImportProblemsRequest(id=import_id, page_size=page_size,
                                                                   page_token=page_token))
    return ImportProblems(items=[
        ImportProblem(row=p.row, column=p.column, field=p.field, code=p.code, level=p.level,
                      message=problem_message(p.code, caller.locale), detail=p.detail)
        for p in reply.items], next_page_token=reply.next_page_token or None)


ERROR_CODES: Final = sorted(SERVICE_FIELD_MESSAGES)
_ERRORS_OPERATION = operation(
    operation_id="getCustomerImportErrors", summary="The error file: the upload's rows with problems and an error "
    "column", scopes=_WRITE, errors=[404, 409],
    description="In the upload's own format (CSV keeps its encoding), so it opens in Excel as uploaded; fix the "
                "rows and upload the file again.")
_ERRORS_OPERATION["responses"][200] = {"description": "The error file", "content": {
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {}, "text/csv": {}}}


@router.get(f"{IMPORTS}/{{import_id}}/errors", response_class=Response, **_ERRORS_OPERATION)
async def error_file(caller: CallerDep, services: BackendsDep, import_id: IMPORT_ID) -> Response:
    return await error_file_response(caller, services, import_id)


async def error_file_response(caller: Caller, services: Backends, import_id: str) -> Response:
    """The error file with messages and the error column in the caller's language (also the web page's)."""
    words = {code: problem_message(code, caller.locale) for code in ERROR_CODES}
    header = messages(caller.locale).text(IMPORT_ERROR_HEADER)
    reply = await caller.call(services.customer_imports.GetCustomerImportErrorFile,
                              pb.GetCustomerImportErrorFileRequest(id=import_id, messages=words, error_header=header))
    return _file_response(reply, f"import-errors.{reply.filename.rsplit('.', 1)[-1]}")

