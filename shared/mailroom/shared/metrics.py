"""Prometheus metrics shared by every service.

Each service builds one `CollectorRegistry` in its entry point and hands it to the
parts that record metrics, so tests can read a fresh registry and two services
in one process (as under `mailroom up` in tests) never collide. Every name
starts with `mailroom_`; labels stay low-cardinality (no tenant or mailbox ids).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = ["CONTENT_TYPE_LATEST", "BusMetrics", "ReadinessMetrics", "new_registry", "render"]


def new_registry() -> CollectorRegistry:
    return CollectorRegistry(auto_describe=True)


def render(registry: CollectorRegistry) -> bytes:
    return generate_latest(registry)


class BusMetrics:
    """What the bus does: messages handled per outcome, handler time, publishes."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.messages = Counter(
            "mailroom_bus_messages_total",
            "Messages taken from a consumer group's queue, by outcome "
            "(ok, retry, dead_letter, invalid).",
            ["group", "schema", "outcome"],
            registry=registry,
        )
        self.handler_seconds = Histogram(
            "mailroom_bus_handler_seconds",
            "Time a handler spent on one message.",
            ["group", "schema"],
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=registry,
        )
        self.published = Counter(
            "mailroom_bus_published_total",
            "Messages published and confirmed by the broker.",
            ["schema"],
            registry=registry,
        )
        self.dead_lettered = Counter(
            "mailroom_bus_dead_lettered_total",
            "Messages moved to a dead-letter queue after failing for good.",
            ["group", "schema"],
            registry=registry,
        )
        self.in_flight = Gauge(
            "mailroom_bus_in_flight",
            "Messages being handled right now.",
            ["group"],
            registry=registry,
        )


class ReadinessMetrics:
    """1 when a dependency (broker, store) answers, 0 otherwise."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.ready = Gauge(
            "mailroom_ready",
            "1 when the named dependency answered the last readiness check.",
            ["component"],
            registry=registry,
        )
