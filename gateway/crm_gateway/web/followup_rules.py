"""/app/followups/rules: the cadence rules (one-shot and recurring, tied to tags, with escalation)
and the outcome automation rules, listed for everyone with `followups:read` and managed (create,
enable/disable, delete) with `followups:manage`; and the cadence SLA table on the team follow-ups
page (`cadence_sla`). Everything goes to followups with the viewer's token, so the service's
permissions and data scope decide (docs/followups.md)."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any, Final

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from crm_gateway.api.common import BackendsDep
from crm_gateway.api.tags import check_tag_filter
from crm_gateway.clients import Caller
from crm_gateway.i18n import N_, Msg, messages
from crm_gateway.problems import Problem, UpstreamError
from crm_gateway.web import formatting
from crm_gateway.web.auth import session_caller
from crm_gateway.web.common import SessionDep, csrf_ok, flash_message, flash_text, problem_text, raise_if_signed_out
from crm_gateway.web.followups import dictionary_names, is_manager
from crm_gateway.web.session import WebCookies, WebSession
from crm_gateway.web.tag_choices import tenant_tags
from crm_gateway.web.templating import page_locale, render
from crm_platform.i18n import Messages
from crm_proto.crm.followups.v1 import automation_pb2 as apb
from crm_proto.crm.followups.v1 import followups_pb2 as pb
from crm_proto.crm.identity.v1 import identity_pb2

router = APIRouter(prefix="/app", include_in_schema=False)

PAGE: Final = "/app/followups/rules"
# Recurrence choices offered by the form (RFC 5545; "custom" takes the RRULE as typed).
RECURRENCES: Final[tuple[tuple[str, Msg, str], ...]] = (
    ("none", N_("Once, when the tag is applied"), ""),
    ("weekly", N_("Every week"), "FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=0;BYSECOND=0"),
    ("monthly", N_("Every month"), "FREQ=MONTHLY;BYMONTHDAY=1;BYHOUR=9;BYMINUTE=0;BYSECOND=0"),
    ("quarterly", N_("Every quarter"), "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=1;BYHOUR=9;BYMINUTE=0;BYSECOND=0"),
    ("custom", N_("Custom RRULE"), ""),
)
TRIGGERS: Final[dict[str, Msg]] = {
    "record_result": N_("A follow-up is logged with result"),
    "order_recorded": N_("An order is recorded of kind"),
    "tag_applied": N_("A tag is applied"),
}
ACTIONS: Final[dict[str, Msg]] = {"add_tag": N_("Add the tag"), "set_status": N_("Set the status")}
ORDER_KINDS: Final[dict[str, Msg]] = {"order": N_("Order"), "contract": N_("Contract")}
STATUSES: Final[dict[str, Msg]] = {"potential": N_("Potential"), "intent": N_("Intent"), "won": N_("Won"),
                                    "lost": N_("Lost")}


def recurrence_label(rule: str, text: Messages) -> str:
    """The form's name for a rule it offers, else the RRULE itself."""
    for _key, label, body in RECURRENCES:
        if body and body == rule:
            return text.text(label)
    return rule or text.text(RECURRENCES[0][1])


@dataclass
class SlaRow:
    name: str
    total: int
    on_time: int
    late: int
    overdue_open: int
    share: str


async def cadence_sla(caller: Caller, services: Any, users: dict[str, str]) -> dict[str, list[SlaRow]] | None:
    """The SLA table of the team page: per rep and team in the viewer's scope; None when there is
    nothing to show or followups does not answer (the page works without it)."""
    try:
        reply = await caller.call(services.followup_automation.GetCadenceSla, apb.GetCadenceSlaRequest())
    except UpstreamError:
        return None
    if not reply.overall.total:
        return None
    teams: dict[str, str] = {}
    with contextlib.suppress(UpstreamError):
        teams = {t.id: t.name for t in (await caller.call(services.identity.ListTeams,
                                                          identity_pb2.ListTeamsRequest())).items}
    text = messages(caller.locale)

    def row(line: Any, name: str) -> SlaRow:
        return SlaRow(name, line.total, line.on_time, line.late, line.overdue_open,
                      f"{formatting.number(round(line.on_time_share * 100, 1), caller.locale)}%")

    def person(uid: str) -> str:
        return users.get(uid) or (uid[:8] if uid else text.gettext("Unassigned"))

    def team(tid: str) -> str:
        return teams.get(tid) or (tid[:8] if tid else text.gettext("No team"))

    return {"reps": [row(x, person(x.id)) for x in reply.reps], "teams": [row(x, team(x.id)) for x in reply.teams],
            "overall": [row(reply.overall, text.gettext("All"))]}


