"""Settings of the api service: the common ones plus its own, from `MAILROOM_*`."""

from __future__ import annotations

from pydantic import AliasChoices, Field

from mailroom.shared.settings import CommonSettings


class ApiSettings(CommonSettings):
    http_port: int = Field(
        8000,
        ge=1,
        le=65535,
        validation_alias=AliasChoices("MAILROOM_API_HTTP_PORT", "http_port"),
        description="Port of /healthz, /readyz and /metrics (and the API itself).",
    )
    allow_private_targets: bool = Field(
        False,
        validation_alias=AliasChoices("MAILROOM_ALLOW_PRIVATE_TARGETS", "allow_private_targets"),
        description=(
            "Let connection tests and discovery reach loopback, private and link-local "
            "addresses. Off by default: a tenant could otherwise probe the cluster's own "
            "network. Turn it on only when the mail servers live on a private network."
        ),
    )
    connection_test_timeout_s: float = Field(
        20.0, gt=0, le=120, description="Time budget of one server's connection test."
    )
    round_trip_timeout_s: float = Field(
        60.0, gt=0, le=600, description="How long the round trip waits for the test message."
    )
    discover_budget_s: float = Field(
        10.0, gt=0, le=60, description="Time budget of one settings discovery."
    )
