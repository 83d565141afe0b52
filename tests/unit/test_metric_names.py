"""Alerts and the Grafana dashboard query only metrics and labels the code really registers.

A misspelt metric in a PromQL expression is not an error: it selects nothing, the
alert never fires and the panel stays empty. So every `mailroom_*` name in
`deploy/k8s/monitoring/` is checked against the metric classes of every service,
instantiated on fresh registries.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]
from prometheus_client import CollectorRegistry
from prometheus_client.metrics import MetricWrapperBase

from mailroom.api.fleet import MAILBOX_STATES, FleetMetrics
from mailroom.api.metrics import ApiMetrics
from mailroom.bounce.metrics import BounceMetrics
from mailroom.oauth_refresh.metrics import OAuthRefreshMetrics
from mailroom.sender.metrics import SenderMetrics
from mailroom.shared.metrics import BusMetrics, ReadinessMetrics, new_registry
from mailroom.watcher.metrics import WatcherMetrics

REPO = Path(__file__).resolve().parents[2]
MONITORING = REPO / "deploy" / "k8s" / "monitoring"
DASHBOARD = MONITORING / "grafana-dashboard.json"

METRIC_CLASSES: list[Callable[[CollectorRegistry], object]] = [
    BusMetrics,
    ReadinessMetrics,
    ApiMetrics,
    FleetMetrics,
    SenderMetrics,
    WatcherMetrics,
    BounceMetrics,
    OAuthRefreshMetrics,
]
# Labels Prometheus adds to every scraped series (the ServiceMonitor's targetLabels
# add `app`), so a query may select or group by them on any metric.
TARGET_LABELS = {"namespace", "pod", "service", "app", "job", "instance", "container", "endpoint"}
# The series a metric family exposes, by type (prometheus_client strips `_total`
# from a counter's family name).
SERIES_SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "summary": ("", "_count", "_sum", "_created"),
}
# Label values a query may match exactly; a misspelt value selects nothing, like a name.
KNOWN_VALUES: dict[tuple[str, str], set[str]] = {
    ("mailroom_bus_messages_total", "outcome"): {"ok", "retry", "dead_letter", "invalid"},
    ("mailroom_mailboxes", "state"): set(MAILBOX_STATES),
}

METRIC_NAME = re.compile(r"(?<![A-Za-z0-9_:])mailroom_[a-z_]+")
SELECTOR = re.compile(r"(?<![A-Za-z0-9_:])(mailroom_[a-z_]+)\{([^}]*)\}")
MATCHER = re.compile(r'\s*([a-zA-Z_]\w*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*')
GROUPING = re.compile(r"\b(?:by|without)\s*\(([^)]*)\)")


@dataclass(frozen=True)
class Registered:
    """What the code registers: queryable series names and the labels of each."""

    series_labels: dict[str, frozenset[str]]
    families: frozenset[str]


def registered_metrics() -> Registered:
    series_labels: dict[str, frozenset[str]] = {}
    families: set[str] = set()
    for metric_class in METRIC_CLASSES:
        metrics = metric_class(new_registry())
        for collector in vars(metrics).values():
            if not isinstance(collector, MetricWrapperBase):
                continue
            # prometheus_client keeps label names private; describe() gives name and type.
            labels = frozenset(collector._labelnames)
            for family in collector.describe():
                families.add(family.name)
                for suffix in SERIES_SUFFIXES[family.type]:
                    extra = {"le"} if suffix == "_bucket" else set()
                    series_labels[family.name + suffix] = labels | extra
    return Registered(series_labels, frozenset(families))


REGISTERED = registered_metrics()


@dataclass(frozen=True)
class Query:
    """A PromQL expression found in the monitoring manifests, and where."""

    where: str
    expr: str


def alert_queries() -> Iterator[Query]:
    (rule,) = yaml.safe_load_all((MONITORING / "prometheusrule.yaml").read_text())
    for group in rule["spec"]["groups"]:
        for item in group["rules"]:
            yield Query(f"alert {item['alert']}", item["expr"])


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def dashboard_queries() -> Iterator[Query]:
    board = dashboard()
    for panel in board["panels"]:
        for target in panel.get("targets", []):
            where = f"panel {panel['id']} {panel['title']!r} {target['refId']}"
            yield Query(where, target["expr"])
    for variable in board["templating"]["list"]:
        if variable["type"] == "query":
            yield Query(f"variable {variable['name']}", variable["query"]["query"])


QUERIES = [*alert_queries(), *dashboard_queries()]


def query_id(query: Query) -> str:
    return query.where


def test_the_registry_holds_every_service() -> None:
    # A new service's metrics.py must be listed in METRIC_CLASSES.
    metrics_modules = REPO.glob("services/*/mailroom/*/metrics.py")
    services = {path.parent.name for path in metrics_modules}
    covered = {getattr(cls, "__module__", "").split(".")[1] for cls in METRIC_CLASSES}

    assert services <= covered
    assert {"mailroom_bus_messages_total", "mailroom_mailboxes", "mailroom_ready"} <= set(
        REGISTERED.series_labels
    )


def test_every_metric_constructed_in_the_code_is_known() -> None:
    # Guards the test itself: metrics created outside the listed classes would be missed.
    constructed = {
        match.group(1)
        for path in [
            *REPO.glob("shared/mailroom/**/*.py"),
            *REPO.glob("services/*/mailroom/**/*.py"),
        ]
        for match in re.finditer(
            r"\b(?:Counter|Gauge|Histogram|Summary)\(\s*\"(mailroom_[a-z_]+)\"", path.read_text()
        )
    }

    assert constructed
    assert {name.removesuffix("_total") for name in constructed} <= REGISTERED.families


@pytest.mark.parametrize("query", QUERIES, ids=query_id)
def test_every_queried_metric_is_registered(query: Query) -> None:
    names = set(METRIC_NAME.findall(query.expr))
    unknown = names - set(REGISTERED.series_labels)

    assert not unknown, f"{query.where} queries metrics nobody registers: {sorted(unknown)}"


@pytest.mark.parametrize("query", QUERIES, ids=query_id)
def test_every_selected_label_exists_with_a_known_value(query: Query) -> None:
    for selector in SELECTOR.finditer(query.expr):
        metric, matchers = selector.group(1), selector.group(2)
        allowed = REGISTERED.series_labels.get(metric, frozenset()) | TARGET_LABELS
        for part in filter(str.strip, matchers.split(",")):
            matcher = MATCHER.fullmatch(part)
            assert matcher, f"{query.where}: cannot read matcher {part!r}"
            label, operator, value = matcher.groups()
            assert label in allowed, f"{query.where}: {metric} has no label {label!r}"
            known = KNOWN_VALUES.get((metric, label))
            if known is None:
                continue
            values = value.split("|") if operator in ("=~", "!~") else [value]
            assert set(values) <= known, f"{query.where}: {metric}{{{label}}} is never {values}"


@pytest.mark.parametrize("query", QUERIES, ids=query_id)
def test_grouping_labels_exist_on_the_queried_metrics(query: Query) -> None:
    names = set(METRIC_NAME.findall(query.expr))
    allowed = TARGET_LABELS.union(*(REGISTERED.series_labels.get(name, set()) for name in names))
    if not names:
        return  # RabbitMQ's or Prometheus's own metrics: not ours to check
    for grouping in GROUPING.finditer(query.expr):
        labels = {label.strip() for label in grouping.group(1).split(",") if label.strip()}
        assert labels <= allowed, f"{query.where}: no such label {sorted(labels - allowed)}"


def test_metric_names_in_alert_texts_are_registered() -> None:
    (rule,) = yaml.safe_load_all((MONITORING / "prometheusrule.yaml").read_text())
    texts = [
        text
        for group in rule["spec"]["groups"]
        for item in group["rules"]
        for text in item["annotations"].values()
    ]
    known = set(REGISTERED.series_labels) | REGISTERED.families

    for text in texts:
        assert set(METRIC_NAME.findall(text)) <= known, text


def test_alerts_on_fleet_counts_take_the_max_over_api_replicas() -> None:
    for query in alert_queries():
        if "mailroom_mailboxes" in query.expr:
            assert re.search(r"\bmax by \(state\) \(\s*mailroom_mailboxes\{", query.expr), query


# --- the dashboard -----------------------------------------------------------------


def test_dashboard_is_valid_json_with_the_two_variables() -> None:
    board = dashboard()
    variables = {variable["name"]: variable for variable in board["templating"]["list"]}

    assert board["uid"] and board["title"]
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    assert variables["namespace"]["type"] == "query"
    assert "$namespace" not in variables["namespace"]["query"]["query"]


def test_every_panel_has_a_query_and_a_unique_id() -> None:
    panels = dashboard()["panels"]
    ids = [panel["id"] for panel in panels]

    assert len(ids) == len(set(ids))
    for panel in panels:
        if panel["type"] == "row":
            continue
        assert panel["title"], panel["id"]
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert panel["targets"], panel["title"]
        ref_ids = [target["refId"] for target in panel["targets"]]
        assert len(ref_ids) == len(set(ref_ids)), panel["title"]
        for target in panel["targets"]:
            assert target["expr"].strip(), panel["title"]
            assert target["expr"].count("(") == target["expr"].count(")"), panel["title"]
            if METRIC_NAME.search(target["expr"]):
                assert 'namespace="$namespace"' in target["expr"], panel["title"]


def test_dashboard_panels_fit_the_grid_without_overlapping() -> None:
    taken: set[tuple[int, int]] = set()
    for panel in dashboard()["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24, panel["title"]
        cells = {
            (grid["x"] + dx, grid["y"] + dy) for dx in range(grid["w"]) for dy in range(grid["h"])
        }
        assert not cells & taken, f"{panel['title']} overlaps another panel"
        taken |= cells


@pytest.mark.parametrize(
    "section", ["Health", "Mailboxes", "Bus", "Sender", "Watcher", "Bounce", "OAuth", "API"]
)
def test_dashboard_has_a_row_per_section(section: str) -> None:
    rows = [panel["title"] for panel in dashboard()["panels"] if panel["type"] == "row"]

    assert section in rows


def test_dashboard_shows_every_registered_metric() -> None:
    queried = {name for query in dashboard_queries() for name in METRIC_NAME.findall(query.expr)}
    shown_families = {
        family for family in REGISTERED.families if any(name.startswith(family) for name in queried)
    }

    assert shown_families == REGISTERED.families


def test_config_map_carries_the_dashboard_for_the_grafana_sidecar() -> None:
    (config_map,) = yaml.safe_load_all((MONITORING / "grafana-dashboard.yaml").read_text())

    assert config_map["kind"] == "ConfigMap"
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    (embedded,) = config_map["data"].values()
    assert json.loads(embedded) == dashboard(), "copy grafana-dashboard.json into the ConfigMap"
