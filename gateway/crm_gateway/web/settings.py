"""/app/settings: what tenant admins could only change through the API before, as forms.

- `company`: the tenant's name, default language and time zone (identity, `users:manage`);
- `security`: the password policy and the TOTP requirement for admins (identity, `users:manage`);
- `customers`: the customer-code pattern, status transitions, duplicate policy, whether industry
  and region must come from the dictionaries (customers, `customers:admin`);
- `fields`: custom fields, defined, changed and deleted (customers, `customers:admin`);
- `dictionaries/{industry|region|source}`: entries with their English and Chinese names;
- API clients (/app/api-clients) and the follow-up settings (/app/followups/settings) are linked.

Each form posts to the same gRPC operation as the REST API with the session's token (so the
services enforce the scopes), carries the CSRF token, and shows the service's field errors next to
their fields (problem+json's `errors`, localised by problem_texts)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final
from zoneinfo import available_timezones

import grpc
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from crm_gateway.api.common import BackendsDep
from crm_gateway.dictionary_names import display_label
from crm_gateway.i18n import N_, Locale, Msg, messages
from crm_gateway.problems import GRPC_TO_HTTP, INTERNAL, UpstreamError, localise_field_errors
from crm_gateway.web.auth import session_caller
from crm_gateway.web.common import SessionDep, csrf_ok, flash_message, flash_text, problem_text, raise_if_signed_out
from crm_gateway.web.session import WebCookies, WebSession
from crm_gateway.web.shell import session_scopes
from crm_gateway.web.templating import render
from crm_proto.crm.customers.v1 import customers_pb2 as cpb
from crm_proto.crm.identity.v1 import identity_pb2 as ipb

router = APIRouter(prefix="/app/settings", include_in_schema=False)

HOME: Final = "/app/settings"
STATUSES: Final = ("potential", "intent", "won", "lost")
FIELD_TYPES: Final = ("text", "number", "date", "single_select", "multi_select", "boolean")
DICTIONARIES: Final = ("industry", "region", "source")
# Blank rows under a dictionary's entries, for adding (no script needed).
BLANK_ROWS: Final = 3
TIME_ZONES: Final = tuple(sorted(z for z in available_timezones()
                                 if "/" in z and not z.startswith(("Etc/", "SystemV/"))))


@dataclass(frozen=True)
class Section:
    key: str
    href: str
    title: Msg
    summary: Msg
    scope: str


SECTIONS: Final = (
    Section("company", f"{HOME}/company", N_("Company"), N_("Name, default language and time zone"),
            "users:manage"),
    Section("security", f"{HOME}/security", N_("Password policy"),
            N_("Password length, common passwords, two-step verification for admins"), "users:manage"),
    Section("customers", f"{HOME}/customers", N_("Customer rules"),
            N_("Customer codes, status transitions, duplicates"), "customers:admin"),
    Section("fields", f"{HOME}/fields", N_("Custom fields"), N_("Extra fields on every customer"),
            "customers:admin"),
    Section("dictionaries", f"{HOME}/dictionaries/industry", N_("Dictionaries"),
            N_("Industries, regions and sources, in both languages"), "customers:admin"),
    Section("api_clients", "/app/api-clients", N_("API clients"), N_("Systems that use the API"),
            "clients:manage"),
    Section("followups", "/app/followups/settings", N_("Follow-ups"),
            N_("Escalation of overdue follow-ups, the inbound email address"), "followups:manage"),
    Section("backup", f"{HOME}/backup", N_("Data backup"), N_("Download all of the company's data as one archive"),
            "tenant:backup"),
)
# Who may open the settings at all (the menu entry): any section's scope.
SETTINGS_SCOPES: Final = tuple(dict.fromkeys(s.scope for s in SECTIONS))


@dataclass
class Form:
    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    error: str | None = None


def sections_for(session: WebSession, locale: Locale) -> list[dict[str, str]]:
    scopes = session_scopes(session)
    t = messages(locale)
    return [{"key": s.key, "href": s.href, "title": t.text(s.title), "summary": t.text(s.summary)}
            for s in SECTIONS if s.scope in scopes]


def page(request: Request, session: WebSession, template: str, current: str, context: Mapping[str, Any], *,
         status_code: int = 200) -> Response:
    """A settings page: the sections' tabs, this page's flash, then the page's own context."""
    cookies: WebCookies = request.app.state.web_cookies
    caller = session_caller(request, session)
    full = {"session": session, "sections": sections_for(session, caller.locale), "current": current,
            "flash": flash_text(cookies.read_flash(request), caller.locale), **context}
    response = render(request, template, full, status_code=status_code)
    cookies.clear_flash(request, response)
    return response


