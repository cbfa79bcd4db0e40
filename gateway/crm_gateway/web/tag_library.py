"""/app/tags: the tag library (categories, tags with counts, rename / archive / merge / delete, the
per-customer limit), rules (a condition builder with preview before saving, enable, re-run,
delete with take-back) and the usage review (per-tag use, suggestions, bulk archive). Every page
calls tagging with the session's token, so scopes and data scope are enforced as for the REST API
(docs/tagging.md)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Final

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from starlette.datastructures import FormData
from starlette.responses import Response

from crm_gateway.api.common import BackendsDep, timestamp
from crm_gateway.clients import Caller
from crm_gateway.i18n import N_, Locale, Msg, messages
from crm_gateway.problems import GRPC_TO_HTTP, INTERNAL, UpstreamError, localise_field_errors
from crm_gateway.web import formatting
from crm_gateway.web.auth import session_caller, token_claims
from crm_gateway.web.common import SessionDep, csrf_ok, flash_message, flash_text, problem_text, raise_if_signed_out
from crm_gateway.web.session import WebCookies, WebSession
from crm_gateway.web.tag_choices import color_stylesheet
from crm_gateway.web.templating import page_locale, render
from crm_proto.crm.tagging.v1 import tagging_pb2 as pb

router = APIRouter(prefix="/app", include_in_schema=False)

PAGE: Final = "/app/tags"
BUILTIN_CATEGORIES: Final[dict[str, Msg]] = {
    "basic": N_("Basic information"), "behaviour": N_("Behaviour"), "value": N_("Value"),
    "preference": N_("Preference"),
}
SECTIONS: Final[tuple[tuple[str, str, Msg], ...]] = (
    ("library", PAGE, N_("Tag library")), ("rules", f"{PAGE}/rules", N_("Rules")),
    ("usage", f"{PAGE}/usage", N_("Usage review")), ("segments", f"{PAGE}/segments", N_("Segments")),
)
# The condition builder: subjects a row may test (fields, then metrics), and the operators offered.
FIELD_SUBJECTS: Final[tuple[tuple[str, Msg], ...]] = (
    ("industry", N_("Industry")), ("region", N_("Region")), ("status", N_("Status")), ("type", N_("Type")),
    ("source", N_("Source")), ("name", N_("Name")), ("employees", N_("Employees")),
    ("annual_revenue", N_("Annual revenue")), ("first_contact_date", N_("First contact date")),
    # Reporting's value segment: the value is high_value, potential, normal or low_value.
    ("value_segment", N_("Value segment (high_value, potential, normal, low_value)")),
)
METRIC_SUBJECTS: Final[tuple[tuple[str, Msg], ...]] = (
    ("metric:order_amount", N_("Largest order amount")),
    ("metric:orders_in_days", N_("Orders in the last N days")),
    ("metric:days_since_last_interaction", N_("Days since the last interaction")),
    ("metric:spend_12m", N_("Spend in the last 12 months (CNY)")),
    ("metric:orders_30d", N_("Orders in the last 30 days")),
)
OPERATORS: Final[tuple[tuple[str, Msg], ...]] = (
    ("equals", N_("is")), ("not_equals", N_("is not")), ("in", N_("is one of")), ("contains", N_("contains")),
    ("gte", N_("at least")), ("lte", N_("at most")), ("empty", N_("is empty")), ("not_empty", N_("is not empty")),
)
ROWS: Final = 3


def _scopes(session: WebSession) -> set[str]:
    return set(str(token_claims(session.token).get("scope", "")).split())


def category_name(message: Any, locale: Locale) -> str:
    """A built-in category in the reader's language while it keeps its default name."""
    default = BUILTIN_CATEGORIES.get(message.key)
    if default is not None and message.name == default.msgid:
        return messages(locale).text(default)
    return str(message.name)


