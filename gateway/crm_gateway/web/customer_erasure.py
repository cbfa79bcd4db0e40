"""/app/customers/{id}/erase: the "Permanently delete" page (docs/customers.md, "Erasure"): what
goes and what is kept, a reason, and the customer's code typed to confirm. The customers service
checks the scope (`customers:delete`), the data scope and the confirmation itself; this page only
asks and explains."""

from __future__ import annotations

import hmac
from typing import Any

import grpc
from fastapi import APIRouter, Request
from starlette.responses import Response

from crm_gateway.api.common import BackendsDep
from crm_gateway.i18n import messages
from crm_gateway.problems import GRPC_TO_HTTP, INTERNAL, UpstreamError, localise_field_errors
from crm_gateway.web.auth import session_caller, token_claims
from crm_gateway.web.common import SessionDep, label, problem_text, raise_if_signed_out
from crm_gateway.web.session import WebSession
from crm_gateway.web.templating import message_page, page_locale, render
from crm_proto.crm.customers.v1 import customers_pb2 as pb
from crm_proto.crm.customers.v1 import erasure_pb2

router = APIRouter(prefix="/app", include_in_schema=False)


def can_erase(session: WebSession) -> bool:
    """Whether to offer "Permanently delete" (the service enforces `customers:delete` itself)."""
    return "customers:delete" in str(token_claims(session.token).get("scope", "")).split()


async def _page(
    request: Request, session: WebSession, services: Any, customer_id: str, *, status_code: int = 200,
    values: dict[str, str] | None = None, field_errors: dict[str, str] | None = None, form_error: str | None = None,
) -> Response:
    caller = session_caller(request, session)
    locale = caller.locale
    try:
        customer = await caller.call(services.customers.GetCustomer, pb.GetCustomerRequest(id=customer_id))
    except UpstreamError as exc:
        raise_if_signed_out(request, exc)
        if exc.error.status == grpc.StatusCode.NOT_FOUND:
            return message_page(request, messages(locale).gettext("Customer not found"),
                                messages(locale).gettext("This customer does not exist or was deleted."),
                                status_code=404, link=("/app/customers", messages(locale).pgettext("back link",
                                                                                                   "All customers")))
        return message_page(request, messages(locale).gettext("Permanently delete customer"), problem_text(exc, locale),
                            status_code=GRPC_TO_HTTP.get(exc.error.status, INTERNAL)[0])
    context = {
        "session": session,
        "user_label": session.user_name or ", ".join(label("role", r, locale) for r in session.roles),
        "c": customer,
        "can_erase": can_erase(session),
        "values": values or {},
        "field_errors": field_errors or {},
        "form_error": form_error,
    }
    return render(request, "customer_erase.html", context, status_code=status_code)


@router.get("/customers/{customer_id}/erase")
async def confirm_page(request: Request, customer_id: str, session: SessionDep, services: BackendsDep) -> Response:
    return await _page(request, session, services, customer_id)


@router.post("/customers/{customer_id}/erase")
async def erase(request: Request, customer_id: str, session: SessionDep, services: BackendsDep) -> Response:
    form = await request.form()
    locale = page_locale(request)
    values = {"confirm": str(form.get("confirm") or ""), "reason": str(form.get("reason") or "")}
    token = str(form.get("csrf_token") or "")
    if not hmac.compare_digest(token.encode(), session.csrf.encode()):
        return await _page(request, session, services, customer_id, status_code=403, values=values,
                           form_error=messages(locale).gettext("The form expired; please submit it again."))
    caller = session_caller(request, session)
    try:
        await caller.call(services.erasure.EraseCustomer, erasure_pb2.EraseCustomerRequest(
            id=customer_id, confirm=values["confirm"], reason=values["reason"]))
    except UpstreamError as exc:
        raise_if_signed_out(request, exc)
        code = GRPC_TO_HTTP.get(exc.error.status, INTERNAL)[0]
        if exc.error.status == grpc.StatusCode.INVALID_ARGUMENT:
            errors = localise_field_errors(exc.error.errors, locale)
            return await _page(request, session, services, customer_id, status_code=400, values=values,
                               field_errors={e["field"]: e["message"] for e in errors})
        if exc.error.status == grpc.StatusCode.NOT_FOUND:
            return await _page(request, session, services, customer_id)
        return await _page(request, session, services, customer_id, status_code=code, values=values,
                           form_error=problem_text(exc, locale))
    return message_page(request, messages(locale).gettext("Customer permanently deleted"),
                        messages(locale).gettext("The customer was erased here; tags, follow-ups, reports and webhook "
                                                 "queues follow within seconds."),
                        status_code=200, link=("/app/customers", messages(locale).pgettext("back link",
                                                                                           "All customers")))