def saved(request: Request, path: str, message: Msg, **params: object) -> Response:
    """After a successful post: back to the page with a message (post/redirect/get)."""
    response = RedirectResponse(path, status_code=303)
    cookies: WebCookies = request.app.state.web_cookies
    cookies.flash(response, flash_message(message, **params))
    return response


def status_of(exc: UpstreamError) -> int:
    if exc.error.status == grpc.StatusCode.INVALID_ARGUMENT:
        return 400
    return GRPC_TO_HTTP.get(exc.error.status, INTERNAL)[0]


def failed(request: Request, exc: UpstreamError, locale: Locale,
           rename: Any = None) -> tuple[dict[str, str], str]:
    """The service's refusal as field errors (by field) and the banner line."""
    raise_if_signed_out(request, exc)
    fields = localise_field_errors(exc.error.errors, locale, rename) if rename else localise_field_errors(
        exc.error.errors, locale)
    errors = {e["field"]: e["message"] for e in fields}
    banner = (messages(locale).gettext("Please correct the highlighted fields.") if errors
              else problem_text(exc, locale))
    return errors, banner


def expired(locale: Locale) -> str:
    return messages(locale).gettext("The form expired; please submit it again.")


# -- landing ----------------------------------------------------------------------------------------


@router.get("")
async def home(request: Request, session: SessionDep) -> Response:
    return page(request, session, "settings_home.html", "home", {})


# -- company ----------------------------------------------------------------------------------------


async def company_page(request: Request, session: WebSession, services: Any, form: Form | None = None,
                       status_code: int = 200) -> Response:
    caller = session_caller(request, session)
    tenant: Any = None
    error = None
    try:
        tenant = await caller.call(services.identity.GetTenant, ipb.GetTenantRequest())
    except UpstreamError as exc:
        raise_if_signed_out(request, exc)
        error = problem_text(exc, caller.locale)
    values = form.values if form else ({"name": tenant.name, "default_locale": tenant.default_locale,
                                        "time_zone": tenant.time_zone} if tenant is not None else {})
    return page(request, session, "settings_company.html", "company", {
        "tenant": tenant, "form": form or Form(values), "values": values, "load_error": error,
        "time_zones": TIME_ZONES,
    }, status_code=status_code)


@router.get("/company")
async def company(request: Request, session: SessionDep, services: BackendsDep) -> Response:
    return await company_page(request, session, services)


@router.post("/company")
async def save_company(request: Request, session: SessionDep, services: BackendsDep) -> Response:
    raw = await request.form()
    values = {k: str(raw.get(k) or "").strip() for k in ("name", "default_locale", "time_zone")}
    caller = session_caller(request, session)
    if not csrf_ok(raw, session):
        return await company_page(request, session, services, Form(values, error=expired(caller.locale)), 403)
    try:
        tenant = await caller.call(services.identity.UpdateTenant,
                                   ipb.UpdateTenantRequest(update_mask=sorted(values), **values))
    except UpstreamError as exc:
        errors, banner = failed(request, exc, caller.locale)
        return await company_page(request, session, services, Form(values, errors, banner), status_of(exc))
    response = saved(request, f"{HOME}/company", N_("Company settings saved."))
    # The admin's own pages follow at once (others' at their next token refresh).
    cookies: WebCookies = request.app.state.web_cookies
    cookies.write_session(response, replace(session, tenant_name=tenant.name, tenant_zone=tenant.time_zone))
    return response


# -- password policy --------------------------------------------------------------------------------


async def security_page(request: Request, session: WebSession, services: Any, form: Form | None = None,
                        status_code: int = 200, notice: str | None = None) -> Response:
    caller = session_caller(request, session)
    policy: Any = None
    error = None
    try:
        policy = await caller.call(services.identity.GetPasswordPolicy, ipb.GetPasswordPolicyRequest())
    except UpstreamError as exc:
        raise_if_signed_out(request, exc)
        error = problem_text(exc, caller.locale)
    values = form.values if form else ({
        "min_length": str(policy.min_length), "reject_common_passwords": policy.reject_common_passwords,
        "mfa_required_for_admins": policy.mfa_required_for_admins, "version": str(policy.version),
    } if policy is not None else {})
    return page(request, session, "settings_security.html", "security", {
        "form": form or Form(values, error=notice), "values": values, "load_error": error,
    }, status_code=status_code)