@dataclass
class RuleForm:
    values: dict[str, Any] = field(default_factory=lambda: {"match": "all", "action": "add", "priority": "100",
                                                            "rows": [{} for _ in range(ROWS)]})
    field_errors: list[str] = field(default_factory=list)
    error: str | None = None
    preview: dict[str, Any] | None = None


def _status(exc: UpstreamError) -> int:
    return GRPC_TO_HTTP.get(exc.error.status, INTERNAL)[0]


def _redirect(request: Request, path: str, done: Msg, **params: object) -> Response:
    response = RedirectResponse(path, status_code=303)
    cookies: WebCookies = request.app.state.web_cookies
    cookies.flash(response, flash_message(done, **params))
    return response


async def _base_context(request: Request, session: WebSession, caller: Caller, current: str) -> dict[str, Any]:
    cookies: WebCookies = request.app.state.web_cookies
    locale = caller.locale
    t = messages(locale)
    return {
        "session": session, "current": current,
        "sections": [{"key": k, "href": h, "title": t.text(m)} for k, h, m in SECTIONS],
        "flash": flash_text(cookies.read_flash(request), locale),
        "can_manage": "tags:manage" in _scopes(session),
    }


async def _library(caller: Caller, services: Any) -> tuple[list[Any], list[Any], Any]:
    tags: list[Any] = []
    token = ""
    while True:
        reply = await caller.call(services.tagging.ListTags, pb.ListTagsRequest(page_size=500, page_token=token))
        tags += list(reply.items)
        token = reply.next_page_token
        if not token or len(tags) >= 2000:
            break
    categories = (await caller.call(services.tagging.ListTagCategories, pb.ListTagCategoriesRequest())).items
    settings = await caller.call(services.tagging.GetTaggingSettings, pb.GetTaggingSettingsRequest())
    return list(categories), tags, settings


def _tag_row(message: Any, locale: Locale) -> dict[str, Any]:
    return {"id": message.id, "name": message.name, "color": message.color, "color_key": message.color[1:],
            "description": message.description, "category_id": message.category_id, "group": message.exclusive_group,
            "archived": message.archived, "count": message.customer_count,
            "created": formatting.on(timestamp(message.created_at), locale)}


async def _render(request: Request, session: WebSession, services: Any, template: str, current: str,
                  extra: dict[str, Any], status_code: int = 200) -> Response:
    caller = session_caller(request, session)
    locale = caller.locale
    context = await _base_context(request, session, caller, current)
    try:
        categories, tags, settings = await _library(caller, services)
    except UpstreamError as exc:
        raise_if_signed_out(request, exc)
        categories, tags, settings = [], [], None
        context["load_error"] = problem_text(exc, locale)
    rows = [_tag_row(t, locale) for t in tags]
    groups = [{"id": c.id, "name": category_name(c, locale), "builtin": bool(c.key),
               "tags": [r for r in rows if r["category_id"] == c.id]} for c in categories]
    known = {c.id for c in categories}
    loose = [r for r in rows if r["category_id"] not in known]
    if loose:
        groups.append({"id": "", "name": messages(locale).gettext("Uncategorised"), "builtin": True, "tags": loose})
    context.update({"groups": groups, "tags": rows, "categories": [{"id": c.id, "name": category_name(c, locale)}
                                                                   for c in categories],
                    "limit": settings.max_tags_per_customer if settings else None,
                    "stylesheet": color_stylesheet(r["color"] for r in rows), **extra})
    response = render(request, template, context, status_code=status_code)
    cookies: WebCookies = request.app.state.web_cookies
    cookies.clear_flash(request, response)
    return response


# -- the library -------------------------------------------------------------------------------------


@router.get("/tags")
async def library(request: Request, session: SessionDep, services: BackendsDep) -> Response:
    return await _render(request, session, services, "tags_library.html", "library", {})


