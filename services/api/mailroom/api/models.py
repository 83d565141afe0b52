"""Request and response bodies of the mailbox endpoints.

Requests are validated strictly (unknown fields and wrong types are refused, so
a typo never silently does nothing). Passwords are write-only: they appear in
request models as `SecretStr` and in no response model at all; a response says
`has_password` instead.
"""

from __future__ import annotations

import ipaddress
import re
import ssl
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from mailroom.shared.contracts import MailboxState
from mailroom.shared.mailboxes import (
    AuthMethod,
    IncomingProtocol,
    MailboxRecord,
    OAuthProvider,
    Security,
)

_HOST_LABELS = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?\.?)+$")

Email = Annotated[
    str,
    Field(
        min_length=3,
        max_length=320,
        pattern=r"^[^@\s<>\"(),;:]+@[^@\s<>\"(),;:]+\.[^@\s<>\"(),;:.]+$",
        examples=["ana@example.com"],
    ),
]
# Names end up in mail headers: no control characters (CR/LF would inject headers).
Text = Annotated[str, Field(max_length=300, pattern=r"^[^\x00-\x1f\x7f]*$")]
Name = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")]
ContactField = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.-]+$")]
Port = Annotated[int, Field(ge=1, le=65535)]
Username = Annotated[str, Field(min_length=1, max_length=320, pattern=r"^[^\x00-\x1f\x7f]*$")]
Password = Annotated[SecretStr, Field(min_length=1, max_length=1000)]
# A free-text note shown to the tenant's users and written to logs: one line, bounded.
Reason = Annotated[str, Field(min_length=1, max_length=500, pattern=r"^[^\x00-\x1f\x7f]*$")]


def check_host(value: str) -> str:
    """A DNS name or an IP address; anything else cannot be a mail server."""
    host = value.strip()
    try:
        ipaddress.ip_address(host.strip("[]"))
        return host.strip("[]")
    except ValueError:
        pass
    if not _HOST_LABELS.fullmatch(host):
        raise ValueError("must be a host name (e.g. smtp.example.com) or an IP address")
    return host.rstrip(".").lower()


Host = Annotated[str, Field(min_length=1, max_length=253, examples=["smtp.example.com"])]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


# --------------------------------------------------------------------------- requests


class SmtpIn(_Strict):
    """How to send through the mailbox."""

    host: Host
    port: Port
    security: Security = Field(
        "starttls", description="`ssl` (implicit TLS, port 465), `starttls` (587) or `none`."
    )
    authenticate: bool = Field(True, description="Log in before sending.")
    username: Username | None = Field(None, description="Defaults to the mailbox address.")
    password: Password | None = Field(None, description="Write-only; stored encrypted.")

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        return check_host(value)


class IncomingIn(_Strict):
    """How to read the mailbox (replies and bounces)."""

    protocol: IncomingProtocol = "imap"
    host: Host
    port: Port
    security: Security = "ssl"
    username: Username | None = Field(None, description="Defaults to the mailbox address.")
    password: Password | None = Field(None, description="Write-only; stored encrypted.")
    batch_size: int = Field(50, ge=1, le=1000, description="Most messages read at once.")
    delete_processed_bounces: bool = Field(
        False, description="Delete bounce messages from the mailbox once processed."
    )

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        return check_host(value)