@router.get("/security")
async def security(request: Request, session: SessionDep, services: BackendsDep) -> Response:
    return await security_page(request, session, services)


@router.post("/security")
async def save_security(request: Request, session: SessionDep, services: BackendsDep) -> Response:
    raw = await request.form()
    caller = session_caller(request, session)
    values: dict[str, Any] = {
        "min_length": str(raw.get("min_length") or "").strip(),
        "reject_common_passwords": raw.get("reject_common_passwords") == "on",
        "mfa_required_for_admins": raw.get("mfa_required_for_admins") == "on",
        "version": str(raw.get("version") or "0"),
    }
    if not csrf_ok(raw, session):
        return await security_page(request, session, services, Form(values, error=expired(caller.locale)), 403)
    t = messages(caller.locale)
    if not values["min_length"].isdigit() or not 8 <= int(values["min_length"]) <= 128:
        return await security_page(request, session, services, Form(
            values, {"min_length": t.gettext("A whole number from 8 to 128.")},
            t.gettext("Please correct the highlighted fields.")), 400)
    policy = ipb.PasswordPolicy(min_length=int(values["min_length"]),
                                reject_common_passwords=values["reject_common_passwords"],
                                mfa_required_for_admins=values["mfa_required_for_admins"])
    try:
        await caller.call(services.identity.UpdatePasswordPolicy, ipb.UpdatePasswordPolicyRequest(
            policy=policy, update_mask=["min_length", "reject_common_passwords", "mfa_required_for_admins"],
            expected_version=int(values["version"]) if values["version"].isdigit() else 0))
    except UpstreamError as exc:
        errors, banner = failed(request, exc, caller.locale, lambda f: f.removeprefix("policy."))
        if exc.error.code == "stale_version":
            banner = t.gettext("Someone else changed these settings meanwhile; the form shows theirs now.")
            return await security_page(request, session, services, None, 412, notice=banner)
        return await security_page(request, session, services, Form(values, errors, banner), status_of(exc))
    return saved(request, f"{HOME}/security", N_("Password policy saved."))


# -- customer rules ---------------------------------------------------------------------------------


async def customer_rules_page(request: Request, session: WebSession, services: Any, form: Form | None = None,
                              status_code: int = 200) -> Response:
    caller = session_caller(request, session)
    current: Any = None
    error = None
    try:
        current = await caller.call(services.customers.GetCustomerSettings, cpb.GetCustomerSettingsRequest())
    except UpstreamError as exc:
        raise_if_signed_out(request, exc)
        error = problem_text(exc, caller.locale)
    values = form.values if form else ({
        "code_pattern": current.code_pattern, "duplicate_policy": current.duplicate_policy or "warn",
        "enforce_dictionaries": current.enforce_dictionaries, "version": str(current.version),
        "transitions": {f"{a}:{b}" for a, targets in current.status_transitions.items() for b in targets.to},
    } if current is not None else {})
    return page(request, session, "settings_customers.html", "customers", {
        "form": form or Form(values), "values": values, "load_error": error, "statuses": STATUSES,
    }, status_code=status_code)


@router.get("/customers")
async def customer_rules(request: Request, session: SessionDep, services: BackendsDep) -> Response:
    return await customer_rules_page(request, session, services)