async def _form_action(request: Request, session: WebSession, services: Any, call: Any, done: Msg, back: str,
                       **params: object) -> Response:
    """One form post: CSRF, the call, back to `back` with `done` flashed, or the page with the problem."""
    form = await request.form()
    locale = page_locale(request)
    if not csrf_ok(form, session):
        return await _render(request, session, services, "tags_library.html", "library",
                             {"error": messages(locale).gettext("The form expired; please submit it again.")}, 403)
    caller = session_caller(request, session)
    try:
        await call(caller, form)
    except UpstreamError as exc:
        raise_if_signed_out(request, exc)
        template, current = ("tags_rules.html", "rules") if back.endswith("/rules") else (
            ("tags_usage.html", "usage") if back.endswith("/usage") else ("tags_library.html", "library"))
        extra: dict[str, Any] = {"error": problem_text(exc, locale)}
        if current == "rules":
            extra |= await _rules_context(caller, services, RuleForm())
        if current == "usage":
            extra |= await _usage_context(caller, services)
        return await _render(request, session, services, template, current, extra, _status(exc))
    return _redirect(request, back, done, **params)


def _text(form: FormData, name: str) -> str:
    return str(form.get(name) or "").strip()


@router.post("/tags")
async def create_tag(request: Request, session: SessionDep, services: BackendsDep) -> Response:
    async def call(caller: Caller, form: FormData) -> None:
        await caller.call(services.tagging.CreateTag, pb.CreateTagRequest(
            name=_text(form, "name"), color=_text(form, "color"), description=_text(form, "description"),
            category_id=_text(form, "category_id"), exclusive_group=_text(form, "exclusive_group")))
    return await _form_action(request, session, services, call, N_("Tag created."), PAGE)


@router.post("/tags/{tag_id}/edit")
async def edit_tag(request: Request, tag_id: str, session: SessionDep, services: BackendsDep) -> Response:
    async def call(caller: Caller, form: FormData) -> None:
        await caller.call(services.tagging.UpdateTag, pb.UpdateTagRequest(
            id=tag_id, name=_text(form, "name"), color=_text(form, "color"), description=_text(form, "description"),
            category_id=_text(form, "category_id"), exclusive_group=_text(form, "exclusive_group")))
    return await _form_action(request, session, services, call, N_("Tag saved."), PAGE)


@router.post("/tags/{tag_id}/archive")
async def archive_tag(request: Request, tag_id: str, session: SessionDep, services: BackendsDep) -> Response:
    async def call(caller: Caller, form: FormData) -> None:
        await caller.call(services.tagging.UpdateTag, pb.UpdateTagRequest(
            id=tag_id, archived=_text(form, "archived") != "false"))
    return await _form_action(request, session, services, call, N_("Tag updated."), PAGE)


@router.post("/tags/{tag_id}/merge")
async def merge_tag(request: Request, tag_id: str, session: SessionDep, services: BackendsDep) -> Response:
    async def call(caller: Caller, form: FormData) -> None:
        await caller.call(services.tagging.MergeTags, pb.MergeTagsRequest(
            source_tag_id=tag_id, target_tag_id=_text(form, "into_tag_id")))
    return await _form_action(request, session, services, call, N_("Tags merged."), PAGE)


@router.post("/tags/{tag_id}/delete")
async def delete_tag(request: Request, tag_id: str, session: SessionDep, services: BackendsDep) -> Response:
    async def call(caller: Caller, form: FormData) -> None:
        await caller.call(services.tagging.DeleteTag, pb.DeleteTagRequest(id=tag_id))
    return await _form_action(request, session, services, call, N_("Tag deleted and taken off its customers."), PAGE)


@router.post("/tags/categories")
async def create_category(request: Request, session: SessionDep, services: BackendsDep) -> Response:
    async def call(caller: Caller, form: FormData) -> None:
        await caller.call(services.tagging.CreateTagCategory, pb.CreateTagCategoryRequest(
            name=_text(form, "name"), description=_text(form, "description")))
    return await _form_action(request, session, services, call, N_("Category created."), PAGE)


