"""/v1/imports (kind `users`), /v1/import-templates/users (API.md): batch user import from the
XLSX/CSV template (identity's UserAdminService; docs/identity.md#user-import). A dry run lists every
row's errors and writes nothing; a real import validates again and, only when every row is valid,
creates and invites the users as a job."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Path, Query, Response, UploadFile
from pydantic import BaseModel, Field

from crm_gateway.api import customer_imports
from crm_gateway.api.common import BackendsDep, CallerDep, Resource, operation, timestamp
from crm_gateway.problems import Problem, UpstreamError
from crm_platform.auth import Scope
from crm_proto.crm.identity.v1 import user_admin_pb2 as pb

router = APIRouter(tags=["users"])
# API.md: one imports resource for every kind: `users` (identity) and `customers` (customers,
# api/customer_imports.py). An import id is looked up in customers, then in identity.
IMPORTS = "/v1/imports"
ImportKind = Literal["users", "customers"]


class UserImport(Resource):
    id: str
    status: str = Field(description="queued, running, succeeded or failed")
    total: int = Field(description="Rows to import")
    processed: int
    created: int = Field(description="Users created and invited so far")
    percent: int = Field(description="processed / total, 0-100")
    filename: str
    created_by: str
    created_at: datetime | None
    finished_at: datetime | None = None
    error: str = Field("", description="Why the job is waiting to retry or failed (e.g. email unavailable)")


def import_out(message: Any) -> UserImport:
    total = max(message.total, 0)
    return UserImport(
        id=message.id, status=message.status, total=total, processed=message.processed, created=message.created,
        percent=100 if total == 0 else min(100, message.processed * 100 // total), filename=message.filename,
        created_by=message.created_by, created_at=timestamp(message.created_at),
        finished_at=timestamp(message.finished_at), error=message.error,
    )


class RowError(BaseModel):
    row: int = Field(description="Spreadsheet row number (the header is row 1)")
    column: str = Field(description="email, display_name, roles or team")
    code: str = Field(description="Stable: required, too_long, invalid_email, duplicate_email_in_file, "
                                  "email_exists, unknown_role, grant_exceeds_own, unknown_team, ambiguous_team")
    message: str = Field(description="In the caller's language (Accept-Language)")


class ImportReport(BaseModel):
    dry_run: bool
    total_rows: int
    valid: bool = Field(description="True when no row has an error")
    errors: list[RowError]
    import_: UserImport | None = Field(None, alias="import", description="The started import (not a dry run)")


def report_out(message: Any) -> ImportReport:
    started = import_out(getattr(message, "import")) if message.HasField("import") else None
    return ImportReport.model_validate({
        "dry_run": message.dry_run, "total_rows": message.total_rows, "valid": not message.errors,
        "errors": [RowError(row=e.row, column=e.column, code=e.code, message=e.message) for e in message.errors],
        "import": started,
    })


_TEMPLATE_OPERATION = operation(
    operation_id="getUserImportTemplate", summary="Download an import template (users or customers)",
    scopes=[Scope.USERS_MANAGE, Scope.CUSTOMERS_WRITE], any_scope=True, errors=[400],
    description="Header row in the caller's language (keys and labels in either language are accepted on "
                "upload), an example row. `users` (users:manage): the example row is ignored on upload; the xlsx "
                "has the tenant's role names and team paths as drop-downs and on a second sheet. `customers` "
                "(customers:write): the xlsx has drop-downs from the tenant's dictionaries (industry, region, "
                "source), type and status, a column per custom field and a notes sheet; delete the example row.",
)
_TEMPLATE_OPERATION["responses"][200] = {"description": "The template file", "content": {
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {}, "text/csv": {}}}
_IMPORT_OPERATION = operation(
    operation_id="importUsers", summary="Import users or customers from a file",
    scopes=[Scope.USERS_MANAGE, Scope.CUSTOMERS_WRITE], any_scope=True, errors=[400, 413],
    description="`kind=customers` (customers:write): multipart `file` (xlsx, or csv in UTF-8, UTF-8 with BOM or "
                "GBK), up to 1,048,576 rows and 512 MiB; optional form fields `mapping` (JSON: column position -> "
                "field) and `duplicate_mode` (skip, update, create). 201 with the customer import (`Location`): "
                "its `mapping` is proposed from the header (Chinese or English names) and its dry run has started; "
                "correct the mapping with `:validate`, read `/problems` or the error file `/errors`, then `:start`. "
                "File problems are 400 on `file`: `unsupported_file`, `invalid_encoding`, `no_rows`, "
                "`file_too_large`. `kind=users` (users:manage): "
                "Multipart `file` (xlsx, or csv in UTF-8 or GBK), at most 1 MiB and 5,000 rows. `dry_run=true`: "
                "200 with every row's errors, nothing written. Otherwise the file is validated again: any row "
                "error is a 400 (`errors[].field` = `rows[<row>].<column>`) and nothing is written; else 201 with "
                "the import, which runs as a job (`Location`: poll it). File-level problems are 400 on `file`: "
                "`unsupported_file`, `too_many_rows`, `no_rows`, `missing_column`.",
)
_IMPORT_OPERATION["responses"][201] = {"description": "Every row was valid: the import (a job) was created",
                                       "model": ImportReport | customer_imports.CustomerImport}


@router.get("/v1/import-templates/{kind}", response_class=Response, **_TEMPLATE_OPERATION)
async def get_template(
    kind: ImportKind, caller: CallerDep, services: BackendsDep,
    format: Annotated[Literal["xlsx", "csv"], Query()] = "xlsx",
) -> Response:
    if kind == "customers":
        return await customer_imports.template(caller, services, format)
    reply = await caller.call(services.user_admin.GetUserImportTemplate,
                              pb.GetUserImportTemplateRequest(format=format, locale=caller.locale))
    ascii_name = f"user-import-template.{format}"
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(reply.filename)}"
    return Response(reply.content, media_type=reply.content_type, headers={
        "Content-Disposition": disposition, "Cache-Control": "no-store"})


@router.post(IMPORTS, response_model=ImportReport | customer_imports.CustomerImport, response_model_by_alias=True,
             **_IMPORT_OPERATION)
async def import_users(
    response: Response, caller: CallerDep, services: BackendsDep,
    file: Annotated[UploadFile, File(description="The filled-in template")],
    kind: Annotated[ImportKind, Query(description="What the file holds")],
    dry_run: Annotated[bool, Query(description="users: only validate")] = False,
    mapping: Annotated[str, Form(max_length=20_000, description="customers: JSON {column position: field}")] = "",
    duplicate_mode: Annotated[Literal["", "skip", "update", "create"], Form(
        description="customers: skip (default), update or create")] = "",
) -> ImportReport | customer_imports.CustomerImport:
    if kind == "customers":
        try:
            wanted = json.loads(mapping) if mapping else {}
            if not isinstance(wanted, dict) or not all(isinstance(v, str) for v in wanted.values()):
                raise ValueError(mapping)
        except ValueError:
            raise Problem(400, "invalid_input", params={"count": 1}, errors=[
                {"field": "mapping", "code": "invalid_mapping", "message": ""}]) from None
        started = await customer_imports.upload(caller, services, file, {str(k): v for k, v in wanted.items()},
                                                duplicate_mode)
        response.status_code = 201
        response.headers["Location"] = f"{IMPORTS}/{started.id}"
        return started
    content = await file.read()
    if not content:
        raise Problem(400, "invalid_input", params={"count": 1},
                      errors=[{"field": "file", "code": "required", "message": ""}])
    reply = await caller.call(services.user_admin.ImportUsers, pb.ImportUsersRequest(
        filename=file.filename or "", content=content, dry_run=dry_run, locale=caller.locale))
    report = report_out(reply)
    if report.import_ is not None:
        response.status_code = 201
        response.headers["Location"] = f"{IMPORTS}/{report.import_.id}"
    return report


@router.get(
    f"{IMPORTS}/{{import_id}}",
    response_model=customer_imports.CustomerImport | UserImport,
    **operation(operation_id="getUserImport", summary="An import's progress (customers or users)",
                scopes=[Scope.USERS_MANAGE, Scope.CUSTOMERS_WRITE], any_scope=True, errors=[404]),
)
async def get_import(caller: CallerDep, services: BackendsDep,
                     import_id: Annotated[str, Path(max_length=100)]) -> customer_imports.CustomerImport | UserImport:
    scopes = caller.principal.scopes if caller.principal is not None else frozenset()
    if Scope.CUSTOMERS_WRITE.value in scopes:
        try:
            return await customer_imports.get(caller, services, import_id)
        except UpstreamError as exc:
            if exc.error.status.name != "NOT_FOUND":
                raise
    # Not a customer import of the caller's: a user import (identity answers 403 without users:manage).
    return import_out(await caller.call(services.user_admin.GetUserImport, pb.GetUserImportRequest(id=import_id)))