@router.get("/followups/rules")
async def rules_page(request: Request, session: SessionDep, services: BackendsDep) -> Response:
    caller = session_caller(request, session)
    locale = caller.locale
    text = messages(locale)
    cookies: WebCookies = request.app.state.web_cookies
    flash = cookies.read_flash(request)
    context: dict[str, Any] = {"session": session, "tab": "rules", "manager": is_manager(session),
                               "flash": flash_text(flash, locale), "error": (flash or {}).get("text")}
    try:
        cadences, automations, tags, (_methods, results) = await asyncio.gather(
            caller.call(services.followups.ListCadenceRules, pb.ListCadenceRulesRequest()),
            caller.call(services.followup_automation.ListAutomationRules, apb.ListAutomationRulesRequest()),
            tenant_tags(caller, services), dictionary_names(caller, services))
    except UpstreamError as exc:
        raise_if_signed_out(request, exc)
        return render(request, "followup_rules.html", {**context, "cadences": [], "automations": [], "tags": [],
                                                        "error": problem_text(exc, locale)}, status_code=502)
    tag_names = {t.id: t.name for t in tags}
    result_names = dict(results)
    zone = await formatting.tenant_zone(caller, services)
    colon = "：" if locale == "zh-CN" else ": "

    def when(rule: Any) -> str:
        value = rule.trigger_value
        if rule.trigger == "record_result":
            value = result_names.get(value, value)
        elif rule.trigger == "order_recorded":
            value = text.text(ORDER_KINDS[value]) if value in ORDER_KINDS else value
        else:
            value = tag_names.get(value, value[:8])
        return f"{text.text(TRIGGERS[rule.trigger]) if rule.trigger in TRIGGERS else rule.trigger}{colon}{value}"

    def then(rule: Any) -> str:
        if rule.action == "add_tag":
            return f"{text.text(ACTIONS['add_tag'])}{colon}{tag_names.get(rule.tag_id, rule.tag_id[:8])}"
        status = text.text(STATUSES[rule.status]) if rule.status in STATUSES else rule.status
        reason = text.gettext(" (%(reason)s)", reason=rule.reason)
        return f"{text.text(ACTIONS['set_status'])}{colon}{status}{reason}"

    context.update({
        "cadences": [{"id": r.id, "title": r.title, "tag": tag_names.get(r.tag_id, r.tag_id[:8]),
                      "recurring": bool(r.rrule), "recurrence": recurrence_label(r.rrule, text),
                      "due_in_days": r.due_in_days, "escalate": r.escalate_after_days, "enabled": r.enabled}
                     for r in cadences.items],
        "automations": [{"id": r.id, "name": r.name, "when": when(r), "then": then(r), "enabled": r.enabled,
                         "fired": r.fired_count} for r in automations.items],
        "tags": [(t.id, t.name) for t in tags], "results": results, "zone": zone,
        "recurrences": [(key, text.text(label)) for key, label, _ in RECURRENCES],
        "triggers": [(k, text.text(v)) for k, v in TRIGGERS.items()],
        "actions": [(k, text.text(v)) for k, v in ACTIONS.items()],
        "order_kinds": [(k, text.text(v)) for k, v in ORDER_KINDS.items()],
        "statuses": [(k, text.text(v)) for k, v in STATUSES.items()],
    })
    response = render(request, "followup_rules.html", context)
    cookies.clear_flash(request, response)
    return response


