"""The watcher's Prometheus metrics, over the registry injected by `main.py`."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class WatcherMetrics:
    """Mailboxes owned, leases, IDLE connections, reconnects, messages, detection latency."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.mailboxes_owned = Gauge(
            "mailroom_watcher_mailboxes_owned",
            "Mailboxes whose lease this replica holds.",
            registry=registry,
        )
        self.mailboxes = Gauge(
            "mailroom_watcher_mailboxes",
            "Mailboxes this replica watches, by the state of their watch "
            "(connecting, connected, degraded, auth_failed, needs_attention).",
            ["state"],
            registry=registry,
        )
        self.leases_taken_over = Counter(
            "mailroom_watcher_leases_taken_over_total",
            "Leases taken from a replica that stopped renewing them.",
            registry=registry,
        )
        self.leases_released = Counter(
            "mailroom_watcher_leases_released_total",
            "Leases given up to even out the load or at shutdown.",
            registry=registry,
        )
        self.idle_connections = Gauge(
            "mailroom_watcher_idle_connections",
            "IMAP connections waiting in IDLE right now.",
            registry=registry,
        )
        self.reconnects = Counter(
            "mailroom_watcher_reconnects_total",
            "Connections lost or refused, by cause.",
            ["cause"],
            registry=registry,
        )
        self.messages = Counter(
            "mailroom_watcher_messages_total",
            "Messages examined, by what they turned out to be "
            "(reply, auto_reply, bounce, other, duplicate, failed).",
            ["kind"],
            registry=registry,
        )
        self.deleted = Counter(
            "mailroom_watcher_bounces_deleted_total",
            "Recognised bounces deleted from mailboxes that ask for it.",
            ["protocol"],
            registry=registry,
        )
        self.detection_seconds = Histogram(
            "mailroom_watcher_detection_seconds",
            "From the server's arrival date of a message to its event being published.",
            ["kind"],
            buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800),
            registry=registry,
        )
