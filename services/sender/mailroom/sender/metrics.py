"""The sender's Prometheus metrics, over the registry its entry point injects."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class SenderMetrics:
    """Sends by result, SMTP latency, open connections, retries scheduled."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.sends = Counter(
            "mailroom_sender_sends_total",
            "Send requests finished or postponed, by result (sent, failed, deferred, held, "
            "duplicate) and reason (e.g. suppressed, rejected, rate_limited).",
            ["result", "reason"],
            registry=registry,
        )
        self.smtp_seconds = Histogram(
            "mailroom_sender_smtp_seconds",
            "Time of SMTP steps: `connect` (TCP, TLS, AUTH) and `transaction` (MAIL to DATA).",
            ["step"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=registry,
        )
        self.pool_connections = Gauge(
            "mailroom_sender_pool_connections",
            "Open SMTP connections in the per-mailbox pools of this process.",
            registry=registry,
        )
        self.retries = Counter(
            "mailroom_sender_retries_scheduled_total",
            "Sends put back on the bus for a later try, by reason "
            "(transient, rate_limited, mailbox_held, busy).",
            ["reason"],
            registry=registry,
        )