@router.post("/tags/categories/{category_id}/delete")
async def delete_category(request: Request, category_id: str, session: SessionDep, services: BackendsDep) -> Response:
    async def call(caller: Caller, form: FormData) -> None:
        await caller.call(services.tagging.DeleteTagCategory, pb.DeleteTagCategoryRequest(id=category_id))
    return await _form_action(request, session, services, call, N_("Category deleted."), PAGE)


@router.post("/tags/settings")
async def save_settings(request: Request, session: SessionDep, services: BackendsDep) -> Response:
    async def call(caller: Caller, form: FormData) -> None:
        raw = _text(form, "max_tags_per_customer")
        await caller.call(services.tagging.UpdateTaggingSettings, pb.UpdateTaggingSettingsRequest(
            max_tags_per_customer=int(raw) if raw.isdigit() else 0))
    return await _form_action(request, session, services, call, N_("Tag limit saved."), PAGE)


# -- rules -------------------------------------------------------------------------------------------


def _summary(conditions: dict[str, Any], locale: Locale) -> str:
    """A rule's conditions in words, for the list."""
    t = messages(locale)
    labels = {k: t.text(m) for k, m in (*FIELD_SUBJECTS, *METRIC_SUBJECTS)}
    ops = {k: t.text(m) for k, m in OPERATORS} | {"between": t.gettext("between")}

    def leaf(node: dict[str, Any]) -> str:
        subject = node.get("field") or f"metric:{node.get('metric')}"
        name = labels.get(subject, str(node.get("field") or node.get("metric")))
        if node.get("metric") == "orders_in_days":
            name = t.gettext("Orders in the last %(days)s days", days=node.get("days"))
        value = node.get("value", ", ".join(node.get("values", [])) or
                         (f"{node.get('min')}–{node.get('max')}" if "min" in node else ""))
        return f"{name} {ops.get(node['op'], node['op'])} {value}".strip()

    def walk(node: dict[str, Any]) -> str:
        for group, word in (("all", t.gettext("and")), ("any", t.gettext("or"))):
            if group in node:
                parts = [walk(child) for child in node[group]]
                return f" {word} ".join(f"({p})" if (" " + t.gettext("and") + " ") in p or
                                        (" " + t.gettext("or") + " ") in p else p for p in parts)
        return leaf(node)

    return walk(conditions)


async def _rules_context(caller: Caller, services: Any, form: RuleForm) -> dict[str, Any]:
    locale = caller.locale
    t = messages(locale)
    reply = await caller.call(services.tagging.ListTagRules, pb.ListTagRulesRequest())
    rules = [{"id": r.id, "name": r.name or r.tag_name, "tag_name": r.tag_name, "action": r.action,
              "priority": r.priority, "enabled": r.enabled, "time_based": r.time_based,
              "summary": _summary(json.loads(r.conditions_json or "{}"), locale),
              "last_run": formatting.at(timestamp(r.last_run_at), locale)} for r in reply.items]
    return {"rules": rules, "form": form,
            "subjects": [(k, t.text(m)) for k, m in FIELD_SUBJECTS],
            "metrics": [(k, t.text(m)) for k, m in METRIC_SUBJECTS],
            "operators": [(k, t.text(m)) for k, m in OPERATORS]}


@router.get("/tags/rules")
async def rules_page(request: Request, session: SessionDep, services: BackendsDep) -> Response:
    caller = session_caller(request, session)
    try:
        extra = await _rules_context(caller, services, RuleForm())
    except UpstreamError as exc:
        raise_if_signed_out(request, exc)
        extra = {"rules": [], "form": RuleForm(), "error": problem_text(exc, caller.locale)}
    return await _render(request, session, services, "tags_rules.html", "rules", extra)


