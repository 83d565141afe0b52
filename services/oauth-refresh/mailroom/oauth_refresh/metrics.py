"""Metrics of the oauth-refresh service."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter


class OAuthRefreshMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.refreshed = Counter(
            "mailroom_oauth_refreshed_total",
            "Access tokens renewed before they expired.",
            ["provider"],
            registry=registry,
        )
        self.failures = Counter(
            "mailroom_oauth_refresh_failures_total",
            "Token renewals that failed; permanent ones need the user to reconnect.",
            ["provider", "kind"],
            registry=registry,
        )
