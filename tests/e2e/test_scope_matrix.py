"""Object-level authorisation for every `/v1` operation (OWASP API1/API5), read from the live
`/openapi.json`, so an operation added later joins on its own.

Tenant A holds one object of every kind a path parameter can name, made once for the module:
customers, follow-up tasks, views, exports, mass changes, orders, merges, duplicate scans and
groups, tags and tag categories, custom fields, users, teams, roles, API clients, webhook endpoints, deliveries and
replays, invitations, user imports, sign-in sessions. Rep A (team A, data scope `own`) owns the customer-side objects;
rep B has the same role in team B. Every operation is then called

1. with tenant B's admin token, naming tenant A's objects: must be 403 or 404 (a 400, 409 or 412
   would tell B that the object exists; a 2xx is a hole);
2. with rep B's token, naming objects in rep A's data scope or belonging to rep A: 403 or 404;
3. with a token of tenant A lacking the operation's declared scopes (`x-required-scopes`): 403;
4. with an expired token and with a forged one: 401;

and never answers 5xx. Collection operations (no path parameter) are checked for 3, 4 and 5xx, and
their lists for leaks: tenant B's lists name none of tenant A's objects, rep B's none of rep A's.
Operations whose body names another object (`BODY_REFERENCES`) are also called with tenant A's
ids from tenant B and with rep A's ids from rep B (404 or a field error, never 2xx).

A path parameter kind without a factory below fails the test with "add a factory for {kind}"; an
addressed operation with a request body and no entry in `SAMPLE_BODIES` fails with "add a sample
body" (the body must be valid, or a 400 would hide a missing check)."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Final

import httpx
import pytest

from crm_dev.api_client import ApiClient
from crm_dev.platform import Platform
from tests.conftest import TenantContext, new_tenant, wait_for
from tests.e2e.oauth_flows import identity_keyring_token
from tests.e2e.receiver import Receiver
from tests.e2e.test_access_enforcement import _sign_in
from tests.e2e.test_login_security import admin_http, create_user, forged_token

METHODS: Final = ("get", "post", "put", "patch", "delete")
PARAM: Final = re.compile(r"\{([a-z_]+)\}")
REP_SCOPES: Final = ["customers:read", "customers:write", "customers:export", "tags:read", "followups:read",
                     "followups:write", "orders:read", "reports:read"]
RESIDENT_ID: Final = "11010519491231002X"
# Path parameters that name a word every tenant has, not an object of one tenant: another
# tenant's call answers about its own (a dictionary, the import template).
VOCABULARY: Final = {"name": "industry", "kind": "users", "panel": "kpis", "template_key": "conversion_by_source"}
# Kinds that live in rep A's data scope or belong to rep A personally: rep B must not reach them.
REP_SCOPED: Final = frozenset({"customer_id", "task_id", "record_id", "view_id", "export_id", "bulk_change_id",
                               "order_id", "merge_id", "group_id", "session_id", "customer_import_id",
                               "link_id", "subscription_id", "report_id", "report_export_id"})
# A valid body for every addressed operation that takes one (by operationId).
SAMPLE_BODIES: Final[dict[str, Callable[[World], Any]]] = {
    "updateUser": lambda w: {"display_name": "Renamed"},
    "updateCustomer": lambda w: {"notes": "changed by someone else"},
    "changeCustomerStatus": lambda w: {"status": "intent", "reason": "matrix"},
    "revealCustomer": lambda w: {"fields": ["resident_id"]},
    "replaceDictionary": lambda w: {"entries": [{"code": "matrix", "label": "矩阵"}]},
    "updateCustomerField": lambda w: {"label": "Renamed"},
    "applyCustomerTag": lambda w: {"tag_id": w.ids["tag_id"]},
    "updateTag": lambda w: {"description": "changed by someone else"},
    "mergeTags": lambda w: {"into_tag_id": w.spare_tag},
    "updateTagCategory": lambda w: {"description": "changed"},
    "updateTagRule": lambda w: {"name": "changed"},
    "updateWebhookEndpoint": lambda w: {"enabled": False},
    "resetUserPassword": lambda w: {"new_password": "Another-secret-pass-93"},
    "updateRole": lambda w: {"description": "changed"},
    "setRoleFieldPolicies": lambda w: {"field_policies": {"notes": "hidden"}},
    "updateTeam": lambda w: {"name": "Renamed team"},
    "eraseCustomer": lambda w: {"confirm": w.customer_code, "reason": "matrix"},
    "updateCustomerView": lambda w: {"name": "Renamed view"},
    "undoCustomerMerge": lambda w: {"force": True},
    "replayWebhookEndpoint": lambda w: {"since": "2020-01-01T00:00:00Z"},
    "updateFollowupTask": lambda w: {"due_at": "2031-01-01T09:00:00+08:00"},
    "replaceFollowupDictionary": lambda w: {"entries": [{"code": "matrix", "label_en": "Matrix",
                                                         "label_zh": "矩阵"}]},
    "remapCustomerImport": lambda w: {"mapping": {"0": "name", "1": "mobile"}},
    "startCustomerImport": lambda w: {"duplicate_mode": "skip"},
    "updateSavedReport": lambda w: {"name": "Renamed report"},
    "cloneSavedReport": lambda w: {"name": "Copied report"},
    "cloneReportTemplate": lambda w: {"name": "From a template"},
    "createReportExport": lambda w: {"format": "csv"},
}
# Collection operations whose body names objects, and a body naming tenant A's / rep A's.
BODY_REFERENCES: Final[dict[str, Callable[[World], Any]]] = {
    "createFollowupTask": lambda w: {"customer_id": w.ids["customer_id"], "title": "x",
                                     "due_at": "2030-01-01T09:00:00+08:00"},
    "createFollowupRecord": lambda w: {"customer_id": w.ids["customer_id"], "method": "phone", "content": "x",
                                       "result": "interested", "task_id": w.ids["task_id"]},
    "mergeCustomers": lambda w: {"survivor_id": w.ids["customer_id"], "merged_ids": [w.spare_customer]},
    "upsertOrder": lambda w: {"external_id": f"M-{secrets.token_hex(3)}", "customer_id": w.ids["customer_id"],
                              "amount": "1.00", "currency": "CNY", "ordered_on": "2030-01-01", "status": "paid"},
    "createCadenceRule": lambda w: {"tag_id": w.ids["tag_id"], "due_in_days": 3, "title": "x"},
    "createTagRule": lambda w: {"tag_id": w.ids["tag_id"], "field": "industry", "operator": "equals", "value": "x"},
    "createUser": lambda w: {"email": f"x{secrets.token_hex(3)}@example.com", "password": "Temporary-pass-42",
                             "display_name": "X", "roles": [w.ids["role_id"]], "team_id": w.ids["team_id"]},
    "createInvitation": lambda w: {"email": f"y{secrets.token_hex(3)}@example.com", "display_name": "Y",
                                   "roles": [w.ids["role_id"]], "team_id": w.ids["team_id"]},
    "createTeam": lambda w: {"name": f"t{secrets.token_hex(3)}", "parent_id": w.ids["team_id"]},
}


@dataclass
class World:
    platform: Platform
    a: TenantContext
    b: TenantContext
    admin: httpx.Client  # tenant A's admin (user token)
    rep_a: httpx.Client
    rep_b: httpx.Client
    other_admin: httpx.Client  # tenant B's admin
    ids: dict[str, str] = field(default_factory=dict)  # path parameter kind -> tenant A's object
    customer_code: str = ""
    spare_customer: str = ""  # another of rep A's customers (merges)
    spare_tag: str = ""  # another tag of tenant A (tag merges)
    tokens: dict[str, str] = field(default_factory=dict)  # missing-scope tokens by scope set
    receiver: Receiver = field(default_factory=Receiver)  # tenant A's webhook endpoint

    def token_without(self, scopes: list[str]) -> str:
        """A client-credentials token of tenant A holding every tenant scope except these."""
        from crm_platform.auth import TENANT_SCOPES

        key = " ".join(sorted(scopes))
        if key not in self.tokens:
            granted = [s.value for s in TENANT_SCOPES if s.value not in scopes]
            client = self.a.api.create_api_client(self.a.admin_token, f"matrix-{len(self.tokens)}", granted)
            self.tokens[key] = self.a.api.client_credentials(client["client_id"], client["client_secret"])
        return self.tokens[key]


def _ok(reply: httpx.Response, *statuses: int) -> dict[str, Any]:
    assert reply.status_code in (statuses or (200, 201, 202)), f"{reply.request.url}: {reply.text}"
    body: dict[str, Any] = reply.json()
    return body


def _user_client(platform: Platform, tenant: TenantContext, who: str, role: str, team: str) -> tuple[httpx.Client,
                                                                                                      str]:
    email = f"{who}@{tenant.slug}.example.com"
    user = create_user(tenant, email, roles=[role], team_id=team)
    token = _sign_in(platform, tenant, email)
    return httpx.Client(base_url=platform.gateway_url, timeout=30, headers={"Authorization": f"Bearer {token}"}), \
        str(user["id"])


def _build(platform: Platform, api: ApiClient) -> World:
    a, b = new_tenant(api), new_tenant(api)
    admin = admin_http(a)
    role = _ok(admin.post("/v1/roles", json={"name": "Matrix rep", "scopes": REP_SCOPES, "data_scope": "own"}))
    team_a = _ok(admin.post("/v1/teams", json={"name": "Team A"}))
    team_b = _ok(admin.post("/v1/teams", json={"name": "Team B"}))
    rep_a, rep_a_id = _user_client(platform, a, "repa", role["id"], team_a["id"])
    rep_b, _ = _user_client(platform, a, "repb", role["id"], team_b["id"])
    world = World(platform, a, b, admin, rep_a, rep_b, admin_http(b))
    ids = world.ids
    ids |= {"role_id": role["id"], "team_id": team_a["id"], "user_id": rep_a_id, **VOCABULARY}

    customer = _ok(rep_a.post("/v1/customers", json={"name": "矩阵客户甲", "mobile": "13700990001",
                                                      "resident_id": RESIDENT_ID}))
    ids["customer_id"], world.customer_code = customer["id"], customer["code"]
    survivor = _ok(rep_a.post("/v1/customers", json={"name": "矩阵合并乙", "mobile": "13700990002"}))
    merged = _ok(rep_a.post("/v1/customers", json={"name": "矩阵合并丙", "mobile": "13700990003"}))
    ids["merge_id"] = _ok(rep_a.post("/v1/customers:merge", json={"survivor_id": survivor["id"],
                                                                   "merged_ids": [merged["id"]]}))["id"]
    world.spare_customer = survivor["id"]
    for name in ("星辰矩阵科技有限公司", "星辰矩阵科技（北京）有限公司"):
        _ok(rep_a.post("/v1/customers", json={"name": name, "mobile": "13700990005"}))
    scan = _ok(admin.post("/v1/duplicate-scans"))
    ids["scan_id"] = scan["id"]
    wait_for(lambda: admin.get(f"/v1/duplicate-scans/{scan['id']}").json()["status"] == "succeeded", timeout=60)
    ids["group_id"] = _ok(admin.get("/v1/duplicate-groups"))["items"][0]["id"]

    ids["category_id"] = _ok(admin.post("/v1/tag-categories", json={"name": "矩阵分类"}))["id"]
    tag = _ok(admin.post("/v1/tags", json={"name": "矩阵标签", "category_id": ids["category_id"]}))
    ids["tag_id"] = tag["id"]
    world.spare_tag = _ok(admin.post("/v1/tags", json={"name": "矩阵备用标签"}))["id"]
    ids["rule_id"] = _ok(admin.post("/v1/tag-rules", json={
        "tag_id": tag["id"], "conditions": {"field": "industry", "op": "equals", "value": "矩阵"}}))["id"]
    ids["job_id"] = _ok(admin.post(f"/v1/tag-rules/{ids['rule_id']}:rerun"))["id"]
    ids["batch_id"] = _ok(admin.post("/v1/tag-batches", json={"action": "add", "tag_ids": [world.spare_tag],
                                                               "customer_ids": [customer["id"]]}))["id"]
    _ok(rep_a.post(f"/v1/customers/{customer['id']}/tags", json={"tag_id": tag["id"]}))
    ids["task_id"] = _ok(rep_a.post("/v1/followup-tasks", json={
        "customer_id": customer["id"], "title": "矩阵回访", "due_at": "2030-01-01T09:00:00+08:00"}))["id"]
    ids["record_id"] = _ok(rep_a.post("/v1/followup-records", json={
        "customer_id": customer["id"], "method": "visit", "content": "矩阵拜访", "result": "interested"}))["id"]
    ids["view_id"] = _ok(rep_a.post("/v1/customer-views", json={"name": "矩阵视图",
                                                                 "filters": {"status": "potential"}}))["id"]
    ids["export_id"] = _ok(rep_a.post("/v1/exports", json={"kind": "customers", "format": "csv"}))["id"]
    ids["bulk_change_id"] = _ok(rep_a.post("/v1/customer-bulk-changes", json={
        "filter": {"q": "矩阵合并乙"}, "set": {"status": "intent", "reason": "matrix"}}))["id"]
    ids["order_id"] = _ok(admin.post("/v1/orders", json={
        "external_id": "MATRIX-1", "customer_code": customer["code"], "amount": "10.00", "currency": "CNY",
        "ordered_on": "2030-01-01", "status": "paid"}))["id"]
    ids["key"] = _ok(admin.post("/v1/customer-fields", json={"key": "matrix_level", "label": "等级",
                                                              "type": "text"}))["key"]
    ids["client_id"] = _ok(admin.post("/v1/api-clients", json={"name": "Matrix ERP",
                                                                "scopes": ["customers:read"]}))["client_id"]
    endpoint = _ok(admin.post("/v1/webhook-endpoints", json={
        "url": world.receiver.url, "event_types": ["crm.customer.created"]}))["id"]
    ids["endpoint_id"] = endpoint
    _ok(rep_a.post("/v1/customers", json={"name": "矩阵投递", "mobile": "13700990006"}))
    deliveries = wait_for(lambda: admin.get(f"/v1/webhook-endpoints/{endpoint}/deliveries").json()["items"],
                          timeout=30)
    ids["delivery_id"] = deliveries[0]["id"]
    ids["replay_id"] = _ok(admin.post(f"/v1/webhook-endpoints/{endpoint}:replay",
                                      json={"since": "2020-01-01T00:00:00Z"}))["id"]
    ids["invitation_id"] = _ok(admin.post("/v1/invitations", json={
        "email": f"invitee@{a.slug}.example.com", "display_name": "Invitee", "roles": ["sales_rep"]}))["id"]
    content = f"email,display_name,roles\nimported@{a.slug}.example.com,Imported,sales_rep\n".encode()
    imported = admin.post("/v1/imports", params={"kind": "users", "dry_run": "false"},
                          files={"file": ("u.csv", content, "application/octet-stream")})
    ids["import_id"] = _ok(imported)["import"]["id"]
    # A customer import of rep A's (the `/v1/imports/{import_id}...` operations of customers): named
    # by `customer_import_id` for the leak checks; the path kind `import_id` names the user import.
    customers_file = "客户名称,手机号码\n矩阵导入客户,13700990011\n".encode()
    ids["customer_import_id"] = _ok(rep_a.post("/v1/imports", params={"kind": "customers"}, files={
        "file": ("c.csv", customers_file, "application/octet-stream")}))["id"]
    ids["session_id"] = _ok(rep_a.get("/v1/users/me/sessions"))["items"][0]["id"]
    ids["link_id"] = _ok(rep_a.post("/v1/share-links", json={"target": {"panels": ["kpis"]}}))["id"]
    # Reporting learns rep A (a recipient must be a user it knows) from identity's user events.
    subscribed = wait_for(lambda: (r := rep_a.post("/v1/report-subscriptions", json={
        "target": {"panels": ["kpis"]}, "frequency": "daily", "recipient_ids": [rep_a_id]})).status_code == 201
        and r, timeout=60)
    ids["subscription_id"] = subscribed.json()["id"]
    # Rep A's private saved report (the report builder): nobody else may see it.
    ids["report_id"] = _ok(rep_a.post("/v1/reports", json={"name": "矩阵报表", "definition": {
        "object": "customers", "rows": [{"field": "industry"}]}}))["id"]
    # Rep A's export of that report (report exports): only rep A may read it.
    ids["report_export_id"] = _ok(rep_a.post(f"/v1/reports/{ids['report_id']}/exports", json={"format": "csv"}))["id"]
    # Tenant B has objects of its own, so its lists are not trivially empty.
    _ok(world.other_admin.post("/v1/customers", json={"name": "别家客户", "mobile": "13700990009"}))
    return world


@pytest.fixture(scope="module")
def world(platform: Platform, api: ApiClient) -> Iterator[World]:
    built = _build(platform, api)
    yield built
    for client in (built.admin, built.rep_a, built.rep_b, built.other_admin):
        client.close()
    built.receiver.close()


@pytest.fixture(scope="module")
def schema(platform: Platform) -> dict[str, Any]:
    reply = httpx.get(f"{platform.gateway_url}/openapi.json", timeout=30)
    assert reply.status_code == 200
    return dict(reply.json())


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    spec: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.spec.get("operationId", f"{self.method} {self.path}"))

    @property
    def kinds(self) -> list[str]:
        return PARAM.findall(self.path)

    @property
    def scopes(self) -> list[str]:
        return list(self.spec.get("x-required-scopes") or [])

    @property
    def public(self) -> bool:
        return not self.spec.get("security")

    @property
    def has_body(self) -> bool:
        return "requestBody" in self.spec

    def url(self, ids: dict[str, str]) -> str:
        return PARAM.sub(lambda m: ids[m.group(1)], self.path)


def operations(schema: dict[str, Any]) -> list[Operation]:
    return [Operation(method, path, spec) for path, item in schema["paths"].items() if path.startswith("/v1/")
            for method, spec in item.items() if method in METHODS]


def call(http: httpx.Client, op: Operation, url: str, body: Any = None, token: str | None = None) -> httpx.Response:
    headers = {"If-Match": 'W/"1"'} if op.method in ("patch", "delete", "put") else {}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if op.method in ("get", "delete"):
        return http.request(op.method.upper(), url, headers=headers)
    return http.request(op.method.upper(), url, json=body if body is not None else {}, headers=headers)


class Findings:
    def __init__(self) -> None:
        self.holes: list[str] = []

    def expect(self, who: str, op: Operation, reply: httpx.Response, allowed: tuple[int, ...]) -> None:
        if reply.status_code not in allowed:
            self.holes.append(f"{op.method.upper()} {op.path} ({op.id}) as {who}: {reply.status_code} "
                              f"(expected {'/'.join(map(str, allowed))}) {reply.text[:200]}")


def test_every_operation_is_known_and_reachable(schema: dict[str, Any], world: World) -> None:
    """The guard that makes new endpoints join: every path parameter has a factory and every
    addressed operation with a body has a sample body."""
    missing = sorted({f"add a factory for {kind}" for op in operations(schema) for kind in op.kinds
                      if kind not in world.ids})
    missing += sorted(f"add a sample body for {op.method.upper()} {op.path} ({op.id})" for op in operations(schema)
                      if op.kinds and op.has_body and op.id not in SAMPLE_BODIES)
    assert not missing, "\n".join(missing)
    assert len(operations(schema)) > 100


def test_another_tenant_and_another_rep_cannot_reach_the_objects(schema: dict[str, Any], world: World) -> None:
    findings = Findings()
    for op in operations(schema):
        kinds = op.kinds
        if not kinds or any(k not in world.ids for k in kinds) or (op.id not in SAMPLE_BODIES and op.has_body):
            continue  # reported by test_every_operation_is_known_and_reachable
        url = op.url(world.ids)
        body = SAMPLE_BODIES[op.id](world) if op.has_body else None
        if not all(k in VOCABULARY for k in kinds):
            findings.expect("tenant B's admin", op, call(world.other_admin, op, url, body), (403, 404))
        if any(k in REP_SCOPED for k in kinds):
            findings.expect("rep B", op, call(world.rep_b, op, url, body), (403, 404))
    assert not findings.holes, "\n".join(findings.holes)


def test_missing_scopes_expired_and_forged_tokens(schema: dict[str, Any], world: World) -> None:
    findings = Findings()
    expired = identity_keyring_token(world.platform, world.a.tenant_id, ttl=-120,
                                     scopes=[s for op in operations(schema) for s in op.scopes])
    forged = forged_token(world.platform, world.a)
    with httpx.Client(base_url=world.platform.gateway_url, timeout=30) as anonymous:
        for op in operations(schema):
            if op.public:
                continue
            ids = {**{k: "0190a0c2-0000-7000-8000-000000000000" for k in op.kinds}, **world.ids}
            url = op.url(ids)
            body = SAMPLE_BODIES[op.id](world) if op.id in SAMPLE_BODIES else None
            if op.scopes:
                findings.expect("a token without its scopes", op,
                                call(anonymous, op, url, body, token=world.token_without(op.scopes)), (403,))
            findings.expect("an expired token", op, call(anonymous, op, url, body, token=expired), (401,))
            findings.expect("a forged token", op, call(anonymous, op, url, body, token=forged), (401,))
    assert not findings.holes, "\n".join(findings.holes)


def test_lists_show_nothing_of_another_tenant_or_another_rep(schema: dict[str, Any], world: World) -> None:
    findings = []
    mine = {k: v for k, v in world.ids.items() if k not in VOCABULARY}
    reps = {k: v for k, v in mine.items() if k in REP_SCOPED}
    for op in operations(schema):
        if op.method != "get" or op.kinds or op.public:
            continue
        for who, http, secret in (("tenant B's admin", world.other_admin, mine), ("rep B", world.rep_b, reps)):
            reply = http.get(op.path, params={"page_size": 500} if "page_size" in str(op.spec) else None)
            if reply.status_code >= 500:
                findings.append(f"GET {op.path} as {who}: {reply.status_code}")
            leaked = sorted(kind for kind, value in secret.items() if value in reply.text)
            if reply.status_code < 300 and leaked:
                findings.append(f"GET {op.path} as {who} shows {', '.join(leaked)} of "
                                f"{'tenant A' if http is world.other_admin else 'rep A'}")
    assert not findings, "\n".join(findings)


def test_bodies_naming_anothers_objects_are_refused(schema: dict[str, Any], world: World) -> None:
    findings = Findings()
    by_id = {op.id: op for op in operations(schema)}
    for op_id, body in BODY_REFERENCES.items():
        op = by_id[op_id]
        findings.expect("tenant B's admin", op, call(world.other_admin, op, op.path, body(world)), (400, 403, 404))
        if op.id in ("createFollowupTask", "mergeCustomers", "upsertOrder"):  # rep A's customers
            findings.expect("rep B", op, call(world.rep_b, op, op.path, body(world)), (400, 403, 404))
    assert not findings.holes, "\n".join(findings.holes)