def conditions_from_form(form: FormData) -> tuple[dict[str, Any], dict[str, Any]]:
    """The builder's rows as a condition tree (rows without a subject are ignored), and the form
    values to show again."""
    rows = []
    leaves = []
    for i in range(ROWS):
        row = {k: _text(form, f"c{i}_{k}") for k in ("subject", "op", "value", "days")}
        rows.append(row)
        subject = row["subject"]
        if not subject:
            continue
        if subject.startswith("metric:"):
            leaf: dict[str, Any] = {"metric": subject.removeprefix("metric:"), "op": row["op"], "value": row["value"]}
            if leaf["metric"] == "orders_in_days":
                leaf["days"] = int(row["days"]) if row["days"].isdigit() else 0
        elif row["op"] == "in":
            leaf = {"field": subject, "op": "in", "values": [v for v in row["value"].replace("，", ",").split(",")
                                                             if v.strip()]}
        else:
            leaf = {"field": subject, "op": row["op"]}
            if row["op"] not in ("empty", "not_empty"):
                leaf["value"] = row["value"]
        leaves.append(leaf)
    match = "any" if _text(form, "match") == "any" else "all"
    values = {"match": match, "rows": rows, "tag_id": _text(form, "tag_id"), "name": _text(form, "name"),
              "action": _text(form, "action") or "add", "priority": _text(form, "priority") or "100"}
    return {match: leaves}, values


@router.post("/tags/rules")
async def save_rule(request: Request, session: SessionDep, services: BackendsDep) -> Response:
    """The builder's two buttons: `preview` shows the count and a sample; `save` creates the rule."""
    form = await request.form()
    locale = page_locale(request)
    caller = session_caller(request, session)
    tree, values = conditions_from_form(form)
    rule_form = RuleForm(values)
    status = 200
    if not csrf_ok(form, session):
        rule_form.error, status = messages(locale).gettext("The form expired; please submit it again."), 403
    elif not next(iter(tree.values())):
        rule_form.error, status = messages(locale).gettext("Add at least one condition."), 400
    else:
        try:
            if form.get("intent") == "save":
                request_pb = pb.CreateTagRuleRequest(
                    tag_id=values["tag_id"], name=values["name"], conditions_json=json.dumps(tree, ensure_ascii=False),
                    action=values["action"])
                if values["priority"].isdigit():
                    request_pb.priority = int(values["priority"])
                await caller.call(services.tagging.CreateTagRule, request_pb)
                return _redirect(request, f"{PAGE}/rules", N_("Rule saved. It runs on changes from now on; "
                                                              "re-run it to cover existing customers."))
            reply = await caller.call(services.tagging.PreviewTagRule,
                                      pb.PreviewTagRuleRequest(conditions_json=json.dumps(tree, ensure_ascii=False)))
            sample = await _customer_names(caller, services, list(reply.sample_customer_ids))
            rule_form.preview = {"count": reply.count, "sample": sample, "time_based": reply.time_based}
        except UpstreamError as exc:
            raise_if_signed_out(request, exc)
            rule_form.field_errors = [f"{e['field']}: {e['message']}" for e in
                                      localise_field_errors(exc.error.errors, locale)]
            rule_form.error, status = problem_text(exc, locale), _status(exc)
    extra = await _rules_context(caller, services, rule_form)
    return await _render(request, session, services, "tags_rules.html", "rules", extra, status)


async def _customer_names(caller: Caller, services: Any, ids: list[str]) -> list[dict[str, str]]:
    if not ids:
        return []
    from crm_proto.crm.customers.v1 import customers_pb2 as customers_pb

    try:
        reply = await caller.call(services.customers.ListCustomers,
                                  customers_pb.ListCustomersRequest(ids=ids, page_size=len(ids)))
    except UpstreamError:
        return [{"id": i, "name": i[:8]} for i in ids]
    return [{"id": c.id, "name": c.name} for c in reply.items]


