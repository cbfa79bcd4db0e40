"""The API description: every operation documented with its id, summary, scopes and problems."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from crm_gateway.auth import SCOPE_DESCRIPTIONS

METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture
def schema(client: TestClient) -> dict[str, Any]:
    reply = client.get("/openapi.json")
    assert reply.status_code == 200
    result: dict[str, Any] = reply.json()
    return result


def v1_operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, item in schema["paths"].items() if path.startswith("/v1/")
            for method, op in item.items() if method in METHODS]


EXPECTED = {
    ("/v1/signup", "post"), ("/v1/users", "get"), ("/v1/users", "post"), ("/v1/api-clients", "get"),
    ("/v1/api-clients", "post"), ("/v1/customers", "get"), ("/v1/customers", "post"),
    ("/v1/customers/{customer_id}", "get"), ("/v1/customers/{customer_id}", "patch"),
    ("/v1/customers/{customer_id}/tags", "get"), ("/v1/tags", "get"), ("/v1/tags", "post"),
    ("/v1/tags/{tag_id}", "get"), ("/v1/tags/{tag_id}", "patch"), ("/v1/tags/{tag_id}", "delete"),
    ("/v1/tags/{tag_id}:merge", "post"), ("/v1/tag-categories", "get"), ("/v1/tag-categories", "post"),
    ("/v1/tag-categories/{category_id}", "patch"), ("/v1/tag-categories/{category_id}", "delete"),
    ("/v1/tag-settings", "get"), ("/v1/tag-settings", "patch"), ("/v1/tag-rules:preview", "post"),
    ("/v1/tag-rules/{rule_id}", "get"), ("/v1/tag-rules/{rule_id}", "patch"), ("/v1/tag-rules/{rule_id}", "delete"),
    ("/v1/tag-rules/{rule_id}:enable", "post"), ("/v1/tag-rules/{rule_id}:disable", "post"),
    ("/v1/tag-rules/{rule_id}:rerun", "post"), ("/v1/tag-jobs/{job_id}", "get"), ("/v1/tag-batches", "post"),
    ("/v1/tag-batches/{batch_id}", "get"), ("/v1/tag-batches/{batch_id}:undo", "post"),
    ("/v1/tag-rules", "get"), ("/v1/tag-rules", "post"), ("/v1/followup-tasks", "get"),
    ("/v1/followup-tasks", "post"), ("/v1/cadence-rules", "get"), ("/v1/cadence-rules", "post"),
    # cadences and outcome automation (issue 12)
    ("/v1/cadence-rules/{cadence_rule_id}", "patch"), ("/v1/cadence-rules/{cadence_rule_id}", "delete"),
    ("/v1/automation-rules", "get"), ("/v1/automation-rules", "post"),
    ("/v1/automation-rules/{automation_rule_id}", "patch"), ("/v1/automation-rules/{automation_rule_id}", "delete"),
    ("/v1/followup-sla", "get"),
    ("/v1/reports/customers-by-industry", "get"), ("/v1/webhook-endpoints", "get"),
    ("/v1/webhook-endpoints", "post"), ("/v1/webhook-endpoints/{endpoint_id}/deliveries", "get"),
    # user security
    ("/v1/tenant/password-policy", "get"), ("/v1/tenant/password-policy", "patch"), ("/v1/tenant", "get"),
    ("/v1/tenant", "patch"),
    # tenant backups (issue 10)
    ("/v1/tenant/backups", "get"), ("/v1/tenant/backups", "post"), ("/v1/tenant/backups/{backup_id}", "get"),
    ("/v1/tenant/backups/{backup_id}:cancel", "post"), ("/v1/tenant/backups/{backup_id}:resume", "post"),
    ("/v1/tenant/backups/{backup_id}/archive", "get"),
    # email into the timeline (issue 12)
    ("/v1/followup-inbound-address", "get"), ("/v1/followup-inbound-address:rotate", "post"),
    ("/v1/followup-settings", "get"), ("/v1/followup-settings", "put"),
    ("/v1/users/me:change-password", "post"), ("/v1/users/me/preferences", "get"),
    ("/v1/users/me/preferences", "patch"), ("/v1/users/{user_id}:reset-password", "post"),
    # OAuth: API clients management
    ("/v1/api-clients/{client_id}", "get"), ("/v1/api-clients/{client_id}:rotate-secret", "post"),
    ("/v1/api-clients/{client_id}:revoke", "post"),
    # customers: the record (issue 4)
    ("/v1/customers/{customer_id}", "delete"), ("/v1/customers/{customer_id}:restore", "post"),
    ("/v1/customers/{customer_id}:reveal", "post"),
    ("/v1/customers/{customer_id}:change-status", "post"), ("/v1/customers/{customer_id}/status-history", "get"),
    ("/v1/customer-settings", "get"), ("/v1/customer-settings", "patch"), ("/v1/dictionaries/{name}", "get"),
    ("/v1/dictionaries/{name}", "put"), ("/v1/customer-fields", "get"), ("/v1/customer-fields", "post"),
    ("/v1/customer-fields/{key}", "get"), ("/v1/customer-fields/{key}", "patch"),
    ("/v1/customer-fields/{key}", "delete"),
    # roles, permissions, teams, users (issue 3)
    ("/v1/permissions", "get"), ("/v1/roles", "get"), ("/v1/roles", "post"), ("/v1/roles/{role_id}", "get"),
    ("/v1/roles/{role_id}", "patch"), ("/v1/roles/{role_id}", "delete"),
    ("/v1/roles/{role_id}/field-policies", "get"), ("/v1/roles/{role_id}/field-policies", "put"),
    ("/v1/teams", "get"), ("/v1/teams", "post"), ("/v1/teams/{team_id}", "get"), ("/v1/teams/{team_id}", "patch"),
    ("/v1/teams/{team_id}", "delete"), ("/v1/users/{user_id}", "get"), ("/v1/users/{user_id}", "patch"),
    # audit log (issue 3): read and export only, nothing changes an entry
    ("/v1/audit-events", "get"), ("/v1/audit-events:export", "get"),
    # sign-in sessions and TOTP management (issue 3)
    ("/v1/users/me/sessions", "get"), ("/v1/users/me/sessions/{session_id}", "delete"),
    ("/v1/users/me/sessions:revoke-others", "post"), ("/v1/users/{user_id}/sessions", "get"),
    ("/v1/users/{user_id}/sessions:revoke-all", "post"), ("/v1/users/me/mfa:disable", "post"),
    ("/v1/users/me/mfa/recovery-codes:regenerate", "post"),
    # erasure (issue 4) and webhook endpoints with field policies (issue 3)
    ("/v1/customers/{customer_id}:erase", "post"), ("/v1/webhook-endpoints/{endpoint_id}", "get"),
    ("/v1/webhook-endpoints/{endpoint_id}", "patch"),
    # orders and contracts (issue 4), spend reports
    ("/v1/orders", "get"), ("/v1/orders", "post"), ("/v1/orders:batch-upsert", "post"),
    ("/v1/orders/{order_id}", "get"), ("/v1/customers/{customer_id}/orders", "get"),
    ("/v1/reports/spend", "get"), ("/v1/reports/customer-value", "get"), ("/v1/reports/funnel", "get"),
    ("/v1/dashboards/panels", "get"), ("/v1/dashboards/panels/{panel}", "get"), ("/v1/dashboards/me", "get"),
    ("/v1/dashboards/me", "put"), ("/v1/dashboards/default", "put"), ("/v1/reports/value-analysis", "get"),
    # Share links and subscriptions (issue 15).
    ("/v1/share-links", "post"), ("/v1/share-links", "get"), ("/v1/share-links/{link_id}", "get"),
    ("/v1/share-links/{link_id}:revoke", "post"), ("/v1/share-link-settings", "get"),
    ("/v1/share-link-settings", "patch"), ("/v1/report-subscriptions", "post"), ("/v1/report-subscriptions", "get"),
    ("/v1/report-subscriptions/{subscription_id}", "get"), ("/v1/report-subscriptions/{subscription_id}", "delete"),
    ("/v1/report-subscriptions/{subscription_id}/deliveries", "get"),
    ("/v1/reports/value-rules", "get"), ("/v1/reports/value-rules", "put"),
    # saved reports and the report builder (issue 15)
    ("/v1/reports", "get"), ("/v1/reports", "post"), ("/v1/reports:run", "post"),
    ("/v1/reports/{report_id}", "get"), ("/v1/reports/{report_id}", "patch"), ("/v1/reports/{report_id}", "delete"),
    ("/v1/reports/{report_id}:run", "post"), ("/v1/reports/{report_id}:clone", "post"),
    ("/v1/report-templates", "get"), ("/v1/report-templates/{template_key}:clone", "post"),
    # report exports (issue 15, "Exports")
    ("/v1/reports/{report_id}/exports", "post"), ("/v1/reports/{report_id}/exports/{report_export_id}", "get"),
    ("/v1/reports/{report_id}/exports/{report_export_id}/file", "get"),
    # invitations and user import (issue 3)
    ("/v1/invitations", "get"), ("/v1/invitations", "post"), ("/v1/invitations/{invitation_id}:resend", "post"),
    ("/v1/invitations/{invitation_id}:revoke", "post"), ("/v1/imports", "post"),
    ("/v1/import-templates/{kind}", "get"), ("/v1/imports/{import_id}", "get"),
    # Follow-up records, dictionaries, task changes and notifications (issue 12).
    ("/v1/followup-dictionaries/{name}", "get"), ("/v1/followup-dictionaries/{name}", "put"),
    ("/v1/followup-records", "get"), ("/v1/followup-records", "post"), ("/v1/followup-records/{record_id}", "get"),
    ("/v1/followup-tasks/{task_id}", "patch"), ("/v1/notification-preferences", "get"),
    ("/v1/notification-preferences", "put"), ("/v1/notifications", "get"), ("/v1/notifications:mark-read", "post"),
    # Feedback and satisfaction surveys (issue 12).
    ("/v1/feedback", "get"), ("/v1/feedback", "post"), ("/v1/feedback/{feedback_id}", "get"),
    ("/v1/feedback:batch-create", "post"),
    ("/v1/surveys", "get"), ("/v1/surveys", "post"), ("/v1/surveys/{survey_id}", "get"),
    # Customer imports (issue 13).
    ("/v1/customer-imports", "get"), ("/v1/imports/{import_id}:validate", "post"),
    ("/v1/imports/{import_id}:start", "post"), ("/v1/imports/{import_id}:cancel", "post"),
    ("/v1/imports/{import_id}:resume", "post"), ("/v1/imports/{import_id}:undo", "post"),
    ("/v1/imports/{import_id}/problems", "get"), ("/v1/imports/{import_id}/errors", "get"),
    # customer merges and undo (issue 4)
    ("/v1/customers:merge", "post"), ("/v1/merges", "get"), ("/v1/merges/{merge_id}", "get"),
    ("/v1/merges/{merge_id}:undo", "post"),
    # activity timeline, mass changes (issue 4), follow-up completion
    ("/v1/customers/{customer_id}/timeline", "get"), ("/v1/customer-bulk-changes", "post"),
    ("/v1/customer-bulk-changes/{bulk_change_id}", "get"),
    ("/v1/customer-bulk-changes/{bulk_change_id}:cancel", "post"), ("/v1/followup-tasks/{task_id}:complete", "post"),
    ("/v1/followup-tasks/{task_id}", "get"),
    # duplicate scans and groups (issue 4)
    ("/v1/duplicate-scans", "post"), ("/v1/duplicate-scans", "get"),
    ("/v1/duplicate-scans/{scan_id}", "get"), ("/v1/duplicate-groups", "get"),
    ("/v1/duplicate-groups/{group_id}", "get"), ("/v1/duplicate-groups/{group_id}:dismiss", "post"),
    # one customer's likely and possible duplicates (issue 9)
    ("/v1/customers/{customer_id}/possible-duplicates", "get"),
    # saved views and exports (issue 4)
    ("/v1/customer-views", "get"), ("/v1/customer-views", "post"), ("/v1/customer-views/{view_id}", "get"),
    ("/v1/customer-views/{view_id}", "patch"), ("/v1/customer-views/{view_id}", "delete"),
    ("/v1/segments", "get"), ("/v1/segments", "post"), ("/v1/segments:preview", "post"),
    ("/v1/segments/{segment_id}", "get"), ("/v1/segments/{segment_id}", "patch"),
    ("/v1/segments/{segment_id}", "delete"), ("/v1/segments/{segment_id}/count", "get"),
    ("/v1/segments/{segment_id}/members", "get"),
    ("/v1/exports", "post"), ("/v1/exports/{export_id}", "get"), ("/v1/exports/{export_id}/file", "get"),
    # owners by name: who the caller may make owners of customers (owner pickers)
    ("/v1/customer-owners", "get"),
    # tags on customers by hand (the list's tag filter is `tag_id` on GET /v1/customers)
    ("/v1/customers/{customer_id}/tags", "post"), ("/v1/customers/{customer_id}/tags/{tag_id}", "delete"),
    # webhooks a company can rely on (issue 9): delete, delivery log, replays
    ("/v1/webhook-endpoints/{endpoint_id}", "delete"), ("/v1/webhook-endpoints/{endpoint_id}:replay", "post"),
    ("/v1/webhook-endpoints/{endpoint_id}/replays", "get"), ("/v1/webhook-deliveries/{delivery_id}", "get"),
    ("/v1/webhook-deliveries/{delivery_id}:replay", "post"), ("/v1/webhook-replays/{replay_id}", "get"),
    # secret rotation and test events (the webhooks page)
    ("/v1/webhook-endpoints/{endpoint_id}:rotate-secret", "post"),
    ("/v1/webhook-endpoints/{endpoint_id}:send-test-event", "post"),
}
# POSTs that start a job and answer 202 Accepted (the job's progress is at `Location`).
ACCEPTED = {"/v1/customer-bulk-changes", "/v1/duplicate-scans", "/v1/exports",
            "/v1/webhook-endpoints/{endpoint_id}:replay", "/v1/webhook-deliveries/{delivery_id}:replay",
            "/v1/webhook-endpoints/{endpoint_id}:send-test-event",
            "/v1/tag-rules/{rule_id}:rerun", "/v1/tag-batches", "/v1/tag-batches/{batch_id}:undo",
            "/v1/tenant/backups",
            "/v1/reports/{report_id}/exports"}
# Operations on the caller's own account: any user token, whatever its scopes (identity refuses
# a client's token with 403), so they state an empty scope list but still require the token.
SELF_SERVICE = {"/v1/users/me:change-password", "/v1/users/me/sessions", "/v1/users/me/sessions/{session_id}",
                "/v1/users/me/sessions:revoke-others", "/v1/users/me/mfa:disable",
                "/v1/users/me/mfa/recovery-codes:regenerate", "/v1/users/me/preferences"}
# The same for one method of a path: every member of the tenant may read its settings.
SELF_SERVICE_OPERATIONS = {("/v1/tenant", "get")}


def is_custom_method(path: str) -> bool:
    """AIP-136 custom methods (`/v1/x/{id}:action`) answer 200, not 201."""
    return ":" in path.rsplit("/", 1)[-1]


def test_every_resource_operation_is_there(schema: dict[str, Any]) -> None:
    assert {(path, method) for path, method, _ in v1_operations(schema)} == EXPECTED


def test_every_operation_is_fully_described(schema: dict[str, Any]) -> None:
    ids = set()
    for path, method, op in v1_operations(schema):
        where = f"{method.upper()} {path}"
        assert op.get("operationId") and op.get("summary"), where
        ids.add(op["operationId"])
        scopes = op["x-required-scopes"]
        security = op.get("security", [])
        if path == "/v1/signup":
            assert scopes == [] and not security, where
        elif path in SELF_SERVICE or (path, method) in SELF_SERVICE_OPERATIONS:
            assert scopes == [] and security == [{"oauth2": []}], where
            assert {"401", "403", "503"} <= set(op["responses"]), where
        else:
            assert scopes and set(scopes) <= set(SCOPE_DESCRIPTIONS), where
            assert security == [{"oauth2": scopes}], where  # the same scopes, stated once
            assert {"401", "403", "503"} <= set(op["responses"]), where
        assert "200" in op["responses"] or "201" in op["responses"] or path in ACCEPTED, where
        for status, response in op["responses"].items():
            # FastAPI's own 422 is removed; a POST's 422 is the Idempotency-Key mismatch.
            mismatch = method == "post" and "idempotency_key_mismatch" in response["description"]
            assert status != "422" or mismatch, where
            if int(status) >= 400:
                assert set(response["content"]) == {"application/problem+json"}, where
    assert len(ids) == len(EXPECTED)


def test_writes_declare_bad_input_and_creates_are_201(schema: dict[str, Any]) -> None:
    for path, method, op in v1_operations(schema):
        if method in ("post", "patch"):
            assert "400" in op["responses"] and "413" in op["responses"], path
        if method == "post" and not is_custom_method(path):
            assert ("202" if path in ACCEPTED else "201") in op["responses"], path


def test_security_scheme_documents_both_flows(schema: dict[str, Any]) -> None:
    flows = schema["components"]["securitySchemes"]["oauth2"]["flows"]
    assert flows["authorizationCode"]["authorizationUrl"] == "/oauth/authorize"
    assert flows["clientCredentials"]["tokenUrl"] == "/oauth/token"


def test_docs_page_is_served(client: TestClient) -> None:
    reply = client.get("/docs")
    assert reply.status_code == 200 and "swagger" in reply.text.lower()
    # Only the platform's own files: no other origin, no inline script; each asset is served.
    assert "//" not in reply.text.replace("<!doctype html>", "")
    assert "script-src 'self'" in reply.headers["content-security-policy"]
    sources = re.findall(r'(?:src|href)="([^"]+)"', reply.text)
    assert sources and all(s.startswith("/") for s in sources)
    for source in sources:
        assert client.get(source).status_code == 200, source
    assert all("<script>" not in line for line in reply.text.splitlines())


def test_every_operation_documents_400_and_the_text_rule(schema: dict[str, Any]) -> None:
    """Every query and path parameter is held to the text rule, so every operation can answer 400
    (the fuzzer found 400s undocumented on reads); request strings carry the rule's pattern."""
    from crm_platform.text import TextKind, json_schema_pattern

    for path, method, op in v1_operations(schema):
        assert "400" in op["responses"], (method, path)
    components = schema["components"]["schemas"]
    customer = components["CustomerCreate"]["properties"]
    assert customer["name"]["anyOf"][0]["pattern"] == json_schema_pattern(TextKind.NAME)
    assert customer["notes"]["anyOf"][0]["pattern"] == json_schema_pattern(TextKind.MULTILINE)
    assert customer["email"]["anyOf"][0]["pattern"] == json_schema_pattern(TextKind.LINE)
    q = next(p for p in schema["paths"]["/v1/customers"]["get"]["parameters"] if p["name"] == "q")
    assert q["schema"]["pattern"] == json_schema_pattern(TextKind.LINE)


def test_oauth_endpoints_document_their_json_errors(schema: dict[str, Any]) -> None:
    """RFC 6749 error bodies (application/json) with 400, 401 and 503; revocation's 200 is empty."""
    for path in ("/oauth/token", "/oauth/revoke", "/oauth/introspect"):
        responses = schema["paths"][path]["post"]["responses"]
        for status in ("400", "401", "503"):
            body = responses[status]["content"]["application/json"]["schema"]
            assert body["required"] == ["error"], (path, status)
    assert "content" not in schema["paths"]["/oauth/revoke"]["post"]["responses"]["200"]
    token = schema["paths"]["/oauth/token"]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert "access_token" in token["required"]
