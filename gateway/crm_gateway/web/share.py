"""/s/<token>: the public, read-only page of a share link (docs/reporting.md, "Share links").

Outside the sign-in: no session, no menu. Reporting's `OpenShareLink` (a public RPC; the token is the
credential) checks the link and computes its dashboard under the sharer's access frozen at creation;
this page draws it with the home page's panel code and charts (web/dashboard.py, static/dashboard.js),
without any link into the app, customer ids or filters. A password-protected link asks for the
password (POST, never in the URL). An unknown token answers a styled 404, an expired or revoked link
a styled 410, too many requests a styled 429, never JSON. Every open is audited by reporting.

Rate limits, per gateway process (like the API's, `ratelimit.py`): page views per client address
(burst 60, one a second) and per link (burst 120, two a second), password attempts per address and
link (burst 5, one a minute)."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Final

from fastapi import APIRouter, Request
from starlette.responses import Response

from crm_gateway.api.common import AnonymousDep, BackendsDep
from crm_gateway.dictionary_names import DictionaryNames
from crm_gateway.i18n import messages
from crm_gateway.ratelimit import BucketPolicy, TokenBucket
from crm_gateway.web import formatting
from crm_gateway.web.dashboard import PANEL_TITLES, RANGE_LABELS, WIDE, Context, Panel, _panel
from crm_gateway.web.reports import PivotTable, pivot_table
from crm_gateway.web.templating import message_page, page_locale, render
from crm_proto.crm.reporting.v1 import delivery_pb2 as pb

router = APIRouter(include_in_schema=False)

VIEWS_PER_ADDRESS: Final = BucketPolicy(rate=1.0, burst=60)
VIEWS_PER_LINK: Final = BucketPolicy(rate=2.0, burst=120)
PASSWORD_TRIES: Final = BucketPolicy(rate=1 / 60, burst=5)
MAX_BUCKETS: Final = 50_000
OPEN_DEADLINE: Final = 30.0


@dataclass
class ShareLimiter:
    """Token buckets by key; the oldest are dropped beyond MAX_BUCKETS (bounded memory). Each of
    the gateway's `workers` processes gets its share of every budget (as `app.rate_limiter`), so
    together they never allow more than the figures above."""

    workers: int = 1
    buckets: dict[tuple[str, ...], TokenBucket] = field(default_factory=dict)

    def take(self, *keys: tuple[tuple[str, ...], BucketPolicy]) -> int:
        """Takes one token from every bucket, or none; returns 0, or the seconds to wait."""
        now = time.monotonic()
        buckets = []
        for key, whole in keys:
            policy = BucketPolicy(whole.rate / self.workers, max(1, whole.burst // self.workers))
            bucket = self.buckets.get(key)
            if bucket is None:
                if len(self.buckets) >= MAX_BUCKETS:
                    self.buckets.pop(next(iter(self.buckets)))
                bucket = self.buckets[key] = TokenBucket(policy, float(policy.burst), now)
            else:
                bucket.refill(now)
            buckets.append(bucket)
        if all(b.tokens >= 1 for b in buckets):
            for b in buckets:
                b.tokens -= 1
            return 0
        return max(1, int(max(b.seconds_until(1) for b in buckets)) + 1)


def limiter(request: Request) -> ShareLimiter:
    found = getattr(request.app.state, "share_limiter", None)
    if found is None:
        workers = max(1, int(getattr(request.app.state.settings, "workers", 1) or 1))
        found = request.app.state.share_limiter = ShareLimiter(workers)
    return found


def _address(request: Request) -> str:
    return request.client.host if request.client else ""


def _link_key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:32]


def _headers(response: Response) -> Response:
    # The token is in the URL: never sent on as a referrer, never cached, never indexed.
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _too_many(request: Request, wait: int) -> Response:
    t = messages(page_locale(request))
    response = message_page(request, t.gettext("Too many requests"),
                            t.gettext("This link was opened too often. Please try again in a minute."),
                            status_code=429)
    response.headers["Retry-After"] = str(wait)
    return _headers(response)


def _gone(request: Request, state: str) -> Response:
    t = messages(page_locale(request))
    if state == "expired":
        return _headers(message_page(request, t.gettext("This link has expired"), t.gettext(
            "Share links work for a limited time. Ask the person who shared it for a new link."), status_code=410))
    if state == "revoked":
        return _headers(message_page(request, t.gettext("This link was revoked"), t.gettext(
            "The person who shared it has switched it off. Ask them for a new link."), status_code=410))
    return _headers(message_page(request, t.gettext("Link not found"), t.gettext(
        "Check that you copied the whole link. It may also have been mistyped."), status_code=404))


def _password_page(request: Request, token: str, title: str, *, wrong: bool) -> Response:
    return _headers(render(request, "share_password.html", {"token": token, "title": title, "wrong": wrong},
                           status_code=403 if wrong else 200))


def _shared_panels(content: pb.SharedContent, ctx: Context, span: str) -> list[Panel]:
    """The home page's panels, with every way into the app removed: no list links, no customer ids."""
    t = messages(ctx.locale)
    replies: dict[str, Any] = {p.panel: p for p in content.panels}
    panels: list[Panel] = []
    for key in content.link.target.panels:
        if key == "funnel":
            if not content.has_funnel:
                continue
            reply: Any = content.funnel
        elif key in replies:
            reply = replies[key]
            if key == "top_customers":
                for index, point in enumerate(reply.points):
                    point.label = point.label or t.gettext("Customer #%(n)s", n=index + 1)
                    point.key = ""
        else:
            continue
        panel = _panel(key, reply, ctx, span)
        panel.links = []
        for kpi in panel.kpis:
            kpi["link"] = ""
        panels.append(panel)
    return panels


