"""The Helm chart in deploy/helm/crm, rendered by the real helm binary.

Checks what the chart promises (docs/deploy.md): every deployable hardened, probed, limited and
reachable through its Service; secrets only by reference; the traffic matrix of the NetworkPolicies;
reporting's chDB / ClickHouse switch. Rendered manifests are also validated against the Kubernetes
OpenAPI schemas when the kubernetes-validate package is installed.

helm is not a Python package; install it as docs/deploy.md ("Validating the chart") says. Without
it these tests are skipped, with that reason.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "deploy" / "helm" / "crm"
TILT_VALUES = REPO / "deploy" / "tilt" / "values.yaml"
HELM = os.environ.get("HELM") or shutil.which("helm")

pytestmark = pytest.mark.skipif(
    HELM is None,
    reason="helm binary not found (set HELM or put helm on PATH; see docs/deploy.md, 'Validating the chart')",
)

GRPC_SERVICES = ("identity", "customers", "tagging", "followups", "reporting", "webhooks")
TENANT_SERVICES = ("customers", "tagging", "followups", "reporting", "webhooks")
SERVICES = (*GRPC_SERVICES, "gateway")
RELEASE_LABELS = {"app.kubernetes.io/name": "crm", "app.kubernetes.io/instance": "crm"}
CLICKHOUSE = (
    "--set", "global.clickhouse.enabled=true",
    "--set", "global.clickhouse.url=http://crm:secret@clickhouse:8123/crm",
)  # fmt: skip
VALUE_SETS = {"default": (), "clickhouse": CLICKHOUSE, "tilt": ("--values", str(TILT_VALUES))}

Doc = dict[str, Any]


def helm(*args: str) -> subprocess.CompletedProcess[str]:
    assert HELM is not None
    return subprocess.run([HELM, *args], capture_output=True, text=True, timeout=120, check=False)


def render(*args: str) -> list[Doc]:
    proc = helm("template", "crm", str(CHART), "--namespace", "crm", *args)
    assert proc.returncode == 0, proc.stderr
    return [doc for doc in yaml.safe_load_all(proc.stdout) if doc]


def render_error(*args: str) -> str:
    proc = helm("template", "crm", str(CHART), "--namespace", "crm", *args)
    assert proc.returncode != 0, "helm template unexpectedly succeeded"
    return proc.stderr


def of_kind(docs: list[Doc], kind: str) -> dict[str, Doc]:
    return {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == kind}


def container(deployment: Doc) -> Doc:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def env_of(deployment: Doc) -> dict[str, Doc]:
    entries = container(deployment)["env"]
    names = [e["name"] for e in entries]
    assert len(names) == len(set(names)), f"duplicate env names in {deployment['metadata']['name']}"
    return {e["name"]: e for e in entries}


@pytest.fixture(scope="module", params=sorted(VALUE_SETS))
def docs(request: pytest.FixtureRequest) -> list[Doc]:
    return render(*VALUE_SETS[request.param])


@pytest.fixture(scope="module")
def default_docs() -> list[Doc]:
    return render()


@pytest.fixture(scope="module")
def clickhouse_docs() -> list[Doc]:
    return render(*CLICKHOUSE)


# ------------------------------------------------------------------------------------ lint


@pytest.mark.parametrize("values", sorted(VALUE_SETS))
def test_helm_lint_is_clean(values: str) -> None:
    proc = helm("lint", "--strict", str(CHART), *VALUE_SETS[values])
    assert proc.returncode == 0, proc.stdout + proc.stderr


# ------------------------------------------------------------------------------- workloads


def test_every_deployable_is_deployed_once(docs: list[Doc]) -> None:
    deployments = of_kind(docs, "Deployment")
    assert sorted(deployments) == sorted(f"crm-{s}" for s in SERVICES)
    for service in SERVICES:
        assert container(deployments[f"crm-{service}"])["args"] == [f"crm_{service}"]


def test_every_deployable_is_hardened(docs: list[Doc], request: pytest.FixtureRequest) -> None:
    dev = "tilt" in request.node.callspec.id
    for name, deployment in of_kind(docs, "Deployment").items():
        pod = deployment["spec"]["template"]["spec"]
        assert pod["automountServiceAccountToken"] is False, name
        assert pod["enableServiceLinks"] is False, name
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] == 10001, name
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name

        sc = container(deployment)["securityContext"]
        assert sc["runAsNonRoot"] is True, name
        assert sc["allowPrivilegeEscalation"] is False, name
        assert sc["capabilities"]["drop"] == ["ALL"], name
        assert sc["seccompProfile"] == {"type": "RuntimeDefault"}, name
        # Only the Tilt values relax this, so that live update can write into /app.
        assert sc["readOnlyRootFilesystem"] is (not dev), name

        mounts = {m["mountPath"]: m["name"] for m in container(deployment)["volumeMounts"]}
        volumes = {v["name"]: v for v in pod["volumes"]}
        assert "emptyDir" in volumes[mounts["/tmp"]], name


def test_every_deployable_has_requests_and_limits(docs: list[Doc]) -> None:
    for name, deployment in of_kind(docs, "Deployment").items():
        resources = container(deployment)["resources"]
        for section in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(resources[section]), f"{name} {section}"


def test_probes_use_grpc_health_or_http(docs: list[Doc]) -> None:
    deployments = of_kind(docs, "Deployment")
    for service in GRPC_SERVICES:
        c = container(deployments[f"crm-{service}"])
        assert c["ports"][0] == {"name": "grpc", "containerPort": 50051, "protocol": "TCP"}
        assert [p["name"] for p in c["ports"][1:]] == (["smtp"] if service == "followups" else [])
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            assert c[probe]["grpc"] == {"port": 50051}, f"{service} {probe}"
    gateway = container(deployments["crm-gateway"])
    assert gateway["ports"] == [{"name": "http", "containerPort": 8000, "protocol": "TCP"}]
    assert gateway["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert gateway["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert gateway["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}


def test_every_deployable_has_a_service_that_selects_it(docs: list[Doc]) -> None:
    services = of_kind(docs, "Service")
    for name, deployment in of_kind(docs, "Deployment").items():
        service = services[name]
        pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert service["spec"]["selector"].items() <= pod_labels.items(), name
        assert deployment["spec"]["selector"]["matchLabels"] == service["spec"]["selector"], name
        port_names = {p["name"] for p in container(deployment)["ports"]}
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in port_names, name


def test_service_account_mounts_no_token(default_docs: list[Doc]) -> None:
    (account,) = of_kind(default_docs, "ServiceAccount").values()
    assert account["automountServiceAccountToken"] is False
    for deployment in of_kind(default_docs, "Deployment").values():
        assert deployment["spec"]["template"]["spec"]["serviceAccountName"] == account["metadata"]["name"]


# ------------------------------------------------------------------------------ env, secrets


def test_grpc_services_get_their_settings(default_docs: list[Doc]) -> None:
    deployments = of_kind(default_docs, "Deployment")
    for service in GRPC_SERVICES:
        prefix = f"CRM_{service.upper()}_"
        env = env_of(deployments[f"crm-{service}"])
        # The services bind 127.0.0.1 by default: probes and peers would never reach them.
        assert env[prefix + "GRPC_HOST"]["value"] == "0.0.0.0"
        assert env[prefix + "GRPC_PORT"]["value"] == "50051"
        assert env[prefix + "PAGE_TOKEN_KEY"]["valueFrom"]["secretKeyRef"]["key"] == "page-token-key"
        assert env[prefix + "DATABASE_URL"]["valueFrom"]["secretKeyRef"]["key"] == f"{service}-database-url"
        assert env[prefix + "NATS_URL"]["value"] == "nats://nats:4222"
        assert env[prefix + "LOG_LEVEL"]["value"] == "INFO"
        if service == "identity":
            assert prefix + "IDENTITY_ADDR" not in env
        else:
            assert env[prefix + "IDENTITY_ADDR"]["value"] == "crm-identity:50051"

    identity = env_of(deployments["crm-identity"])
    assert identity["CRM_IDENTITY_ISSUER"]["value"] == "https://crm.example.com"
    assert identity["CRM_IDENTITY_WEB_REDIRECT_URIS"]["value"] == "https://crm.example.com/auth/callback"
    assert identity["CRM_IDENTITY_PUBLIC_URL"]["value"] == "https://crm.example.com"  # invitation links
    assert identity["CRM_IDENTITY_TENANT_SERVICES"]["value"].split(",") == [f"crm-{s}:50051" for s in TENANT_SERVICES]
    assert "secretKeyRef" in identity["CRM_IDENTITY_MASTER_KEY"]["valueFrom"]
    assert "secretKeyRef" in env_of(deployments["crm-customers"])["CRM_CUSTOMERS_MASTER_KEY"]["valueFrom"]
    assert "secretKeyRef" in env_of(deployments["crm-webhooks"])["CRM_WEBHOOKS_SECRET_KEY"]["valueFrom"]


def test_every_deployable_agrees_on_the_token_issuer() -> None:
    docs = render("--set", "global.publicUrl=https://crm.acme.cn/")
    for service, deployment in of_kind(docs, "Deployment").items():
        prefix = f"CRM_{service.removeprefix('crm-').upper()}_"
        assert env_of(deployment)[prefix + "TOKEN_ISSUER"]["value"] == "https://crm.acme.cn", service


def test_gateway_gets_its_settings(default_docs: list[Doc]) -> None:
    env = env_of(of_kind(default_docs, "Deployment")["crm-gateway"])
    assert env["CRM_GATEWAY_HTTP_HOST"]["value"] == "0.0.0.0"
    assert env["CRM_GATEWAY_HTTP_PORT"]["value"] == "8000"
    assert env["CRM_GATEWAY_PUBLIC_URL"]["value"] == "https://crm.example.com"
    assert "secretKeyRef" in env["CRM_GATEWAY_SESSION_SECRET"]["valueFrom"]
    for service in GRPC_SERVICES:
        assert env[f"CRM_GATEWAY_{service.upper()}_ADDR"]["value"] == f"crm-{service}:50051"
    assert env["CRM_GATEWAY_NATS_URL"]["value"] == "nats://nats:4222"
    limits = {name: env[f"CRM_GATEWAY_RATE_LIMIT_{name}"]["value"]
              for name in ("CLIENT_PER_SECOND", "CLIENT_BURST", "TENANT_PER_SECOND", "TENANT_BURST")}
    assert limits == {"CLIENT_PER_SECOND": "10", "CLIENT_BURST": "50", "TENANT_PER_SECOND": "50", "TENANT_BURST": "200"}
    assert "PAGE_TOKEN_KEY" not in " ".join(env) and "DATABASE_URL" not in " ".join(env)
    assert env["CRM_GATEWAY_WORKERS"]["value"] == "2"  # one worker per core of the default CPU limit


def test_gateway_workers_follow_the_values() -> None:
    env = env_of(of_kind(render("--set", "gateway.workers=4"), "Deployment")["crm-gateway"])
    assert env["CRM_GATEWAY_WORKERS"]["value"] == "4"
    assert "/gateway/workers" in render_error("--set", "gateway.workers=0")


def test_gateway_rate_limits_follow_the_values() -> None:
    docs = render(
        "--set-json", "gateway.rateLimits.clientPerSecond=2.5", "--set", "gateway.rateLimits.tenantBurst=1000",
    )
    env = env_of(of_kind(docs, "Deployment")["crm-gateway"])
    assert env["CRM_GATEWAY_RATE_LIMIT_CLIENT_PER_SECOND"]["value"] == "2.5"
    assert env["CRM_GATEWAY_RATE_LIMIT_TENANT_BURST"]["value"] == "1000"
    assert "/gateway/rateLimits" in render_error("--set", "gateway.rateLimits.clientBurst=0")


def test_secrets_are_only_referenced(docs: list[Doc]) -> None:
    secret_data = {name: set(doc.get("data", {})) for name, doc in of_kind(docs, "Secret").items()}
    sensitive = ("KEY", "SECRET", "PASSWORD", "DATABASE_URL", "CLICKHOUSE_URL")
    for name, deployment in of_kind(docs, "Deployment").items():
        for var, entry in env_of(deployment).items():
            if any(word in var for word in sensitive):
                assert "value" not in entry, f"{name}: {var} is set in plain text"
            ref = entry.get("valueFrom", {}).get("secretKeyRef")
            if ref and ref["name"] in secret_data:
                assert ref["key"] in secret_data[ref["name"]], f"{name}: {var} -> missing key {ref['key']}"


def test_existing_secrets_replace_the_chart_secret() -> None:
    docs = render(
        "--set", "global.secrets.existingSecret=crm-app",
        "--set", "global.postgres.existingSecret=crm-postgres",
        "--set", "global.nats.existingSecret=crm-nats",
        "--set", "global.clickhouse.enabled=true",
        "--set", "global.clickhouse.existingSecret=crm-clickhouse",
    )  # fmt: skip
    assert of_kind(docs, "Secret") == {}
    refs = {
        var: entry["valueFrom"]["secretKeyRef"]["name"]
        for deployment in of_kind(docs, "Deployment").values()
        for var, entry in env_of(deployment).items()
        if "valueFrom" in entry
    }
    assert refs["CRM_IDENTITY_MASTER_KEY"] == "crm-app"
    assert refs["CRM_GATEWAY_SESSION_SECRET"] == "crm-app"
    assert refs["CRM_CUSTOMERS_DATABASE_URL"] == "crm-postgres"
    assert refs["CRM_TAGGING_NATS_URL"] == "crm-nats"
    assert refs["CRM_GATEWAY_NATS_URL"] == "crm-nats"
    assert refs["CRM_REPORTING_CLICKHOUSE_URL"] == "crm-clickhouse"


def test_env_values_override_chart_managed_variables() -> None:
    docs = render("--set", "customers.env.CRM_CUSTOMERS_LOG_LEVEL=DEBUG", "--set", "global.env.EXTRA=1")
    env = env_of(of_kind(docs, "Deployment")["crm-customers"])
    assert env["CRM_CUSTOMERS_LOG_LEVEL"]["value"] == "DEBUG"
    assert env["EXTRA"]["value"] == "1"


def test_disabled_service_disappears_everywhere() -> None:
    docs = render("--set", "customers.enabled=false")
    assert "crm-customers" not in of_kind(docs, "Deployment")
    assert "crm-customers" not in of_kind(docs, "Service")
    assert "crm-customers" not in of_kind(docs, "NetworkPolicy")
    identity = env_of(of_kind(docs, "Deployment")["crm-identity"])
    assert "crm-customers:50051" not in identity["CRM_IDENTITY_TENANT_SERVICES"]["value"]
    (secret,) = of_kind(docs, "Secret").values()
    assert not {"customers-master-key", "customers-database-url"} & set(secret["data"])
    assert "page-token-key" in secret["data"]


# --------------------------------------------------------------------------- network policy


def _peer_components(peer: Doc) -> set[str] | None:
    """Components a same-release pod peer admits; None when it admits every pod of the release."""
    selector = peer["podSelector"]
    assert selector["matchLabels"] == RELEASE_LABELS
    for expression in selector.get("matchExpressions", []):
        assert expression["key"] == "app.kubernetes.io/component"
        assert expression["operator"] == "In"
        return set(expression["values"])
    return None


def _ports(rule: Doc) -> set[int]:
    return {p["port"] for p in rule.get("ports", [])}


def test_network_policy_denies_by_default(docs: list[Doc]) -> None:
    policies = of_kind(docs, "NetworkPolicy")
    deny = policies["crm-default-deny"]["spec"]
    assert deny["podSelector"] == {"matchLabels": RELEASE_LABELS}
    assert sorted(deny["policyTypes"]) == ["Egress", "Ingress"]
    assert "ingress" not in deny and "egress" not in deny
    common = policies["crm-common"]["spec"]
    assert any(_ports(rule) == {53} for rule in common["egress"])


def test_gateway_is_open_on_8000_only(default_docs: list[Doc]) -> None:
    spec = of_kind(default_docs, "NetworkPolicy")["crm-gateway"]["spec"]
    (ingress,) = spec["ingress"]
    assert _ports(ingress) == {8000} and "from" not in ingress
    services, nats = spec["egress"]
    assert _ports(services) == {50051}
    assert _peer_components(services["to"][0]) == set(GRPC_SERVICES)
    assert _ports(nats) == {4222}  # Idempotency-Key records


def test_grpc_services_accept_only_gateway_and_identity(docs: list[Doc]) -> None:
    policies = of_kind(docs, "NetworkPolicy")
    for service in GRPC_SERVICES:
        spec = policies[f"crm-{service}"]["spec"]
        ingress, *others = spec["ingress"]
        # followups also takes inbound mail on its SMTP port (test_followups_receives_inbound_mail).
        assert [_ports(rule) for rule in others] == ([{2525}] if service == "followups" else [])
        assert _ports(ingress) == {50051}
        (peer,) = ingress["from"]
        # identity is called by every service (token verification); the others only by gateway and
        # identity, and customers also by followups and tagging (data scope on a customer they have not seen yet).
        expected = {"gateway", "identity", *(["followups", "tagging"] if service == "customers" else [])}
        assert _peer_components(peer) == (None if service == "identity" else expected)
        egress_ports = set().union(*(_ports(rule) for rule in spec["egress"]))
        assert {5432, 4222, 50051} <= egress_ports, service


def test_only_reporting_reaches_clickhouse_and_only_when_enabled(
    default_docs: list[Doc], clickhouse_docs: list[Doc]
) -> None:
    def clickhouse_rules(docs: list[Doc], name: str) -> list[Doc]:
        spec = of_kind(docs, "NetworkPolicy")[name]["spec"]
        return [rule for rule in spec["egress"] if 8123 in _ports(rule)]

    assert clickhouse_rules(default_docs, "crm-reporting") == []
    assert clickhouse_rules(clickhouse_docs, "crm-reporting") != []
    for service in set(GRPC_SERVICES) - {"reporting"}:
        assert clickhouse_rules(clickhouse_docs, f"crm-{service}") == []


def test_webhooks_reach_public_addresses_but_not_private_ones(default_docs: list[Doc]) -> None:
    spec = of_kind(default_docs, "NetworkPolicy")["crm-webhooks"]["spec"]
    blocks = [peer["ipBlock"] for rule in spec["egress"] for peer in rule.get("to", []) if "ipBlock" in peer]
    v4 = next(block for block in blocks if block["cidr"] == "0.0.0.0/0")
    assert {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"} <= set(v4["except"])


# ------------------------------------------------------------------- availability, scaling


def test_pdb_exactly_where_more_than_one_replica(default_docs: list[Doc]) -> None:
    budgets = of_kind(default_docs, "PodDisruptionBudget")
    for name, deployment in of_kind(default_docs, "Deployment").items():
        assert (name in budgets) == (deployment["spec"]["replicas"] > 1), name
    assert "crm-reporting" not in budgets  # chDB mode: one pod


def test_autoscaling_replaces_replicas() -> None:
    docs = render("--set", "gateway.autoscaling.enabled=true")
    assert "replicas" not in of_kind(docs, "Deployment")["crm-gateway"]["spec"]
    hpa = of_kind(docs, "HorizontalPodAutoscaler")["crm-gateway"]["spec"]
    assert hpa["scaleTargetRef"]["name"] == "crm-gateway"
    assert hpa["minReplicas"] == 2
    assert "crm-gateway" in of_kind(docs, "PodDisruptionBudget")


def test_ingress_is_off_by_default_and_follows_the_public_url(default_docs: list[Doc]) -> None:
    assert of_kind(default_docs, "Ingress") == {}
    docs = render(
        "--set", "gateway.ingress.enabled=true",
        "--set", "gateway.ingress.tls.enabled=true",
        "--set", "global.publicUrl=https://crm.acme.cn:8443",
    )  # fmt: skip
    spec = of_kind(docs, "Ingress")["crm-gateway"]["spec"]
    assert spec["rules"][0]["host"] == "crm.acme.cn"
    assert spec["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"] == "crm-gateway"
    assert spec["tls"][0]["hosts"] == ["crm.acme.cn"]


# ------------------------------------------------------------------------------- reporting


def test_reporting_uses_chdb_on_a_volume_by_default(default_docs: list[Doc]) -> None:
    deployment = of_kind(default_docs, "Deployment")["crm-reporting"]
    env = env_of(deployment)
    path = env["CRM_REPORTING_CHDB_PATH"]["value"]
    assert "CRM_REPORTING_CLICKHOUSE_URL" not in env
    mounts = {m["mountPath"]: m["name"] for m in container(deployment)["volumeMounts"]}
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    claim = volumes[mounts[path]]["persistentVolumeClaim"]["claimName"]
    assert claim in of_kind(default_docs, "PersistentVolumeClaim")
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    assert deployment["spec"]["replicas"] == 1


def test_reporting_chdb_without_persistence_uses_empty_dir() -> None:
    docs = render("--set", "reporting.chdb.persistence.enabled=false")
    assert of_kind(docs, "PersistentVolumeClaim") == {}
    volumes = of_kind(docs, "Deployment")["crm-reporting"]["spec"]["template"]["spec"]["volumes"]
    assert "emptyDir" in next(v for v in volumes if v["name"] == "chdb")


def test_reporting_uses_clickhouse_when_enabled(clickhouse_docs: list[Doc]) -> None:
    deployment = of_kind(clickhouse_docs, "Deployment")["crm-reporting"]
    env = env_of(deployment)
    assert "CRM_REPORTING_CHDB_PATH" not in env
    assert env["CRM_REPORTING_CLICKHOUSE_URL"]["valueFrom"]["secretKeyRef"]["key"] == "clickhouse-url"
    assert of_kind(clickhouse_docs, "PersistentVolumeClaim") == {}
    assert {v["name"] for v in deployment["spec"]["template"]["spec"]["volumes"]} == {"tmp"}
    scaled = render(*CLICKHOUSE, "--set", "reporting.replicas=3")
    assert of_kind(scaled, "Deployment")["crm-reporting"]["spec"]["replicas"] == 3


def test_reporting_refuses_several_replicas_on_chdb() -> None:
    assert "chDB" in render_error("--set", "reporting.replicas=2")
    assert "clickhouse" in render_error("--set", "global.clickhouse.enabled=true")


# ----------------------------------------------------------------------------- values schema


@pytest.mark.parametrize(
    ("args", "path"),
    [
        (("--set", "identity.replicaz=2"), "/identity"),
        (("--set", "global.logLevel=LOUD"), "/global/logLevel"),
        (("--set", "global.secrets.identityMasterKey=short"), "/global/secrets/identityMasterKey"),
        (("--set", "gateway.resources.limits=null"), "/gateway/resources"),
        (("--set", "global.postgres.sslMode=sometimes"), "/global/postgres/sslMode"),
    ],
)
def test_schema_rejects_bad_values(args: tuple[str, ...], path: str) -> None:
    assert path in render_error(*args)


# -------------------------------------------------------------------- Kubernetes API schemas

# The chart's floor (Chart.yaml kubeVersion) and the newest schemas kubernetes-validate ships.
KUBE_VERSIONS = ("1.27.0", "latest")


@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
def test_manifests_match_kubernetes_schemas(docs: list[Doc], kube_version: str) -> None:
    kubernetes_validate = pytest.importorskip(
        "kubernetes_validate", reason="kubernetes-validate not installed (pip install kubernetes-validate)"
    )
    version = kubernetes_validate.latest_version() if kube_version == "latest" else kube_version
    for doc in docs:
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{doc['kind']}/{doc['metadata']['name']} (Kubernetes {version}): {error.message}")


def test_followups_receives_inbound_mail(default_docs: list[Doc]) -> None:
    """The inbound SMTP server (docs/followups.md, "Email into the timeline"; docs/deploy.md): a
    container port above 1024, its own Service on 25, the settings, open in the NetworkPolicy."""
    deployment = of_kind(default_docs, "Deployment")["crm-followups"]
    ports = {p["name"]: p for p in container(deployment)["ports"]}
    assert ports["smtp"] == {"name": "smtp", "containerPort": 2525, "protocol": "TCP"}
    env = env_of(deployment)
    assert env["CRM_FOLLOWUPS_INBOUND_SMTP_HOST"]["value"] == "0.0.0.0"
    assert env["CRM_FOLLOWUPS_INBOUND_SMTP_PORT"]["value"] == "2525"
    assert env["CRM_FOLLOWUPS_INBOUND_DOMAIN"]["value"] == "inbound.crm.example.com"
    service = of_kind(default_docs, "Service")["crm-followups-smtp"]["spec"]
    assert service["type"] == "ClusterIP"
    assert service["ports"] == [{"name": "smtp", "port": 25, "targetPort": "smtp", "protocol": "TCP",
                                 "appProtocol": "smtp"}]
    assert service["selector"].items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
    mail = of_kind(default_docs, "NetworkPolicy")["crm-followups"]["spec"]["ingress"][1]
    assert _ports(mail) == {2525} and "from" not in mail


def test_inbound_mail_is_configurable_and_can_be_off() -> None:
    docs = render("--set", "followups.inboundSmtp.containerPort=2600",
                  "--set", "followups.inboundSmtp.domain=mx.acme.example",
                  "--set", "followups.inboundSmtp.service.type=LoadBalancer",
                  "--set", "followups.inboundSmtp.service.port=2525",
                  "--set", "followups.inboundSmtp.ingressFrom[0].ipBlock.cidr=10.0.0.0/8")
    deployment = of_kind(docs, "Deployment")["crm-followups"]
    assert {p["name"]: p["containerPort"] for p in container(deployment)["ports"]}["smtp"] == 2600
    env = env_of(deployment)
    assert (env["CRM_FOLLOWUPS_INBOUND_SMTP_PORT"]["value"], env["CRM_FOLLOWUPS_INBOUND_DOMAIN"]["value"]) == \
        ("2600", "mx.acme.example")
    service = of_kind(docs, "Service")["crm-followups-smtp"]["spec"]
    assert (service["type"], service["ports"][0]["port"], service["externalTrafficPolicy"]) == \
        ("LoadBalancer", 2525, "Local")
    mail = of_kind(docs, "NetworkPolicy")["crm-followups"]["spec"]["ingress"][1]
    assert _ports(mail) == {2600} and mail["from"] == [{"ipBlock": {"cidr": "10.0.0.0/8"}}]
    assert "/followups/inboundSmtp/containerPort" in render_error("--set", "followups.inboundSmtp.containerPort=25")

    off = render("--set", "followups.inboundSmtp.enabled=false")
    deployment = of_kind(off, "Deployment")["crm-followups"]
    assert [p["name"] for p in container(deployment)["ports"]] == ["grpc"]
    assert "CRM_FOLLOWUPS_INBOUND_SMTP_PORT" not in env_of(deployment)
    assert "crm-followups-smtp" not in of_kind(off, "Service")
    assert len(of_kind(off, "NetworkPolicy")["crm-followups"]["spec"]["ingress"]) == 1