@router.post("/customers")
async def save_customer_rules(request: Request, session: SessionDep, services: BackendsDep) -> Response:
    raw = await request.form()
    caller = session_caller(request, session)
    transitions = {str(v) for v in raw.getlist("transition")}
    values: dict[str, Any] = {
        "code_pattern": str(raw.get("code_pattern") or "").strip(),
        "duplicate_policy": str(raw.get("duplicate_policy") or "warn"),
        "enforce_dictionaries": raw.get("enforce_dictionaries") == "on",
        "version": str(raw.get("version") or "0"), "transitions": transitions,
    }
    if not csrf_ok(raw, session):
        return await customer_rules_page(request, session, services, Form(values, error=expired(caller.locale)), 403)
    request_message = cpb.UpdateCustomerSettingsRequest(
        code_pattern=values["code_pattern"], duplicate_policy=values["duplicate_policy"],
        enforce_dictionaries=values["enforce_dictionaries"], replace_status_transitions=True,
        expected_version=int(values["version"]) if values["version"].isdigit() else 0,
    )
    for source in STATUSES:
        request_message.status_transitions[source].to.extend(
            target for target in STATUSES if f"{source}:{target}" in transitions)
    try:
        await caller.call(services.customers.UpdateCustomerSettings, request_message)
    except UpstreamError as exc:
        errors, banner = failed(request, exc, caller.locale)
        errors = {("status_transitions" if k.startswith("status_transitions") else k): v for k, v in errors.items()}
        if exc.error.code == "stale_version":
            banner = messages(caller.locale).gettext(
                "Someone else changed these settings meanwhile; reload the page to see theirs.")
        return await customer_rules_page(request, session, services, Form(values, errors, banner), status_of(exc))
    return saved(request, f"{HOME}/customers", N_("Customer rules saved."))


# -- custom fields ------------------------------------------------------------------------------------


def field_values(source: Any) -> dict[str, Any]:
    return {
        "key": str(source.get("key") or "").strip(), "label": str(source.get("label") or "").strip(),
        "type": str(source.get("type") or "text"), "required": source.get("required") == "on",
        "options": str(source.get("options") or ""), "pattern": str(source.get("pattern") or "").strip(),
        "min": str(source.get("min") or "").strip(), "max": str(source.get("max") or "").strip(),
    }


def field_input(values: Mapping[str, Any], *, create: bool) -> cpb.CustomerFieldInput:
    options = [line.strip() for line in str(values["options"]).splitlines() if line.strip()]
    message = cpb.CustomerFieldInput(label=values["label"], required=values["required"], pattern=values["pattern"],
                                     min=values["min"], max=values["max"], options=options, options_set=True)
    if create:
        message.key, message.type = values["key"], values["type"]
    return message


async def fields_page(request: Request, session: WebSession, services: Any, *, form: Form | None = None,
                      editing: str = "", status_code: int = 200) -> Response:
    caller = session_caller(request, session)
    items: list[Any] = []
    error = None
    try:
        items = list((await caller.call(services.customers.ListCustomerFields,
                                        cpb.ListCustomerFieldsRequest())).items)
    except UpstreamError as exc:
        raise_if_signed_out(request, exc)
        error = problem_text(exc, caller.locale)
    edited = next((f for f in items if f.key == editing), None)
    if form is None:
        form = Form({"type": "text", "required": False, "options": ""} if edited is None else {
            "key": edited.key, "label": edited.label, "type": edited.type, "required": edited.required,
            "options": "\n".join(edited.options), "pattern": edited.pattern, "min": edited.min, "max": edited.max,
        })
    return page(request, session, "settings_fields.html", "fields", {
        "items": items, "load_error": error, "form": form, "editing": edited, "types": FIELD_TYPES,
    }, status_code=status_code)


@router.get("/fields")
async def fields(request: Request, session: SessionDep, services: BackendsDep, edit: str = "") -> Response:
    return await fields_page(request, session, services, editing=edit)


@router.post("/fields")
async def create_field(request: Request, session: SessionDep, services: BackendsDep) -> Response:
    raw = await request.form()
    caller = session_caller(request, session)
    values = field_values(raw)
    if not csrf_ok(raw, session):
        return await fields_page(request, session, services, form=Form(values, error=expired(caller.locale)),
                                 status_code=403)
    try:
        made = await caller.call(services.customers.CreateCustomerField,
                                 cpb.CreateCustomerFieldRequest(field=field_input(values, create=True)))
    except UpstreamError as exc:
        errors, banner = failed(request, exc, caller.locale, lambda f: f.removeprefix("field."))
        return await fields_page(request, session, services, form=Form(values, errors, banner),
                                 status_code=status_of(exc))
    return saved(request, f"{HOME}/fields", N_("Custom field %(name)s created."), name=made.label)


