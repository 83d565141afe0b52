"""Metrics of the bounce service."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter


class BounceMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.messages = Counter(
            "mailroom_bounce_messages_total",
            "Messages classified, by what they turned out to be.",
            ["source", "category"],
            registry=registry,
        )
        self.recipients = Counter(
            "mailroom_bounce_recipients_total",
            "Bounced recipients recorded, by kind, reason and decision.",
            ["kind", "reason", "outcome"],
            registry=registry,
        )