def _shared_report(report_json: str, locale: Any) -> PivotTable:
    """A saved report's pivot as the report builder lays it out, without links into the app."""
    table = pivot_table(json.loads(report_json), locale)
    for line in table.lines:
        for value in line["cells"]:
            value["link"] = ""
    if table.chart:
        table.chart["links"] = []
    return table


def _span(target: Any, locale: Any) -> str:
    t = messages(locale)
    if target.range == "custom":
        return t.gettext("%(start)s to %(end)s", start=target.range_from, end=target.range_to)
    return t.text(RANGE_LABELS.get(target.range, RANGE_LABELS["12m"]))


async def _show(request: Request, token: str, password: str, caller: Any, services: Any) -> Response:
    wait = limiter(request).take((("share-view", _address(request)), VIEWS_PER_ADDRESS),
                                 (("share-link", _link_key(token)), VIEWS_PER_LINK))
    if wait:
        return _too_many(request, wait)
    if len(token) > 100:
        return _gone(request, "not_found")
    # Every panel of the dashboard in one call (the home page asks for them one by one in parallel).
    patient = replace(caller, deadline=max(caller.deadline, OPEN_DEADLINE))
    content = await patient.call(services.delivery.OpenShareLink,
                                 pb.OpenShareLinkRequest(token=token, password=password,
                                                         locale=page_locale(request)))
    if content.state in ("not_found", "expired", "revoked"):
        return _gone(request, content.state)
    if content.state in ("password_required", "password_wrong"):
        return _password_page(request, token, content.link.title, wrong=content.state == "password_wrong")
    locale = page_locale(request)
    t = messages(locale)
    link = content.link
    if link.target.kind == "report":
        return _headers(render(request, "share.html", {
            "link": link, "title": link.title or t.gettext("Shared report"), "panels": [], "hidden": [],
            "wide": WIDE, "span": "", "report": _shared_report(content.report_json, locale) if content.report_json
            else None, "hidden_report": not content.report_json,
        }))
    ctx = Context(locale, DictionaryNames(locale), datetime.now(UTC).date())
    panels = _shared_panels(content, ctx, _span(link.target, locale))
    hidden = [t.text(PANEL_TITLES[k]) for k in content.hidden_panels if k in PANEL_TITLES]
    # The funnel right after the key figures, as on the home page.
    funnel = [p for p in panels if p.key == "funnel"]
    rest = [p for p in panels if p.key != "funnel"]
    at = 1 if rest and rest[0].key == "kpis" else 0
    return _headers(render(request, "share.html", {
        "link": link, "title": link.title or t.gettext("Shared dashboard"), "panels": rest[:at] + funnel + rest[at:],
        "hidden": hidden, "wide": WIDE, "span": _span(link.target, locale),
        "expires": formatting.moment(link.expires_at),
    }))


@router.get("/s/{token}")
async def share_page(request: Request, token: str, caller: AnonymousDep, services: BackendsDep) -> Response:
    return await _show(request, token, "", caller, services)


@router.post("/s/{token}")
async def share_password(request: Request, token: str, caller: AnonymousDep, services: BackendsDep) -> Response:
    wait = limiter(request).take((("share-password", _address(request), _link_key(token)), PASSWORD_TRIES))
    if wait:
        return _too_many(request, wait)
    form = await request.form()
    password = str(form.get("password") or "")[:200]
    if not password:
        return _password_page(request, token, "", wrong=True)
    return await _show(request, token, password, caller, services)


@router.get("/unsubscribe/{token}")
async def unsubscribe_page(request: Request, token: str, caller: AnonymousDep, services: BackendsDep) -> Response:
    """The link in every subscription mail: GET only shows a button (mail scanners follow links)."""
    return _headers(render(request, "unsubscribe.html", {"token": token, "done": ""}))


@router.post("/unsubscribe/{token}")
async def unsubscribe(request: Request, token: str, caller: AnonymousDep, services: BackendsDep) -> Response:
    wait = limiter(request).take((("unsubscribe", _address(request)), VIEWS_PER_ADDRESS))
    if wait:
        return _too_many(request, wait)
    reply = await caller.call(services.delivery.Unsubscribe, pb.UnsubscribeRequest(token=token[:200]))
    t = messages(page_locale(request))
    if reply.state == "invalid":
        return _headers(message_page(request, t.gettext("Link not found"), t.gettext(
            "This unsubscribe link is not valid. The subscription may have been deleted."), status_code=404))
    return _headers(render(request, "unsubscribe.html", {"token": token, "done": reply.state, "title": reply.title}))
