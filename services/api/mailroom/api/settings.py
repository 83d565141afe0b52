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