@router.post("/tags/rules/{rule_id}/toggle")
async def toggle_rule(request: Request, rule_id: str, session: SessionDep, services: BackendsDep) -> Response:
    async def call(caller: Caller, form: FormData) -> None:
        await caller.call(services.tagging.UpdateTagRule, pb.UpdateTagRuleRequest(
            id=rule_id, enabled=_text(form, "enabled") == "true"))
    return await _form_action(request, session, services, call, N_("Rule updated."), f"{PAGE}/rules")


@router.post("/tags/rules/{rule_id}/rerun")
async def rerun_rule(request: Request, rule_id: str, session: SessionDep, services: BackendsDep) -> Response:
    async def call(caller: Caller, form: FormData) -> None:
        await caller.call(services.tagging.RerunTagRule, pb.RerunTagRuleRequest(id=rule_id))
    return await _form_action(request, session, services, call,
                              N_("Re-run queued: existing customers are being checked."), f"{PAGE}/rules")


@router.post("/tags/rules/{rule_id}/delete")
async def delete_rule(request: Request, rule_id: str, session: SessionDep, services: BackendsDep) -> Response:
    async def call(caller: Caller, form: FormData) -> None:
        await caller.call(services.tagging.DeleteTagRule, pb.DeleteTagRuleRequest(
            id=rule_id, take_back=_text(form, "take_back") == "true"))
    return await _form_action(request, session, services, call, N_("Rule deleted."), f"{PAGE}/rules")


# -- usage review ------------------------------------------------------------------------------------


async def _usage_context(caller: Caller, services: Any) -> dict[str, Any]:
    locale = caller.locale
    usage = await caller.call(services.tagging.GetTagUsage, pb.GetTagUsageRequest())
    names = {r.tag.id: r.tag.name for r in usage.rows}
    rows = []
    for r in usage.rows:
        applied = r.applied_by_hand_90d + r.applied_by_rule_90d
        rows.append({**_tag_row(r.tag, locale), "applied": r.applied_90d, "removed": r.removed_90d,
                     "by_hand": r.applied_by_hand_90d, "by_rule": r.applied_by_rule_90d,
                     "rule_share": round(100 * r.applied_by_rule_90d / applied) if applied else None,
                     "last_applied": formatting.on(timestamp(r.last_applied_at), locale),
                     "unused": r.tag.customer_count == 0 and r.applied_90d == 0 and not r.tag.archived})
    overlaps = [{"a": names.get(o.tag_id, ""), "b": names.get(o.other_tag_id, ""), "a_id": o.tag_id,
                 "b_id": o.other_tag_id, "both": o.both, "percent": round(o.ratio * 100)} for o in usage.overlaps]
    return {"usage": rows, "unused": [r for r in rows if r["unused"]], "overlaps": overlaps}


@router.get("/tags/usage")
async def usage_page(request: Request, session: SessionDep, services: BackendsDep) -> Response:
    caller = session_caller(request, session)
    try:
        extra = await _usage_context(caller, services)
    except UpstreamError as exc:
        raise_if_signed_out(request, exc)
        extra = {"usage": [], "unused": [], "overlaps": [], "error": problem_text(exc, caller.locale)}
    return await _render(request, session, services, "tags_usage.html", "usage", extra)


@router.post("/tags/usage/archive-selected")
async def archive_many(request: Request, session: SessionDep, services: BackendsDep) -> Response:
    """The quarterly review: archive every ticked tag."""
    archived = 0

    async def call(caller: Caller, form: FormData) -> None:
        nonlocal archived
        for tag_id in form.getlist("tag_id"):
            await caller.call(services.tagging.UpdateTag, pb.UpdateTagRequest(id=str(tag_id), archived=True))
            archived += 1
    response = await _form_action(request, session, services, call, N_("%(count)s tags archived."),
                                  f"{PAGE}/usage")
    if isinstance(response, RedirectResponse):
        return _redirect(request, f"{PAGE}/usage", N_("%(count)s tags archived."), count=archived)
    return response
