"""deploy/k8s: every manifest is valid Kubernetes, hardened, and in step with the code."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml  # type: ignore[import-untyped]

from mailroom.api.settings import ApiSettings
from mailroom.bounce.settings import BounceSettings
from mailroom.cli.services import SERVICES as CLI_SERVICES
from mailroom.oauth_refresh.settings import OAuthRefreshSettings
from mailroom.sender.settings import SenderSettings
from mailroom.shared.settings import CommonSettings
from mailroom.watcher.settings import WatcherSettings

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy" / "k8s"
MONITORING = K8S / "monitoring"
IMAGE = "ghcr.io/mailroom/mailroom"
KEYS_PATH = "/var/run/secrets/mailroom/keys"

# Oldest Kubernetes we support and the newest schema bundled with kubernetes-validate.
KUBERNETES_VERSIONS = ("1.30.0", kubernetes_validate.latest_version())
# Custom resources: no bundled schema, their structure is checked below instead.
CRD_GROUPS = ("monitoring.coreos.com/", "kustomize.config.k8s.io/")

SETTINGS: dict[str, type[CommonSettings]] = {
    "api": ApiSettings,
    "sender": SenderSettings,
    "watcher": WatcherSettings,
    "bounce": BounceSettings,
    "oauth-refresh": OAuthRefreshSettings,
}
EXPECTED_PORTS = {
    "api": 8000,
    "sender": 9101,
    "watcher": 9102,
    "bounce": 9103,
    "oauth-refresh": 9104,
}
# Services that decrypt or encrypt mailbox secrets and so need the keys mounted.
NEEDS_KEYS = {"api", "sender", "watcher", "oauth-refresh"}

Document = dict[str, Any]


def manifest_files() -> list[Path]:
    return sorted(K8S.rglob("*.yaml"))


def documents(path: Path) -> list[Document]:
    with path.open() as stream:
        return [doc for doc in yaml.safe_load_all(stream) if doc is not None]


def all_documents() -> Iterator[tuple[Path, Document]]:
    for path in manifest_files():
        for doc in documents(path):
            yield path, doc


def applied_documents() -> list[Document]:
    """What `kubectl apply -k deploy/k8s/` sends, before kustomize's transformations."""
    kustomization = documents(K8S / "kustomization.yaml")[0]
    return [doc for name in kustomization["resources"] for doc in documents(K8S / name)]


def of_kind(kind: str) -> list[Document]:
    return [doc for doc in applied_documents() if doc["kind"] == kind]


def by_name(kind: str) -> dict[str, Document]:
    return {doc["metadata"]["name"]: doc for doc in of_kind(kind)}


def deployment(service: str) -> Document:
    return by_name("Deployment")[service]


