"""create_app: the gateway as one FastAPI application (REST /v1, OAuth, web UI, probes)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.staticfiles import StaticFiles

from crm_gateway import api_docs, i18n, problems
from crm_gateway.api import (
    account_security,
    api_clients,
    audit_events,
    automation_rules,
    cadence_rules,
    customer_activity,
    customer_bulk_changes,
    customer_duplicates,
    customer_erasure,
    customer_exports,
    customer_fields,
    customer_imports,
    customer_merges,
    customer_owners,
    customer_settings,
    customer_views,
    customers,
    dashboards,
    feedback,
    followup_inbound,
    followup_records,
    followup_settings,
    followup_sla,
    followup_tasks,
    health,
    invitations,
    notifications,
    orders,
    report_exports,
    report_subscriptions,
    reports,
    roles,
    saved_reports,
    segments,
    share_links,
    signup,
    tag_batches,
    tag_rules,
    tags,
    teams,
    tenant,
    tenant_backups,
    user_imports,
    user_security,
    users,
    webhook_deliveries,
    webhook_endpoints,
)
from crm_gateway.api.common import document_api_limits, document_text_rule
from crm_gateway.clients import Backends
from crm_gateway.idempotency import IdempotencyStore
from crm_gateway.limits import ApiLimitsMiddleware, BodySizeLimitMiddleware
from crm_gateway.oauth import authorize, consent, login_steps, metadata, revocation, token
from crm_gateway.oauth.authorize import LoginCsrf
from crm_gateway.ratelimit import BucketPolicy, RateLimiter
from crm_gateway.settings import GatewaySettings
from crm_gateway.tracing import TraceMiddleware
from crm_gateway.web import access_admin as web_access_admin
from crm_gateway.web import account as web_account
from crm_gateway.web import api_clients as web_api_clients
from crm_gateway.web import audit as web_audit
from crm_gateway.web import auth as web_auth
from crm_gateway.web import backups as web_backups
from crm_gateway.web import customer_bulk as web_customer_bulk
from crm_gateway.web import customer_detail as web_customer_detail
from crm_gateway.web import customer_duplicates as web_customer_duplicates
from crm_gateway.web import customer_erasure as web_customer_erasure
from crm_gateway.web import customer_import as web_customer_import
from crm_gateway.web import customer_lists as web_customer_lists
from crm_gateway.web import customer_merge as web_customer_merge
from crm_gateway.web import customer_tags as web_customer_tags
from crm_gateway.web import customers as web_customers
from crm_gateway.web import dashboard as web_dashboard
from crm_gateway.web import delivery as web_delivery
from crm_gateway.web import dev_mail as web_dev_mail
from crm_gateway.web import errors as web_errors
from crm_gateway.web import feedback as web_feedback
from crm_gateway.web import followup_rules as web_followup_rules
from crm_gateway.web import followup_settings as web_followup_settings
from crm_gateway.web import followups as web_followups
from crm_gateway.web import notifications as web_notifications
from crm_gateway.web import problem_docs
from crm_gateway.web import reports as web_reports
from crm_gateway.web import segments as web_segments
from crm_gateway.web import settings as web_settings
from crm_gateway.web import share as web_share
from crm_gateway.web import tag_library as web_tag_library
from crm_gateway.web import user_admin as web_user_admin
from crm_gateway.web import value as web_value
from crm_gateway.web import webhooks as web_webhooks
from crm_gateway.web.session import WebCookies
from crm_gateway.web.templating import STATIC_DIR
from crm_platform.auth import JwksCache, TokenVerifier

API_DESCRIPTION = """\
The public API of the customer data platform. OAuth 2.0 (see `/.well-known/oauth-authorization-server`):
client credentials for systems, authorization code + PKCE for people. Errors are RFC 9457
`application/problem+json` with a stable `code`; messages follow `Accept-Language` (zh-CN, en).
"""

ROUTERS = (
    # The hottest API paths first: every request is matched against the routers in this order
    # (FastAPI's matching cost ~0.03 ms per router passed). No router before it has a /v1/customers path.
    customers.router,
    health.router, metadata.router, token.router, authorize.router, signup.router, users.router,
    api_clients.router, customer_settings.router, customer_fields.router, tags.router,
    tag_rules.router, tag_rules.jobs_router, tag_batches.router, followup_tasks.router, followup_records.router,
    followup_records.dictionaries, followup_inbound.router, notifications.router,
    cadence_rules.router, automation_rules.router, followup_sla.router,  # cadences / automation (issue 12)
    followup_settings.router,
    reports.router, saved_reports.router, report_exports.router, dashboards.router, webhook_endpoints.router,
    webhook_deliveries.router,
    webhook_deliveries.replays_router, web_auth.router, web_customers.router,
    web_customer_merge.router,  # before the detail page: /app/customers/merge(s) is not a customer id
    web_customer_bulk.router,  # likewise /app/customers/bulk-change
    web_customer_duplicates.router,  # likewise /app/customers/duplicates
    web_customer_import.router,  # likewise /app/customers/import
    web_customer_detail.router, web_customer_tags.router, web_followup_rules.router, web_followup_settings.router,
    web_followups.router,
    web_tag_library.router, web_segments.router,
    web_notifications.router,
    problem_docs.router, api_docs.router, revocation.router, consent.router, web_api_clients.router,
    user_security.router, login_steps.router, web_account.router,
    # web_user_admin before web_access_admin: /app/users/import must not be taken for a user id.
    roles.router, teams.router, web_user_admin.router, web_access_admin.router,
    audit_events.router, web_audit.router, tenant.router, tenant_backups.router, web_backups.router,
    web_settings.router,
    invitations.router, customer_imports.router, user_imports.router,
    account_security.router,
    customer_erasure.router, web_customer_erasure.router,
    customer_views.router,
    segments.router,
    customer_exports.router, web_customer_lists.router,
    customer_activity.router, customer_bulk_changes.router,
    web_dashboard.router, web_value.router, web_reports.router,
    orders.router,
    customer_merges.router,
    customer_duplicates.router,
    customer_owners.router,
    web_webhooks.router,
    feedback.router, feedback.surveys, web_feedback.router,
    share_links.router, report_subscriptions.router, web_share.router, web_delivery.router,
)


def create_app(
    settings: GatewaySettings, *, backends: Backends | None = None, verifier: TokenVerifier | None = None
) -> FastAPI:
    """`backends` and `verifier` are made at start-up unless given (tests give their own)."""
    i18n.load_catalogues()  # a broken .po stops the start, not a page

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Creates the bucket on first start; a NATS that cannot be reached stops the start-up.
        app.state.idempotency = await IdempotencyStore.connect(settings.nats_url, settings.idempotency_lock_seconds)
        owned = None
        if app.state.backends is None:
            owned = app.state.backends = Backends.connect(settings)  # channels bind to this loop
        if app.state.verifier is None:
            app.state.verifier = TokenVerifier(
                JwksCache(app.state.backends.fetch_jwks), settings.token_issuer, settings.token_audience
            )
        try:
            yield
        finally:
            await app.state.idempotency.close()
            if owned is not None:
                await owned.close()

    app = FastAPI(
        title="CRM API",
        version="1.0.0",
        description=API_DESCRIPTION,
        lifespan=lifespan,
        # /docs is api_docs.py: Swagger UI from the platform's own files, not FastAPI's CDN page.
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
        # FastAPI's own OpenTelemetry middleware would trace every request a second time, beside
        # TraceMiddleware (the gateway's one server span, continued over gRPC); off, it costs nothing.
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    app.state.settings = settings
    app.state.backends = backends
    app.state.verifier = verifier
    app.state.rpc_deadline = settings.rpc_deadline
    app.state.web_cookies = WebCookies(settings)
    app.state.login_csrf = LoginCsrf(settings)

    problems.install(app, f"{settings.public_url}/problems/", settings.max_body_bytes, error_page=web_errors.error_page)
    app.add_exception_handler(web_auth.LoginRequired, web_auth.login_redirect)
    for router in ROUTERS:
        app.include_router(router)
    # Before every other route: each takes only requests its FastAPI route would answer the same.
    app.router.routes[0:0] = customers.HOT_READS
    if settings.dev_mailbox_dir:  # `crm dev` and the test platform only: the developers' mail page
        app.include_router(web_dev_mail.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.mount(api_docs.ASSETS_PATH, api_docs.assets(), name="api-docs-assets")

    # Outermost last: trace -> 500 mapping -> body limit -> /v1 rate limits and Idempotency-Key
    # -> web session refresh -> FastAPI.
    app.add_middleware(web_auth.WebSessionRefreshMiddleware)
    app.add_middleware(ApiLimitsMiddleware, limiter=rate_limiter(settings))
    app.add_middleware(BodySizeLimitMiddleware, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(problems.InternalErrorMiddleware)
    app.add_middleware(TraceMiddleware)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description,
                                 routes=app.routes)
            app.openapi_schema = tidy_openapi(schema)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def rate_limiter(settings: GatewaySettings) -> RateLimiter:
    """Buckets live in each worker process's memory, so each worker gets its share of the budget:
    together the workers of a replica never allow more than the configured figures."""
    share = settings.workers
    return RateLimiter(
        client=BucketPolicy(settings.rate_limit_client_per_second / share,
                            max(1, settings.rate_limit_client_burst // share)),
        tenant=BucketPolicy(settings.rate_limit_tenant_per_second / share,
                            max(1, settings.rate_limit_tenant_burst // share)),
    )


def tidy_openapi(schema: dict[str, Any]) -> dict[str, Any]:
    """Error responses are problem+json, and FastAPI's default 422 never happens here (bad
    input is a 400 problem), so it is removed with its schemas; then the rate-limit and
    Idempotency-Key conventions are added to every /v1 operation."""
    for path, path_item in schema.get("paths", {}).items():
        for op in path_item.values():
            responses: dict[str, Any] = op.get("responses", {})
            responses.pop("422", None)
            if path.startswith("/oauth/"):
                continue  # OAuth errors are RFC 6749 JSON bodies, documented by each endpoint
            for status, response in responses.items():
                content = response.get("content", {})
                if status.isdigit() and int(status) >= 400 and "application/json" in content:
                    content[problems.PROBLEM_JSON] = content.pop("application/json")
    components = schema.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    # After FastAPI's 422 is gone: POSTs answer 422 for an Idempotency-Key mismatch.
    return document_text_rule(document_api_limits(schema))