async def _act(request: Request, session: WebSession, services: Any, call: Any, done: Msg) -> Response:
    """Runs a rule change for a form post and goes back to the page with the outcome."""
    form = await request.form()
    cookies: WebCookies = request.app.state.web_cookies
    response = RedirectResponse(PAGE, status_code=303)
    if not csrf_ok(form, session):
        return response
    caller = session_caller(request, session)
    try:
        await call(caller, form)
    except UpstreamError as exc:
        raise_if_signed_out(request, exc)
        cookies.flash(response, {"text": problem_text(exc, page_locale(request))})
        return response
    except Problem as exc:
        fields = ", ".join(str(e.get("field", "")) for e in (exc.errors or []))
        cookies.flash(response, {"text": messages(page_locale(request)).gettext(
            "Check these fields: %(fields)s", fields=fields)})
        return response
    cookies.flash(response, flash_message(done))
    return response


def _int(value: Any) -> int:
    try:
        return max(min(int(str(value or "0").strip()), 2**31 - 1), -(2**31))
    except ValueError:
        return 0


@router.post("/followups/rules/cadences")
async def create_cadence(request: Request, session: SessionDep, services: BackendsDep) -> Response:
    async def call(caller: Caller, form: Any) -> None:
        choice = str(form.get("recurrence") or "none")
        rule = str(form.get("rrule") or "") if choice == "custom" else \
            next((text for key, _, text in RECURRENCES if key == choice), "")
        tag_id = str(form.get("tag_id") or "")
        if tag_id:
            await check_tag_filter(caller, services, [tag_id], "tag_id")
        zone = ""
        if rule:
            zone = (await caller.call(services.identity.GetTenant, identity_pb2.GetTenantRequest())).time_zone
        await caller.call(services.followups.CreateCadenceRule, pb.CreateCadenceRuleRequest(
            tag_id=tag_id, title=str(form.get("title") or ""), due_in_days=_int(form.get("due_in_days")), rrule=rule,
            time_zone=zone, escalate_after_days=_int(form.get("escalate_after_days"))))

    return await _act(request, session, services, call, N_("Cadence rule created."))


@router.post("/followups/rules/cadences/{rule_id}")
async def change_cadence(request: Request, rule_id: str, session: SessionDep, services: BackendsDep) -> Response:
    async def call(caller: Caller, form: Any) -> None:
        if form.get("action") == "delete":
            await caller.call(services.followup_automation.DeleteCadenceRule, apb.DeleteCadenceRuleRequest(id=rule_id))
        else:
            await caller.call(services.followup_automation.UpdateCadenceRule, apb.UpdateCadenceRuleRequest(
                id=rule_id, update_mask=["enabled"], enabled=form.get("action") == "enable"))

    return await _act(request, session, services, call, N_("Cadence rule updated."))


@router.post("/followups/rules/automations")
async def create_automation(request: Request, session: SessionDep, services: BackendsDep) -> Response:
    async def call(caller: Caller, form: Any) -> None:
        trigger = str(form.get("trigger") or "")
        value = str(form.get(f"value_{trigger}") or "")
        action = str(form.get("action") or "")
        tag_id = str(form.get("tag_id") or "") if action == "add_tag" else ""
        if tag_id:
            await check_tag_filter(caller, services, [tag_id], "tag_id")
        await caller.call(services.followup_automation.CreateAutomationRule, apb.AutomationRuleInput(
            name=str(form.get("name") or ""), trigger=trigger, trigger_value=value, action=action, tag_id=tag_id,
            status=str(form.get("status") or "") if action == "set_status" else "",
            reason=str(form.get("reason") or "") if action == "set_status" else ""))

    return await _act(request, session, services, call, N_("Automation rule created."))


@router.post("/followups/rules/automations/{rule_id}")
async def change_automation(request: Request, rule_id: str, session: SessionDep, services: BackendsDep) -> Response:
    async def call(caller: Caller, form: Any) -> None:
        if form.get("action") == "delete":
            await caller.call(services.followup_automation.DeleteAutomationRule,
                              apb.DeleteAutomationRuleRequest(id=rule_id))
        else:
            await caller.call(services.followup_automation.UpdateAutomationRule, apb.UpdateAutomationRuleRequest(
                id=rule_id, update_mask=["enabled"], enabled=form.get("action") == "enable"))

    return await _act(request, session, services, call, N_("Automation rule updated."))