@router.post("/fields/{key}")
async def update_field(request: Request, key: str, session: SessionDep, services: BackendsDep) -> Response:
    raw = await request.form()
    caller = session_caller(request, session)
    values = {**field_values(raw), "key": key}
    if not csrf_ok(raw, session):
        return await fields_page(request, session, services, editing=key,
                                 form=Form(values, error=expired(caller.locale)), status_code=403)
    try:
        changed = await caller.call(services.customers.UpdateCustomerField, cpb.UpdateCustomerFieldRequest(
            key=key, field=field_input(values, create=False)))
    except UpstreamError as exc:
        errors, banner = failed(request, exc, caller.locale, lambda f: f.removeprefix("field."))
        return await fields_page(request, session, services, editing=key, form=Form(values, errors, banner),
                                 status_code=status_of(exc))
    return saved(request, f"{HOME}/fields", N_("Custom field %(name)s saved."), name=changed.label)


@router.post("/fields/{key}/delete")
async def delete_field(request: Request, key: str, session: SessionDep, services: BackendsDep) -> Response:
    raw = await request.form()
    caller = session_caller(request, session)
    if not csrf_ok(raw, session):
        return await fields_page(request, session, services, form=Form(error=expired(caller.locale)),
                                 status_code=403)
    try:
        gone = await caller.call(services.customers.DeleteCustomerField, cpb.DeleteCustomerFieldRequest(key=key))
    except UpstreamError as exc:
        _, banner = failed(request, exc, caller.locale)
        return await fields_page(request, session, services, form=Form(error=banner), status_code=status_of(exc))
    return saved(request, f"{HOME}/fields", N_("Custom field %(name)s deleted."), name=gone.field.label)


# -- dictionaries ------------------------------------------------------------------------------------


def entry_rows(source: Any) -> list[dict[str, str]]:
    """The dictionary form's rows (row i's inputs are named `<part>.<i>`); empty rows are dropped."""
    rows = []
    count = int(str(source.get("rows") or "0")) if str(source.get("rows") or "0").isdigit() else 0
    for i in range(min(count, 2100)):
        row = {part: str(source.get(f"{part}.{i}") or "").strip()
               for part in ("code", "label", "label_en", "label_zh", "parent")}
        if any(row.values()):
            rows.append(row)
    return rows


async def dictionary_page(request: Request, session: WebSession, services: Any, name: str, *,
                          form: Form | None = None, status_code: int = 200) -> Response:
    caller = session_caller(request, session)
    error = None
    rows: list[dict[str, str]] = []
    try:
        current = await caller.call(services.customers.GetDictionary, cpb.GetDictionaryRequest(name=name))
        rows = [{"code": e.code, "label": e.label, "label_en": e.label_en, "label_zh": e.label_zh,
                 "parent": e.parent, "shown": display_label(e, caller.locale)} for e in current.entries]
    except UpstreamError as exc:
        raise_if_signed_out(request, exc)
        error = problem_text(exc, caller.locale)
    if form is not None:
        rows = form.values["rows"]
    blank = {"code": "", "label": "", "label_en": "", "label_zh": "", "parent": ""}
    return page(request, session, "settings_dictionary.html", "dictionaries", {
        "name": name, "names": DICTIONARIES, "rows": [*rows, *([blank] * BLANK_ROWS)], "tree": name == "region",
        "form": form or Form(), "load_error": error,
    }, status_code=status_code)


@router.get("/dictionaries/{name}")
async def dictionary(request: Request, name: str, session: SessionDep, services: BackendsDep) -> Response:
    return await dictionary_page(request, session, services, name)


@router.post("/dictionaries/{name}")
async def save_dictionary(request: Request, name: str, session: SessionDep, services: BackendsDep) -> Response:
    raw = await request.form()
    caller = session_caller(request, session)
    rows = entry_rows(raw)
    if not csrf_ok(raw, session):
        return await dictionary_page(request, session, services, name,
                                     form=Form({"rows": rows}, error=expired(caller.locale)), status_code=403)
    entries = [cpb.DictionaryEntry(**row) for row in rows]
    try:
        await caller.call(services.customers.ReplaceDictionary, cpb.ReplaceDictionaryRequest(name=name,
                                                                                            entries=entries))
    except UpstreamError as exc:
        # entries[3].label -> "3.label": the row's input is marked.
        errors, banner = failed(request, exc, caller.locale,
                                lambda f: f.removeprefix("entries[").replace("].", ".", 1))
        return await dictionary_page(request, session, services, name, form=Form({"rows": rows}, errors, banner),
                                     status_code=status_of(exc))
    return saved(request, f"{HOME}/dictionaries/{name}", N_("Dictionary saved."))
