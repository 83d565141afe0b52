"""Settings of the bounce service: the common ones plus its own, from `MAILROOM_*`."""

from __future__ import annotations

from pydantic import AliasChoices, Field

from mailroom.shared.settings import CommonSettings


class BounceSettings(CommonSettings):
    http_port: int = Field(
        9103,
        ge=1,
        le=65535,
        validation_alias=AliasChoices("MAILROOM_BOUNCE_HTTP_PORT", "http_port"),
        description="Port of /healthz, /readyz and /metrics.",
    )
    soft_bounce_threshold: int = Field(
        3, ge=1, le=100, description="Soft bounces within the window that suppress an address."
    )
    soft_bounce_window_days: float = Field(
        7.0, gt=0, le=365, description="How far back soft bounces add up."
    )
