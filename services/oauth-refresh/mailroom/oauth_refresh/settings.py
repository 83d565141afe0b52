"""Settings of the oauth-refresh service: the common ones plus its own, from `MAILROOM_*`."""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr

from mailroom.shared.settings import CommonSettings


class OAuthRefreshSettings(CommonSettings):
    http_port: int = Field(
        9104,
        ge=1,
        le=65535,
        validation_alias=AliasChoices("MAILROOM_OAUTH_REFRESH_HTTP_PORT", "http_port"),
        description="Port of /healthz, /readyz and /metrics.",
    )
    oauth_scan_interval_s: float = Field(
        30.0, gt=0, le=3600, description="How often to look for tokens that expire soon."
    )
    oauth_refresh_margin_s: float = Field(
        600.0,
        ge=60,
        le=86_400,
        description="Refresh a token this long before it expires, so no user ever meets one.",
    )
    oauth_lock_s: float = Field(
        60.0, gt=0, le=3600, description="How long one replica owns a token while refreshing it."
    )
    oauth_google_client_id: str | None = None
    oauth_google_client_secret: SecretStr | None = None
    oauth_google_token_url: str = "https://oauth2.googleapis.com/token"  # noqa: S105 (a URL)
    oauth_microsoft_client_id: str | None = None
    oauth_microsoft_client_secret: SecretStr | None = None
    oauth_microsoft_token_url: str = "https://login.microsoftonline.com/common/oauth2/v2.0/token"  # noqa: S105 (a URL)
