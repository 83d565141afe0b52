"""Settings of the api service: the common ones plus its own, from `MAILROOM_*`."""

from __future__ import annotations

from pydantic import AliasChoices, BaseModel, Field, SecretStr

from mailroom.shared.mailboxes import OAuthProvider, Security
from mailroom.shared.settings import CommonSettings


class ServerAddress(BaseModel):
    """Where one of a provider's mail servers answers."""

    host: str
    port: int = Field(ge=1, le=65535)
    security: Security


class ProviderServers(BaseModel):
    """The SMTP and IMAP servers of a mailbox connected through a provider's OAuth."""

    smtp: ServerAddress
    imap: ServerAddress
    ca_pem: str | None = Field(None, description="A private CA to trust (test servers).")


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
    oauth_google_client_id: str | None = Field(
        None, description="Mailroom's OAuth client at Google (connect Gmail mailboxes)."
    )
    oauth_google_client_secret: SecretStr | None = None
    oauth_google_authorize_url: str = "https://accounts.google.com/o/oauth2/v2/auth"
    oauth_google_token_url: str = "https://oauth2.googleapis.com/token"  # noqa: S105 (a URL)
    oauth_microsoft_client_id: str | None = Field(
        None, description="Mailroom's OAuth client at Microsoft (connect Microsoft 365 mailboxes)."
    )
    oauth_microsoft_client_secret: SecretStr | None = None
    oauth_microsoft_authorize_url: str = (
        "https://login.microsoftonline.com/common/oauth2/v2.0/authorize"
    )
    oauth_microsoft_token_url: str = "https://login.microsoftonline.com/common/oauth2/v2.0/token"  # noqa: S105 (a URL)
    oauth_redirect_url: str | None = Field(
        None,
        description="The public URL of `/v1/oauth/callback` as registered with the providers "
        "(default: derived from the request, right only without a proxy in front).",
    )
    oauth_state_ttl_s: float = Field(
        900.0, ge=60, le=3600, description="How long a user has to finish a provider's consent."
    )
    oauth_servers: dict[OAuthProvider, ProviderServers] = Field(
        default_factory=dict,
        description="Per provider, mail servers to use instead of the real ones (JSON; "
        "for tests and private deployments).",
    )
