"""/app/customers/import: customer import in the web UI (docs/customers.md "Customer import";
the same CustomerImportService calls as `/v1/imports?kind=customers`).

The start page offers the templates and the upload (file + what to do with duplicates) and lists
recent imports. `/app/customers/import/{id}` follows the import: while a job runs (the dry run,
the import, the undo) a progress bar refreshes itself every second (pages carry no script);
after the dry run it shows the counts, the column mapping as an editable table (re-checking the
file with the corrected mapping), the problems row by row with the error file to download, the
duplicate choice and Start; a running import can be stopped, a stopped one resumed, and a
finished one undone within 7 days."""

from __future__ import annotations

from typing import Any, Final

import grpc
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from starlette.datastructures import UploadFile
from starlette.responses import Response

from crm_gateway.api import customer_imports as api
from crm_gateway.api.common import BackendsDep
from crm_gateway.clients import Backends
from crm_gateway.i18n import Locale, messages
from crm_gateway.problems import GRPC_TO_HTTP, INTERNAL, UpstreamError, localise_field_errors
from crm_gateway.web import formatting
from crm_gateway.web.auth import session_caller
from crm_gateway.web.common import SessionDep, csrf_ok, label, problem_text, raise_if_signed_out
from crm_gateway.web.session import WebSession
from crm_gateway.web.templating import message_page, page_locale, render
from crm_proto.crm.customers.v1 import customers_pb2 as cpb
from crm_proto.crm.customers.v1 import imports_pb2 as pb

router = APIRouter(prefix="/app", include_in_schema=False)
HOME: Final = "/app/customers/import"
RUNNING: Final = frozenset({"uploading", "validating", "importing", "cancelling", "undoing"})
MODES: Final = ("skip", "update", "create")
FIELDS: Final = ("name", "code", "type", "industry", "region", "contact_person", "mobile", "phone", "email",
                 "first_contact_date", "source", "status", "owner", "employees", "annual_revenue",
                 "annual_revenue_currency", "needs", "notes", "credit_code", "resident_id", "bank_card")
PROBLEMS_SHOWN: Final = 200


def _status(exc: UpstreamError) -> int:
    return GRPC_TO_HTTP.get(exc.error.status, INTERNAL)[0]


def _base(session: WebSession) -> dict[str, Any]:
    return {"session": session, "user_label": session.user_name, "active": "/app/customers"}


async def _start_page(request: Request, session: WebSession, services: Backends, *, status_code: int = 200,
                      error: str | None = None, mode: str = "skip") -> Response:
    caller = session_caller(request, session)
    try:
        recent = [api.import_out(m) for m in (await caller.call(
            services.customer_imports.ListCustomerImports, pb.ListCustomerImportsRequest(page_size=10))).items]
    except UpstreamError as exc:
        raise_if_signed_out(request, exc)
        return message_page(request, messages(page_locale(request)).gettext("Import customers"),
                            problem_text(exc, page_locale(request)), status_code=_status(exc))
    zone = formatting.viewer_zone(request, page_locale(request))
    return render(request, "customer_import.html", {
        **_base(session), "recent": recent, "error": error, "mode": mode, "modes": MODES,
        "when": {r.id: formatting.datetime_text(r.created_at, zone, page_locale(request)) for r in recent},
    }, status_code=status_code)


@router.get("/customers/import")
async def start_page(request: Request, session: SessionDep, services: BackendsDep) -> Response:
    return await _start_page(request, session, services)


@router.get("/customers/import/template")
async def template(request: Request, session: SessionDep, services: BackendsDep, format: str = "xlsx") -> Response:
    try:
        return await api.template(session_caller(request, session), services, "csv" if format == "csv" else "xlsx")
    except UpstreamError as exc:
        raise_if_signed_out(request, exc)
        return await _start_page(request, session, services, status_code=_status(exc),
                                 error=problem_text(exc, page_locale(request)))


def _field_error_text(exc: UpstreamError, locale: Locale) -> str:
    errors = localise_field_errors(exc.error.errors, locale)
    return " ".join(e["message"] for e in errors) or problem_text(exc, locale)


@router.post("/customers/import")
async def upload(request: Request, session: SessionDep, services: BackendsDep) -> Response:
    form = await request.form()
    locale = page_locale(request)
    t = messages(locale)
    mode = str(form.get("duplicate_mode") or "skip")
    mode = mode if mode in MODES else "skip"
    if not csrf_ok(form, session):
        return await _start_page(request, session, services, status_code=403,
                                 error=t.gettext("The form expired; please submit it again."))
    file = form.get("file")
    if not isinstance(file, UploadFile) or not file.filename:
        return await _start_page(request, session, services, status_code=400, mode=mode,
                                 error=t.gettext("Choose a file to upload."))
    try:
        started = await api.upload(session_caller(request, session), services, file, {}, mode)
    except UpstreamError as exc:
        raise_if_signed_out(request, exc)
        text = (_field_error_text(exc, locale) if exc.error.status == grpc.StatusCode.INVALID_ARGUMENT
                else problem_text(exc, locale))
        return await _start_page(request, session, services, status_code=_status(exc), error=text, mode=mode)
    return RedirectResponse(f"{HOME}/{started.id}", status_code=303)


async def _custom_fields(request: Request, session: WebSession, services: Backends) -> list[tuple[str, str]]:
    try:
        reply = await session_caller(request, session).call(services.customers.ListCustomerFields,
                                                            cpb.ListCustomerFieldsRequest())
    except UpstreamError:
        return []  # a role that may not read the definitions still maps the other fields
    return [(f"cf.{d.key}", d.label) for d in reply.items]