def only_container(service: str) -> Document:
    containers = deployment(service)["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    container: Document = containers[0]
    return container


def is_custom_resource(doc: Document) -> bool:
    return str(doc["apiVersion"]).startswith(CRD_GROUPS)


def doc_id(item: tuple[Path, Document]) -> str:
    path, doc = item
    return f"{path.relative_to(K8S)}:{doc['kind']}/{doc.get('metadata', {}).get('name', '')}"


BUILTIN_DOCUMENTS = [item for item in all_documents() if not is_custom_resource(item[1])]


def test_manifests_exist() -> None:
    assert (K8S / "kustomization.yaml").is_file()
    assert (MONITORING / "kustomization.yaml").is_file()
    assert len(BUILTIN_DOCUMENTS) > 20


@pytest.mark.parametrize("path", manifest_files(), ids=lambda path: str(path.relative_to(K8S)))
def test_every_document_parses_and_is_named(path: Path) -> None:
    docs = documents(path)

    assert docs, f"{path} is empty"
    for doc in docs:
        assert {"apiVersion", "kind"} <= doc.keys()
        if doc["kind"] != "Kustomization":
            assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", doc["metadata"]["name"])


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("item", BUILTIN_DOCUMENTS, ids=doc_id)
def test_builtin_resources_match_the_kubernetes_schema(
    item: tuple[Path, Document], version: str
) -> None:
    _, doc = item
    # strict: unknown fields (typos such as `readOnlyRootFileSystem`) are errors too.
    kubernetes_validate.validate(doc, version, strict=True)


def test_kustomization_lists_every_manifest_but_the_secret_example() -> None:
    kustomization = documents(K8S / "kustomization.yaml")[0]
    on_disk = {path.name for path in K8S.glob("*.yaml")} - {
        "kustomization.yaml",
        "secret.example.yaml",
    }

    assert kustomization["namespace"] == "mailroom"
    assert sorted(kustomization["resources"]) == sorted(on_disk)
    assert len(set(kustomization["resources"])) == len(kustomization["resources"])
    assert {"name": IMAGE, "newTag": kustomization["images"][0]["newTag"]} in kustomization[
        "images"
    ]
    part_of = [entry["pairs"] for entry in kustomization["labels"]]
    assert {"app.kubernetes.io/part-of": "mailroom"} in part_of


def test_monitoring_kustomization_lists_its_manifests() -> None:
    kustomization = documents(MONITORING / "kustomization.yaml")[0]
    on_disk = {path.name for path in MONITORING.glob("*.yaml")} - {"kustomization.yaml"}

    assert kustomization["namespace"] == "mailroom"
    assert sorted(kustomization["resources"]) == sorted(on_disk)


def test_no_secret_is_applied_by_the_kustomization() -> None:
    assert of_kind("Secret") == []


def test_secret_example_documents_connections_and_keys() -> None:
    secrets = {doc["metadata"]["name"]: doc for doc in documents(K8S / "secret.example.yaml")}

    assert set(secrets["mailroom-connections"]["stringData"]) >= {
        "MAILROOM_AMQP_URL",
        "MAILROOM_MONGO_URL",
    }
    assert secrets["mailroom-encryption-keys"]["stringData"]
    assert "MAILROOM_ENCRYPTION_KEYS_DIR" in (K8S / "secret.example.yaml").read_text()


def test_config_map_holds_only_non_secret_settings() -> None:
    data = by_name("ConfigMap")["mailroom-config"]["data"]

    assert data["MAILROOM_LOG_FORMAT"] == "json"
    assert data["MAILROOM_BUS_NAMESPACE"] == "mailroom"
    assert data["MAILROOM_MONGO_DB"] == "mailroom"
    assert not {key for key in data if re.search(r"URL|KEY|PASSWORD|TOKEN", key)}
    # Every entry is a real setting: a misspelt name would be silently ignored.
    fields = {f"MAILROOM_{name.upper()}" for name in CommonSettings.model_fields}
    assert set(data) <= fields


def test_each_service_is_deployed_exactly_once() -> None:
    names = Counter(doc["metadata"]["name"] for doc in of_kind("Deployment"))

    assert names == Counter(list(SETTINGS))
    assert set(SETTINGS) == set(CLI_SERVICES)  # `mailroom <service>` knows each of them


@pytest.mark.parametrize("service", SETTINGS)
def test_ports_match_the_service_settings(service: str) -> None:
    port = SETTINGS[service].model_fields["http_port"].default

    assert port == EXPECTED_PORTS[service]
    assert [p["containerPort"] for p in only_container(service)["ports"]] == [port]


@pytest.mark.parametrize("service", SETTINGS)
def test_deployment_runs_the_service_command(service: str) -> None:
    container = only_container(service)
    spec = deployment(service)["spec"]

    assert container["command"] == ["mailroom", service]
    assert container["image"].split(":")[0] == IMAGE
    assert spec["replicas"] == 2
    assert spec["selector"]["matchLabels"] == {"app": service}
    template_labels = spec["template"]["metadata"]["labels"]
    assert template_labels["app"] == service
    assert template_labels["app.kubernetes.io/part-of"] == "mailroom"
    env_from = {next(iter(source.values()))["name"] for source in container["envFrom"]}
    assert env_from == {"mailroom-config", "mailroom-connections"}


@pytest.mark.parametrize("service", SETTINGS)
def test_deployment_is_hardened(service: str) -> None:
    pod = deployment(service)["spec"]["template"]["spec"]
    container = only_container(service)
    pod_security = pod["securityContext"]
    security = container["securityContext"]

    assert pod["automountServiceAccountToken"] is False
    assert pod["serviceAccountName"] == service
    assert by_name("ServiceAccount")[service]["automountServiceAccountToken"] is False
    assert pod_security["runAsNonRoot"] is True
    assert pod_security["runAsUser"] == 10001
    assert pod_security["seccompProfile"] == {"type": "RuntimeDefault"}
    assert security["runAsNonRoot"] is True
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert security.get("privileged", False) is False
    assert "hostNetwork" not in pod and "hostPID" not in pod
    for kind in ("requests", "limits"):
        assert {"cpu", "memory"} <= container["resources"][kind].keys()
    spread = pod["topologySpreadConstraints"]
    assert "kubernetes.io/hostname" in {c["topologyKey"] for c in spread}
    assert all(c["labelSelector"]["matchLabels"] == {"app": service} for c in spread)
    # A read-only root needs a writable /tmp for Python and libraries that use it.
    assert "/tmp" in {mount["mountPath"] for mount in container["volumeMounts"]}


@pytest.mark.parametrize("service", SETTINGS)
def test_grace_period_covers_the_drain(service: str) -> None:
    pod = deployment(service)["spec"]["template"]["spec"]
    drain = float(by_name("ConfigMap")["mailroom-config"]["data"]["MAILROOM_DRAIN_SECONDS"])
    pre_stop = pod["containers"][0].get("lifecycle", {}).get("preStop", {})
    pre_stop_seconds = int(pre_stop["exec"]["command"][1]) if pre_stop else 0

    assert pod["terminationGracePeriodSeconds"] == 40
    assert drain == CommonSettings.model_fields["drain_seconds"].default
    assert pre_stop_seconds + drain + 10 <= pod["terminationGracePeriodSeconds"]


@pytest.mark.parametrize("service", SETTINGS)
def test_probes_use_the_service_port(service: str) -> None:
    container = only_container(service)
    port_names = {port["name"]: port["containerPort"] for port in container["ports"]}
    expected = {
        "livenessProbe": "/healthz",
        "readinessProbe": "/readyz",
        "startupProbe": "/healthz",
    }

    for probe, path in expected.items():
        http_get = container[probe]["httpGet"]
        assert http_get["path"] == path
        assert port_names.get(http_get["port"], http_get["port"]) == EXPECTED_PORTS[service]


@pytest.mark.parametrize("service", SETTINGS)
def test_encryption_keys_are_mounted_where_the_settings_point(service: str) -> None:
    container = only_container(service)
    pod = deployment(service)["spec"]["template"]["spec"]
    env = {item["name"]: item.get("value") for item in container.get("env", [])}
    mounts = {mount["mountPath"]: mount for mount in container["volumeMounts"]}

    if service not in NEEDS_KEYS:
        assert KEYS_PATH not in mounts and "MAILROOM_ENCRYPTION_KEYS_DIR" not in env
        return
    assert env["MAILROOM_ENCRYPTION_KEYS_DIR"] == KEYS_PATH
    assert mounts[KEYS_PATH]["readOnly"] is True
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    assert volumes[mounts[KEYS_PATH]["name"]]["secret"]["secretName"] == "mailroom-encryption-keys"


@pytest.mark.parametrize("service", SETTINGS)
def test_service_and_disruption_budget(service: str) -> None:
    services = [doc for doc in of_kind("Service") if doc["spec"]["selector"] == {"app": service}]
    budgets = [
        doc
        for doc in of_kind("PodDisruptionBudget")
        if doc["spec"]["selector"]["matchLabels"] == {"app": service}
    ]

    assert len(services) == 1
    assert [port["port"] for port in services[0]["spec"]["ports"]] == [EXPECTED_PORTS[service]]
    container_ports = {port["name"] for port in only_container(service)["ports"]}
    assert services[0]["spec"]["ports"][0]["targetPort"] in container_ports
    assert len(budgets) == 1
    if service == "api":
        assert budgets[0]["spec"] == {
            "minAvailable": 1,
            "selector": {"matchLabels": {"app": "api"}},
        }
    else:
        assert budgets[0]["spec"]["maxUnavailable"] == 1
        assert "minAvailable" not in budgets[0]["spec"]


def test_network_policies() -> None:
    policies = of_kind("NetworkPolicy")
    egress_ports: set[int] = set()
    ingress_ports: dict[str, set[int]] = {}
    for policy in policies:
        spec = policy["spec"]
        selected = spec["podSelector"].get("matchLabels", {})
        for rule in spec.get("egress", []):
            assert "to" not in rule  # by port: the servers may live outside the cluster
            egress_ports |= {port["port"] for port in rule["ports"]}
        if spec.get("ingress"):
            ingress_ports[selected["app"]] = {
                port["port"] for rule in spec["ingress"] for port in rule["ports"]
            }

    deny_all = [p for p in policies if p["spec"]["podSelector"] == {}]
    assert len(deny_all) == 1
    assert set(deny_all[0]["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    assert "ingress" not in deny_all[0]["spec"] and "egress" not in deny_all[0]["spec"]
    assert egress_ports == {53, 5672, 5671, 27017, 25, 465, 587, 143, 993, 110, 995, 443}
    assert ingress_ports == {service: {port} for service, port in EXPECTED_PORTS.items()}


def test_namespace_enforces_restricted_pod_security() -> None:
    namespace = by_name("Namespace")["mailroom"]

    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


# --- monitoring (custom resources: structure only) --------------------------------


def test_service_monitor_scrapes_every_metrics_port() -> None:
    (monitor,) = documents(MONITORING / "servicemonitor.yaml")
    endpoints = monitor["spec"]["endpoints"]
    service_ports = {
        port["name"] for service in of_kind("Service") for port in service["spec"]["ports"]
    }

    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["kind"] == "ServiceMonitor"
    assert monitor["spec"]["selector"]["matchLabels"] == {"app.kubernetes.io/part-of": "mailroom"}
    assert {endpoint["port"] for endpoint in endpoints} == service_ports
    assert all(endpoint["path"] == "/metrics" for endpoint in endpoints)


def alert_rules() -> dict[str, Document]:
    (rule,) = documents(MONITORING / "prometheusrule.yaml")
    assert rule["apiVersion"] == "monitoring.coreos.com/v1"
    assert rule["kind"] == "PrometheusRule"
    return {item["alert"]: item for group in rule["spec"]["groups"] for item in group["rules"]}


def test_alert_rules_are_complete() -> None:
    rules = alert_rules()

    assert len(rules) >= 7
    for name, rule in rules.items():
        assert re.fullmatch(r"Mailroom[A-Za-z]+", name)
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]
        if "for" in rule:
            assert re.fullmatch(r"\d+[smh]", rule["for"])
        expr = rule["expr"]
        assert expr.count("(") == expr.count(")")
        assert expr.count("{") == expr.count("}")
        assert expr.count("[") == expr.count("]")


@pytest.mark.parametrize(
    "metric",
    [
        "up",
        "mailroom_ready",
        "mailroom_bus_dead_lettered_total",
        'mailroom_bus_messages_total{namespace="mailroom", outcome="retry"}',
        "rabbitmq_queue_messages_ready",
        "mailroom_oauth_refresh_failures_total",
        'mailroom_mailboxes{namespace="mailroom", state="auth_failed"}',
    ],
)
def test_an_alert_watches(metric: str) -> None:
    exprs = [rule["expr"] for rule in alert_rules().values()]

    assert any(re.search(rf"(?<![\w]){re.escape(metric)}(?![\w])", expr) for expr in exprs)


def test_mailbox_state_alert_does_not_add_up_api_replicas() -> None:
    expr = alert_rules()["MailroomMailboxesAuthFailed"]["expr"]

    # Each API replica exports the same fleet count: a sum would multiply it.
    assert expr.startswith("max by (state) (mailroom_mailboxes{")
    assert "sum" not in expr


def test_grafana_dashboard_is_applied_with_the_monitoring() -> None:
    kustomization = documents(MONITORING / "kustomization.yaml")[0]
    (config_map,) = documents(MONITORING / "grafana-dashboard.yaml")

    assert "grafana-dashboard.yaml" in kustomization["resources"]
    assert config_map["apiVersion"] == "v1" and config_map["kind"] == "ConfigMap"
    # The label Grafana's dashboard sidecar watches for (kube-prometheus-stack's default).
    assert config_map["metadata"]["labels"] == {"grafana_dashboard": "1"}
    assert list(config_map["data"]) == ["mailroom.json"]


# --- rendered output, when kubectl is installed ----------------------------------


@pytest.mark.parametrize("folder", [K8S, MONITORING], ids=["base", "monitoring"])
def test_kustomize_renders(folder: Path) -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed")
    rendered = subprocess.run(
        [kubectl, "kustomize", str(folder)], capture_output=True, text=True, check=True, timeout=60
    )

    assert "deprecated" not in rendered.stderr.lower()
    docs = [doc for doc in yaml.safe_load_all(rendered.stdout) if doc]
    for doc in docs:
        assert doc["metadata"]["labels"]["app.kubernetes.io/part-of"] == "mailroom"
        if doc["kind"] != "Namespace":
            assert doc["metadata"]["namespace"] == "mailroom"
        if not is_custom_resource(doc):
            kubernetes_validate.validate(doc, KUBERNETES_VERSIONS[0], strict=True)
        if doc["kind"] == "Deployment":
            image = doc["spec"]["template"]["spec"]["containers"][0]["image"]
            assert image.startswith(f"{IMAGE}:")


# --- image -------------------------------------------------------------------------


def test_dockerfile_builds_a_non_root_runtime_image() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    instructions = [
        line.strip() for line in dockerfile.splitlines() if line.strip() and line[0] != "#"
    ]

    assert [line for line in instructions if line.startswith("FROM ")] == [
        "FROM python:3.11-slim AS build",
        "FROM python:3.11-slim",
    ]
    assert "USER 10001:10001" in instructions
    assert 'ENTRYPOINT ["mailroom"]' in instructions
    assert re.search(r"pip install \.$", dockerfile, re.MULTILINE)
    assert "[dev]" not in dockerfile
    # The runtime stage copies the installed virtualenv, never the sources.
    runtime = dockerfile.split("FROM python:3.11-slim\n", 1)[1]
    assert "COPY --from=build /opt/mailroom /opt/mailroom" in runtime
    assert not re.search(r"^COPY (?!--from)", runtime, re.MULTILINE)
