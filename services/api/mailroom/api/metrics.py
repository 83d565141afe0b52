"""The API's Prometheus metrics, over the registry the entry point injects."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class ApiMetrics:
    """Requests by route and status, their latency, and connection-test outcomes."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "mailroom_api_requests_total",
            "HTTP requests answered, by route template, method and status code.",
            ["route", "method", "status"],
            registry=registry,
        )
        self.request_seconds = Histogram(
            "mailroom_api_request_seconds",
            "Time to answer an HTTP request, by route template and method.",
            ["route", "method"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
            registry=registry,
        )
        self.in_flight = Gauge(
            "mailroom_api_requests_in_flight",
            "HTTP requests being answered right now.",
            registry=registry,
        )
        self.connection_tests = Counter(
            "mailroom_api_connection_tests_total",
            "Connection tests run, by protocol and result code ('ok' when passed).",
            ["protocol", "result"],
            registry=registry,
        )
        self.messages_accepted = Counter(
            "mailroom_api_messages_accepted_total",
            "Send requests accepted and published.",
            registry=registry,
        )