@router.get("/customers/import/{import_id}")
async def import_page(request: Request, import_id: str, session: SessionDep, services: BackendsDep,
                      page_token: str = "", error: str = "") -> Response:
    locale = page_locale(request)
    t = messages(locale)
    caller = session_caller(request, session)
    try:
        found = await api.get(caller, services, import_id)
    except UpstreamError as exc:
        raise_if_signed_out(request, exc)
        return message_page(request, t.gettext("Import customers"), problem_text(exc, locale),
                            status_code=_status(exc), link=(HOME, t.gettext("Import customers")))
    problems: list[api.ImportProblem] = []
    next_token = ""
    choices: list[tuple[str, str]] = []
    show_problems = found.phase in ("validate", "import") and found.status not in RUNNING
    if show_problems:
        try:
            reply = await caller.call(services.customer_imports.ListCustomerImportProblems,
                                      pb.ListCustomerImportProblemsRequest(id=import_id, page_size=PROBLEMS_SHOWN,
                                                                           page_token=page_token))
            problems = [api.ImportProblem(row=p.row, column=p.column, field=p.field, code=p.code, level=p.level,
                                          message=api.problem_message(p.code, locale), detail=p.detail)
                        for p in reply.items]
            next_token = reply.next_page_token
        except UpstreamError as exc:
            raise_if_signed_out(request, exc)
            error = problem_text(exc, locale)
    if found.phase == "validate" and found.status == "validated":
        choices = [(f, label("import.field", f, locale)) for f in FIELDS]
        choices += await _custom_fields(request, session, services)
    field_names = dict(choices) or {f: label("import.field", f, locale) for f in FIELDS}
    # Skipped duplicates are not imported; updated or created ones are.
    skipped = found.duplicate_rows if found.duplicate_mode == "skip" else 0
    will_import = max(found.total_rows - found.error_rows - skipped, 0)
    return render(request, "customer_import_job.html", {
        **_base(session), "job": found, "running": found.status in RUNNING, "problems": problems,
        "next_token": next_token, "choices": choices, "field_names": field_names, "modes": MODES,
        "will_import": will_import, "error": error or None,
        "file_error": api.problem_message(found.error, locale) if found.error else None,
        "missing": formatting.value_list((field_names.get(f, f) for f in found.missing), locale),
        "numbers": {k: formatting.number(v, locale) for k, v in {
            "total": found.total_rows, "errors": found.error_rows, "duplicates": found.duplicate_rows,
            "created": found.created, "updated": found.updated, "skipped": found.skipped,
            "processed": found.processed, "will_import": will_import}.items()},
        "undo_until": formatting.datetime_text(found.undo_until, formatting.viewer_zone(request, locale), locale),
        "created_at": formatting.datetime_text(found.created_at, formatting.viewer_zone(request, locale), locale),
        "can_undo": found.phase == "import" and found.status in ("succeeded", "cancelled", "failed"),
        "can_resume": found.status in ("cancelled", "failed"),
    })


@router.post("/customers/import/{import_id}/mapping")
async def remap(request: Request, import_id: str, session: SessionDep, services: BackendsDep) -> Response:
    form = await request.form()
    locale = page_locale(request)
    if not csrf_ok(form, session):
        return RedirectResponse(f"{HOME}/{import_id}", status_code=303)
    mapping = {key.removeprefix("map."): str(value) for key, value in form.items()
               if key.startswith("map.") and str(value)}
    mode = str(form.get("duplicate_mode") or "")
    try:
        await session_caller(request, session).call(services.customer_imports.SetCustomerImportMapping,
                                                    pb.SetCustomerImportMappingRequest(
                                                        id=import_id, mapping=mapping,
                                                        duplicate_mode=mode if mode in MODES else ""))
    except UpstreamError as exc:
        raise_if_signed_out(request, exc)
        return await import_page(request, import_id, session, services, error=_field_error_text(exc, locale))
    return RedirectResponse(f"{HOME}/{import_id}", status_code=303)


ACTIONS: Final = {"start": "StartCustomerImport", "cancel": "CancelCustomerImport",
                  "resume": "ResumeCustomerImport", "undo": "UndoCustomerImport"}


@router.post("/customers/import/{import_id}/{action}")
async def act(request: Request, import_id: str, action: str, session: SessionDep, services: BackendsDep) -> Response:
    form = await request.form()
    locale = page_locale(request)
    if action not in ACTIONS or not csrf_ok(form, session):
        return RedirectResponse(f"{HOME}/{import_id}", status_code=303)
    mode = str(form.get("duplicate_mode") or "")
    try:
        await session_caller(request, session).call(
            getattr(services.customer_imports, ACTIONS[action]),
            pb.CustomerImportAction(id=import_id, duplicate_mode=mode if mode in MODES else ""))
    except UpstreamError as exc:
        raise_if_signed_out(request, exc)
        return await import_page(request, import_id, session, services, error=_field_error_text(exc, locale))
    return RedirectResponse(f"{HOME}/{import_id}", status_code=303)


@router.get("/customers/import/{import_id}/errors")
async def error_file(request: Request, import_id: str, session: SessionDep, services: BackendsDep) -> Response:
    try:
        return await api.error_file_response(session_caller(request, session), services, import_id)
    except UpstreamError as exc:
        raise_if_signed_out(request, exc)
        return await import_page(request, import_id, session, services, error=problem_text(exc, page_locale(request)))