class TlsIn(_Strict):
    """Which server certificates to trust."""

    verify: bool = Field(
        True,
        description="Verify server certificates. Turning this off is unsafe and is "
        "reported as a warning on the mailbox.",
    )
    ca_pem: str | None = Field(
        None,
        max_length=50_000,
        description="PEM CA certificate(s) for a server with a private certificate.",
    )

    @field_validator("ca_pem")
    @classmethod
    def _readable_pem(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if "-----BEGIN CERTIFICATE-----" not in value:
            raise ValueError("must be a PEM certificate (-----BEGIN CERTIFICATE-----)")
        try:
            ssl.create_default_context().load_verify_locations(cadata=value)
        except (ssl.SSLError, ValueError):
            raise ValueError("is not a readable PEM CA certificate") from None
        return value


class LimitsIn(_Strict):
    """Most messages this mailbox may send; none means no limit of Mailroom's own."""

    per_minute: int | None = Field(None, ge=1, le=10_000)
    per_day: int | None = Field(None, ge=1, le=1_000_000)


class FromOverrideIn(_Strict):
    """Contact fields that supply the sender per recipient (else the mailbox's own)."""

    address_field: ContactField | None = None
    name_field: ContactField | None = None


class MailboxCreate(_Strict):
    """A mailbox to connect (settings as in the user's mail program)."""

    name: Name = Field(description="Name shown in Mailroom's lists.")
    email: Email
    display_name: Text | None = Field(None, description="Sender name shown to recipients.")
    reply_to: Email | None = None
    reply_to_name: Text | None = None
    from_override: FromOverrideIn = Field(default_factory=FromOverrideIn)
    shared: bool = Field(False, description="Visible to the tenant's other users.")
    smtp: SmtpIn
    incoming: IncomingIn | None = None
    tls: TlsIn = Field(default_factory=TlsIn)
    limits: LimitsIn = Field(default_factory=LimitsIn)
    save_sent_copy: bool = Field(False, description="Save a copy of each sent message (IMAP).")


class SmtpPatch(_Strict):
    """Changed SMTP settings; `password: null` removes the password."""

    host: Host | None = None
    port: Port | None = None
    security: Security | None = None
    authenticate: bool | None = None
    username: Username | None = None
    password: Password | None = None


class IncomingPatch(_Strict):
    """Changed incoming settings; `password: null` removes the password."""

    protocol: IncomingProtocol | None = None
    host: Host | None = None
    port: Port | None = None
    security: Security | None = None
    username: Username | None = None
    password: Password | None = None
    batch_size: int | None = Field(None, ge=1, le=1000)
    delete_processed_bounces: bool | None = None


class TlsPatch(_Strict):
    verify: bool | None = None
    ca_pem: str | None = Field(None, max_length=50_000)


class LimitsPatch(_Strict):
    per_minute: int | None = Field(None, ge=1, le=10_000)
    per_day: int | None = Field(None, ge=1, le=1_000_000)


class FromOverridePatch(_Strict):
    address_field: ContactField | None = None
    name_field: ContactField | None = None


class MailboxPatch(_Strict):
    """Only the fields given change; nested objects change field by field.

    `incoming: null` stops reading the mailbox. The result is validated as a whole,
    like a new mailbox.
    """

    name: Name | None = None
    email: Email | None = None
    display_name: Text | None = None
    reply_to: Email | None = None
    reply_to_name: Text | None = None
    from_override: FromOverridePatch | None = None
    shared: bool | None = None
    smtp: SmtpPatch | None = None
    incoming: IncomingPatch | None = None
    tls: TlsPatch | None = None
    limits: LimitsPatch | None = None
    save_sent_copy: bool | None = None


class MailboxDisable(_Strict):
    """Why the mailbox is paused; the whole body is optional."""

    reason: Reason | None = Field(
        None, description="Shown with the mailbox while it is disabled.", examples=["Migrating"]
    )


# --------------------------------------------------------------------------- responses


class SmtpOut(BaseModel):
    host: str
    port: int
    security: Security
    authenticate: bool
    username: str | None
    has_password: bool


class IncomingOut(BaseModel):
    protocol: IncomingProtocol
    host: str
    port: int
    security: Security
    username: str | None
    has_password: bool
    batch_size: int
    delete_processed_bounces: bool


class TlsOut(BaseModel):
    verify: bool
    ca_pem: str | None


class LimitsOut(BaseModel):
    per_minute: int | None
    per_day: int | None


class FromOverrideOut(BaseModel):
    address_field: str | None
    name_field: str | None


class OAuthOut(BaseModel):
    """The OAuth grant, without its tokens."""

    provider: OAuthProvider
    expires_at: datetime
    scope: str | None
    has_refresh_token: bool


class DisabledOut(BaseModel):
    """Who paused the mailbox, when and why."""

    at: datetime
    by: str = Field(description="The user who disabled the mailbox.")
    reason: str | None
    previous_state: MailboxState | None = Field(
        description="The state before the pause, which enabling restores (or `connected` "
        "when a connection test passed while the mailbox was disabled)."
    )


class MailboxOut(BaseModel):
    """A mailbox as the API shows it: settings, state, and never a secret."""

    id: str
    owner: str
    shared: bool
    name: str
    email: str
    display_name: str | None
    reply_to: str | None
    reply_to_name: str | None
    from_override: FromOverrideOut
    auth_method: AuthMethod
    smtp: SmtpOut | None
    incoming: IncomingOut | None
    tls: TlsOut
    limits: LimitsOut
    oauth: OAuthOut | None
    save_sent_copy: bool
    state: MailboxState
    last_success_at: datetime | None
    last_error_code: str | None
    last_error: str | None
    last_error_at: datetime | None
    created_at: datetime | None
    updated_at: datetime | None
    warnings: list[str] = Field(description="Unsafe settings the user should know about.")
    disabled: DisabledOut | None = Field(
        None, description="Set while the state is `disabled` by `POST .../disable`."
    )


class MailboxList(BaseModel):
    items: list[MailboxOut]


TLS_VERIFY_OFF_WARNING = (
    "TLS certificate verification is off: anyone on the network path could read the "
    "password. Add the server's CA certificate instead and turn verification back on."
)
PLAINTEXT_WARNING = (
    "{what} uses no encryption: the password and messages travel in clear. "
    "Use ssl or starttls if the server offers it."
)


def warnings_for(record: MailboxRecord) -> list[str]:
    warnings: list[str] = []
    if not record.tls.verify:
        warnings.append(TLS_VERIFY_OFF_WARNING)
    if record.smtp and record.smtp.security == "none" and record.smtp.authenticate:
        warnings.append(PLAINTEXT_WARNING.format(what="SMTP"))
    if record.incoming and record.incoming.security == "none":
        warnings.append(PLAINTEXT_WARNING.format(what="Incoming mail"))
    return warnings


def mailbox_out(record: MailboxRecord, disabled: DisabledOut | None = None) -> MailboxOut:
    """The response for a stored mailbox (ciphertexts become `has_password`).

    `MailboxRecord` is shared by every service and does not carry the pause note,
    so a caller holding the raw document passes it in as `disabled`.
    """
    smtp = record.smtp
    incoming = record.incoming
    oauth = record.oauth
    return MailboxOut(
        id=record.id,
        owner=record.owner,
        shared=record.shared,
        name=record.name,
        email=record.email,
        display_name=record.display_name,
        reply_to=record.reply_to,
        reply_to_name=record.reply_to_name,
        from_override=FromOverrideOut(**record.from_override.model_dump()),
        auth_method=record.auth_method,
        smtp=SmtpOut(
            host=smtp.host,
            port=smtp.port,
            security=smtp.security,
            authenticate=smtp.authenticate,
            username=smtp.username,
            has_password=smtp.password_enc is not None,
        )
        if smtp
        else None,
        incoming=IncomingOut(
            protocol=incoming.protocol,
            host=incoming.host,
            port=incoming.port,
            security=incoming.security,
            username=incoming.username,
            has_password=incoming.password_enc is not None,
            batch_size=incoming.batch_size,
            delete_processed_bounces=incoming.delete_processed_bounces,
        )
        if incoming
        else None,
        tls=TlsOut(verify=record.tls.verify, ca_pem=record.tls.ca_pem),
        limits=LimitsOut(per_minute=record.limits.per_minute, per_day=record.limits.per_day),
        oauth=OAuthOut(
            provider=oauth.provider,
            expires_at=oauth.expires_at,
            scope=oauth.scope,
            has_refresh_token=oauth.refresh_token_enc is not None,
        )
        if oauth
        else None,
        save_sent_copy=record.save_sent_copy,
        state=record.state,
        last_success_at=record.last_success_at,
        last_error_code=record.last_error_code,
        last_error=record.last_error,
        last_error_at=record.last_error_at,
        created_at=record.created_at,
        updated_at=record.updated_at,
        warnings=warnings_for(record),
        disabled=disabled if record.state == "disabled" else None,
    )


def editable_view(record: MailboxRecord) -> dict[str, Any]:
    """The stored settings in `MailboxCreate`'s shape (no secrets), for merging a PATCH."""
    view: dict[str, Any] = {
        "name": record.name,
        "email": record.email,
        "display_name": record.display_name,
        "reply_to": record.reply_to,
        "reply_to_name": record.reply_to_name,
        "from_override": record.from_override.model_dump(),
        "shared": record.shared,
        "smtp": record.smtp.model_dump(exclude={"password_enc"}) if record.smtp else None,
        "incoming": record.incoming.model_dump(exclude={"password_enc"})
        if record.incoming
        else None,
        "tls": record.tls.model_dump(),
        "limits": record.limits.model_dump(),
        "save_sent_copy": record.save_sent_copy,
    }
    return view


def merge_patch(current: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """JSON merge (RFC 7386 style, one level of nesting): nested objects merge by field."""
    merged = dict(current)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


SecretTarget = Literal["smtp", "incoming"]
