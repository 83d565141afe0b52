"""`/v1/oauth`: connect a Gmail or Microsoft 365 mailbox with OAuth instead of a password.

`POST /v1/oauth/{provider}/start` keeps the mailbox's draft, a one-time `state`
and a PKCE code verifier in `oauth_states` and answers with the provider's
authorization URL; the product sends the user's browser there. After consent
the provider redirects the browser to `GET /v1/oauth/callback?code&state`,
which carries no API key: the state alone says which tenant and user asked. The
callback spends the state (once, before its TTL), exchanges the code for tokens,
checks with the OpenID Connect ID token that the account which consented is the
mailbox's own (a browser signed into another account would otherwise hand over
that account's tokens), stores them encrypted on a new mailbox (or on the one
being reconnected) with the provider's server settings, and publishes
`mailbox.connected`.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import logging
import re
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlsplit

import httpx2
from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuthError
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, Field

from mailroom.api.deps import Caller, CallerDep, PlatformDep, SecretsDep, SettingsDep
from mailroom.api.errors import ApiError, ErrorResponse, not_found
from mailroom.api.mailboxes import find_visible, now_ms, require_owner
from mailroom.api.models import (
    Email,
    FromOverrideIn,
    LimitsIn,
    MailboxOut,
    Name,
    Text,
    _Strict,
    mailbox_out,
)
from mailroom.api.settings import ApiSettings, ProviderServers, ServerAddress
from mailroom.shared.collections import MAILBOXES, OAUTH_STATES
from mailroom.shared.contracts import MailboxConnected
from mailroom.shared.mailboxes import (
    MailboxRecord,
    MailboxSecrets,
    OAuthProvider,
    record_success,
)
from mailroom.shared.runtime import Platform

log = logging.getLogger(__name__)

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "The OAuth flow cannot go on; `code` says why."},
    422: {"model": ErrorResponse, "description": "Invalid input; `field` names it."},
}

router = APIRouter(prefix="/v1/oauth", tags=["oauth"], responses=ERRORS)

# What each provider must grant for IMAP and SMTP access, with a refresh token, and
# `openid email` for an ID token that names the consenting account and its address.
SCOPES: dict[OAuthProvider, str] = {
    "google": "openid email https://mail.google.com/",
    "microsoft": "openid email offline_access https://outlook.office.com/IMAP.AccessAsUser.All "
    "https://outlook.office.com/SMTP.Send",
}
# Google hands out a refresh token only for offline access, and again only on consent.
EXTRA_AUTHORIZE_PARAMS: dict[OAuthProvider, dict[str, str]] = {
    "google": {"access_type": "offline", "prompt": "consent"},
    "microsoft": {},
}
SERVER_PRESETS: dict[OAuthProvider, ProviderServers] = {
    "google": ProviderServers(
        smtp=ServerAddress(host="smtp.gmail.com", port=465, security="ssl"),
        imap=ServerAddress(host="imap.gmail.com", port=993, security="ssl"),
    ),
    "microsoft": ProviderServers(
        smtp=ServerAddress(host="smtp.office365.com", port=587, security="starttls"),
        imap=ServerAddress(host="outlook.office365.com", port=993, security="ssl"),
    ),
}
PROVIDER_NAMES: dict[OAuthProvider, str] = {"google": "Google", "microsoft": "Microsoft"}

# The issuers of the real providers' ID tokens; Google documents both spellings.
GOOGLE_ISSUERS = frozenset({"https://accounts.google.com", "accounts.google.com"})
# Microsoft's v2.0 issuer names the user's directory: one per organisation and one
# for personal accounts, any of which may answer a multi-tenant ("common") client.
MICROSOFT_ISSUER = re.compile(r"https://login\.microsoftonline\.com/(?P<tenant>[^/]+)/v2\.0")
# Token endpoints of the real providers. Any other configured token endpoint is a
# stand-in (the local OAuth server of tests and `mailroom up`, a private test
# double), whose ID tokens must come from an issuer at the token endpoint's origin.
REAL_TOKEN_HOSTS: dict[OAuthProvider, frozenset[str]] = {
    "google": frozenset({"oauth2.googleapis.com", "www.googleapis.com", "accounts.google.com"}),
    "microsoft": frozenset({"login.microsoftonline.com"}),
}
# Tolerated clock difference with the provider when checking an ID token's `exp`.
CLOCK_SKEW_S = 300

ProviderParam = Annotated[OAuthProvider, Path(description="`google` or `microsoft`.")]


@dataclass(frozen=True)
class ProviderClient:
    """Mailroom's registered client at one provider."""

    client_id: str
    client_secret: str | None
    authorize_url: str
    token_url: str


def provider_client(settings: ApiSettings, provider: OAuthProvider) -> ProviderClient:
    """The configured client, or a 400 saying that this provider is not set up."""
    if provider == "google":
        client_id, secret = settings.oauth_google_client_id, settings.oauth_google_client_secret
        urls = (settings.oauth_google_authorize_url, settings.oauth_google_token_url)
    else:
        client_id = settings.oauth_microsoft_client_id
        secret = settings.oauth_microsoft_client_secret
        urls = (settings.oauth_microsoft_authorize_url, settings.oauth_microsoft_token_url)
    if not client_id:
        raise ApiError(
            400,
            "oauth_not_configured",
            f"{PROVIDER_NAMES[provider]} mailboxes cannot be connected with OAuth here: "
            f"the operator has not set MAILROOM_OAUTH_{provider.upper()}_CLIENT_ID.",
            field="provider",
        )
    return ProviderClient(
        client_id, secret.get_secret_value() if secret is not None else None, *urls
    )


def provider_servers(settings: ApiSettings, provider: OAuthProvider) -> ProviderServers:
    return settings.oauth_servers.get(provider) or SERVER_PRESETS[provider]


def state_key(state: str) -> str:
    """States are stored hashed: a copy of the collection cannot finish anyone's flow."""
    return hashlib.sha256(state.encode()).hexdigest()


# --------------------------------------------------------------------------- bodies


class OAuthStartRequest(_Strict):
    """The mailbox to connect once the user consents (settings besides the servers)."""

    name: Name = Field(description="Name shown in Mailroom's lists.")
    email: Email = Field(
        description="The mailbox's address; also the provider's login hint. The account "
        "that consents must have this address (`oauth_account_mismatch` otherwise)."
    )
    display_name: Text | None = Field(None, description="Sender name shown to recipients.")
    reply_to: Email | None = None
    reply_to_name: Text | None = None
    from_override: FromOverrideIn = Field(default_factory=FromOverrideIn)
    shared: bool = Field(False, description="Visible to the tenant's other users.")
    limits: LimitsIn = Field(default_factory=LimitsIn)
    save_sent_copy: bool = Field(False, description="Save a copy of each sent message (IMAP).")
    mailbox_id: str | None = Field(
        None,
        min_length=1,
        max_length=100,
        description="Reconnect this OAuth mailbox (e.g. after `auth_failed`) instead of "
        "adding one. Without it, the user's OAuth mailbox with the same address and "
        "provider is reconnected if there is one.",
    )


class OAuthStartResponse(BaseModel):
    """Where to send the user's browser, and until when the flow may be finished."""

    authorization_url: str
    expires_at: datetime


class OAuthConnected(BaseModel):
    """The outcome of a completed consent."""

    mailbox_id: str
    reconnected: bool = Field(description="An existing mailbox got new tokens.")
    mailbox: MailboxOut


# --------------------------------------------------------------------------- routes


@router.post(
    "/{provider}/start",
    response_model=OAuthStartResponse,
    summary="Start connecting a mailbox with OAuth",
    responses={
        401: {"model": ErrorResponse, "description": "Missing or invalid API key or user."},
        403: {"model": ErrorResponse, "description": "Not the owner of the mailbox to reconnect."},
        404: {"model": ErrorResponse, "description": "No such mailbox to reconnect."},
    },
)
async def start_oauth(
    provider: ProviderParam,
    body: OAuthStartRequest,
    request: Request,
    caller: CallerDep,
    platform: PlatformDep,
    settings: SettingsDep,
) -> OAuthStartResponse:
    """The provider's authorization URL (PKCE S256); valid for `MAILROOM_OAUTH_STATE_TTL_S`.

    Send the user's browser there; the provider brings it back to
    `/v1/oauth/callback`, which creates or reconnects the mailbox.
    """
    client_config = provider_client(settings, provider)
    if body.mailbox_id is not None:
        await reconnectable(platform, caller, body.mailbox_id, provider)
    redirect_uri = settings.oauth_redirect_url or str(request.url_for("oauth_callback"))
    state = secrets.token_urlsafe(32)
    code_verifier = secrets.token_urlsafe(64)
    async with AsyncOAuth2Client(
        client_id=client_config.client_id,
        scope=SCOPES[provider],
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
    ) as client:
        url, _ = client.create_authorization_url(
            client_config.authorize_url,
            state=state,
            code_verifier=code_verifier,
            login_hint=body.email,
            **EXTRA_AUTHORIZE_PARAMS[provider],
        )
    now = now_ms()
    expires_at = now + timedelta(seconds=settings.oauth_state_ttl_s)
    await platform.store.collection(OAUTH_STATES).insert_one(
        {
            "_id": state_key(state),
            "provider": provider,
            "tenant_id": caller.tenant_id,
            "user": caller.user,
            "draft": body.model_dump(exclude={"mailbox_id"}),
            "mailbox_id": body.mailbox_id,
            "code_verifier": code_verifier,
            "redirect_uri": redirect_uri,
            "created_at": now,
            "expires_at": expires_at,
        }
    )
    return OAuthStartResponse(authorization_url=url, expires_at=expires_at)


@router.get(
    "/callback",
    name="oauth_callback",
    response_model=OAuthConnected,
    summary="Where the provider sends the user back",
    responses={
        200: {"content": {"text/html": {}}, "description": "JSON, or a page for a browser."},
        502: {"model": ErrorResponse, "description": "The provider did not answer."},
    },
)
async def oauth_callback(
    request: Request,
    platform: PlatformDep,
    settings: SettingsDep,
    cipher: SecretsDep,
    state: Annotated[str | None, Query(max_length=500)] = None,
    code: Annotated[str | None, Query(max_length=4000)] = None,
    error: Annotated[str | None, Query(max_length=200)] = None,
) -> Any:
    """Spend the state, exchange the code, check who consented, store the encrypted tokens.

    Needs no API key: the one-time state names the tenant and user who started.
    A browser (`Accept: text/html`) gets a short page, anything else JSON.
    """
    pending = await claim_state(platform, state)
    provider: OAuthProvider = pending["provider"]
    if error is not None or not code:
        raise ApiError(
            400,
            "oauth_denied",
            f"{PROVIDER_NAMES[provider]} did not grant access ({error or 'no code'}); "
            "start again to connect the mailbox.",
        )
    client_config = provider_client(settings, provider)
    token = await exchange_code(client_config, provider, pending, code)
    # Checked before anything is stored: tokens of another account are dropped.
    account = consenting_account(provider, client_config, token, now=time.time())
    record, reconnected = await save_grant(platform, cipher, settings, pending, token, account)
    await platform.bus.publish(MailboxConnected(tenant_id=record.tenant_id, mailbox_id=record.id))
    log.info(
        "mailbox connected through OAuth",
        extra={"mailbox_id": record.id, "provider": provider, "reconnected": reconnected},
    )
    result = OAuthConnected(
        mailbox_id=record.id, reconnected=reconnected, mailbox=mailbox_out(record)
    )
    if "text/html" in request.headers.get("accept", ""):
        return HTMLResponse(connected_page(record.email, provider))
    return JSONResponse(result.model_dump(mode="json"))


# --------------------------------------------------------------------------- the work


async def reconnectable(
    platform: Platform, caller: Caller, mailbox_id: str, provider: OAuthProvider
) -> MailboxRecord:
    """A mailbox this user owns and that already uses this provider's OAuth."""
    record = await find_visible(platform.store, caller, mailbox_id)
    require_owner(caller, record)
    if record.auth_method != "oauth2" or record.oauth is None or record.oauth.provider != provider:
        raise ApiError(
            422,
            "not_an_oauth_mailbox",
            f"Mailbox {mailbox_id} does not use {PROVIDER_NAMES[provider]} OAuth; "
            "connect a new mailbox instead.",
            field="mailbox_id",
        )
    return record


async def claim_state(platform: Platform, state: str | None) -> dict[str, Any]:
    """The pending flow of this state, deleted as it is read so that it works only once."""
    claimed: dict[str, Any] | None = None
    if state:
        # The TTL index removes expired states only about once a minute; check the time too.
        claimed = await platform.store.collection(OAUTH_STATES).find_one_and_delete(
            {"_id": state_key(state), "expires_at": {"$gt": datetime.now(UTC)}}
        )
    if claimed is None:
        raise ApiError(
            400,
            "invalid_state",
            "This sign-in link is unknown, expired or already used; start connecting the "
            "mailbox again.",
            field="state",
        )
    return claimed


async def exchange_code(
    client_config: ProviderClient, provider: OAuthProvider, pending: dict[str, Any], code: str
) -> dict[str, Any]:
    """The provider's tokens for this code (authorization-code grant with the PKCE verifier)."""
    try:
        async with AsyncOAuth2Client(
            client_id=client_config.client_id,
            client_secret=client_config.client_secret,
            redirect_uri=pending["redirect_uri"],
            code_challenge_method="S256",
            timeout=20.0,
        ) as client:
            token = await client.fetch_token(
                client_config.token_url,
                grant_type="authorization_code",
                code=code,
                code_verifier=pending["code_verifier"],
            )
    except OAuthError as exc:
        raise ApiError(
            400,
            "oauth_exchange_failed",
            f"{PROVIDER_NAMES[provider]} refused the sign-in ({exc.error}); start again.",
        ) from None
    except (httpx2.HTTPError, ValueError) as exc:
        log.warning(
            "OAuth token endpoint failed", extra={"provider": provider, "error": type(exc).__name__}
        )
        raise ApiError(
            502,
            "provider_unavailable",
            f"{PROVIDER_NAMES[provider]} did not answer; try connecting again in a moment.",
        ) from None
    grant = dict(token)
    if not grant.get("access_token"):
        raise ApiError(
            400, "oauth_exchange_failed", f"{PROVIDER_NAMES[provider]} returned no access token."
        )
    return grant


# --------------------------------------------------------------------------- identity


@dataclass(frozen=True)
class ConsentingAccount:
    """The account whose tokens the provider returned, as its ID token names it."""

    addresses: tuple[str, ...]  # lower-cased; the first is the one to show the user

    def owns(self, email: str) -> bool:
        return email.lower() in self.addresses


def consenting_account(
    provider: OAuthProvider, client_config: ProviderClient, token: dict[str, Any], now: float
) -> ConsentingAccount:
    """Who consented, from the ID token of the token response; a 400 if it cannot be trusted."""
    name = PROVIDER_NAMES[provider]
    id_token = token.get("id_token")
    if not isinstance(id_token, str) or not id_token:
        raise ApiError(
            400,
            "oauth_identity_missing",
            f"{name} did not say which account you signed in with, so Mailroom cannot check "
            "that it is this mailbox's. Ask your administrator to let Mailroom's OAuth client "
            "use the 'openid' and 'email' scopes, then connect the mailbox again.",
        )
    claims = id_token_claims(id_token)
    problem = id_token_problem(provider, client_config, claims, now)
    if problem is not None:
        log.warning("OAuth ID token refused", extra={"provider": provider, "problem": problem})
        raise ApiError(
            400,
            "oauth_identity_invalid",
            f"{name}'s answer about your account cannot be trusted ({problem}); "
            "start connecting the mailbox again.",
        )
    addresses = account_addresses(provider, claims)
    if not addresses:
        raise ApiError(
            400,
            "oauth_identity_missing",
            f"{name} did not confirm the email address of the account you signed in with; "
            "sign in with the mailbox's own account and try again.",
        )
    return ConsentingAccount(tuple(address.lower() for address in addresses))


def id_token_claims(id_token: str) -> dict[str, Any]:
    """The claims of a compact JWT, read without checking its signature.

    OpenID Connect Core §3.1.3.7 (6): an ID token received directly from the token
    endpoint over TLS may be trusted on the strength of TLS instead of its signature.
    This one comes straight from the token endpoint of `exchange_code`, so there is
    no key set to fetch; its claims are still checked (`id_token_problem`).
    """
    parts = id_token.split(".")
    claims: Any = None
    if len(parts) == 3:
        payload = parts[1]
        try:
            claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        except ValueError:  # bad base64, bad UTF-8 or bad JSON
            claims = None
    if not isinstance(claims, dict):
        raise ApiError(
            400,
            "oauth_identity_invalid",
            "The provider's answer about your account is unreadable; start connecting the "
            "mailbox again.",
        )
    return claims


def id_token_problem(
    provider: OAuthProvider, client_config: ProviderClient, claims: dict[str, Any], now: float
) -> str | None:
    """Why these ID token claims must not be trusted, or None (OIDC Core §3.1.3.7)."""
    if not audience_accepted(claims, client_config.client_id):
        return "it was issued to another application"
    expires = claims.get("exp")
    if isinstance(expires, bool) or not isinstance(expires, int | float):
        return "it has no expiry"
    if expires <= now - CLOCK_SKEW_S:
        return "it has expired"
    if not issuer_accepted(provider, client_config.token_url, claims):
        return "it comes from an unexpected issuer"
    return None


def audience_accepted(claims: dict[str, Any], client_id: str) -> bool:
    """Issued to this client: listed in `aud`, and named by `azp` when that is present."""
    audience = claims.get("aud")
    audiences = [audience] if isinstance(audience, str) else audience
    if not isinstance(audiences, list) or client_id not in audiences:
        return False
    authorized_party = claims.get("azp")
    if len(audiences) > 1:
        # A token for several audiences must say which one it was handed to.
        return authorized_party == client_id
    return authorized_party in (None, client_id)


def issuer_accepted(provider: OAuthProvider, token_url: str, claims: dict[str, Any]) -> bool:
    """Issued by the provider itself, or by the stand-in behind the configured token URL."""
    issuer = claims.get("iss")
    if not isinstance(issuer, str):
        return False
    token_endpoint = urlsplit(token_url)
    if token_endpoint.hostname in REAL_TOKEN_HOSTS[provider]:
        if provider == "google":
            return issuer in GOOGLE_ISSUERS
        directory = MICROSOFT_ISSUER.fullmatch(issuer)
        if directory is None:
            return False
        # Microsoft's advice for multi-tenant clients: the issuer names the token's `tid`.
        return claims.get("tid", directory["tenant"]) == directory["tenant"]
    stand_in = urlsplit(issuer)
    return (stand_in.scheme, stand_in.netloc) == (token_endpoint.scheme, token_endpoint.netloc)


def account_addresses(provider: OAuthProvider, claims: dict[str, Any]) -> list[str]:
    """The consenting account's addresses, the one to show first; none if unconfirmed."""
    if provider == "google":
        # Google's `email` is the account's address, worth something only once verified.
        email = claims.get("email")
        verified = claims.get("email_verified") in (True, "true")
        return [email] if isinstance(email, str) and "@" in email and verified else []
    # Microsoft sends `email` only when the account has one on record; the sign-in
    # name (`preferred_username`, the UPN) is the address a work account logs in with,
    # and often the only one. Either may be the mailbox's address.
    found = [claims.get("email"), claims.get("preferred_username")]
    return [value for value in found if isinstance(value, str) and "@" in value]


def require_same_account(
    account: ConsentingAccount, mailbox_email: str, provider: OAuthProvider
) -> None:
    """A 400 unless the account that consented is the mailbox's own."""
    if account.owns(mailbox_email):
        return
    log.info("OAuth consent by another account refused", extra={"provider": provider})
    signed_in_as, mailbox = account.addresses[0], mailbox_email.lower()
    raise ApiError(
        400,
        "oauth_account_mismatch",
        f"You signed in to {PROVIDER_NAMES[provider]} as {signed_in_as}, but this mailbox is "
        f"{mailbox}. Sign in with {mailbox} and try again.",
    )


def token_expiry(token: dict[str, Any], now: datetime) -> datetime:
    if token.get("expires_at"):
        return datetime.fromtimestamp(float(token["expires_at"]), UTC)
    return now + timedelta(seconds=float(token.get("expires_in", 3600)))


def grant_document(
    cipher: MailboxSecrets,
    tenant_id: str,
    mailbox_id: str,
    provider: OAuthProvider,
    token: dict[str, Any],
    now: datetime,
) -> dict[str, Any]:
    """The stored `oauth` object: tokens as ciphertexts bound to this mailbox."""
    refresh_token = token.get("refresh_token")
    return {
        "provider": provider,
        "access_token_enc": cipher.encrypt(
            tenant_id, mailbox_id, "oauth_access_token", token["access_token"]
        ),
        "refresh_token_enc": cipher.encrypt(
            tenant_id, mailbox_id, "oauth_refresh_token", refresh_token
        )
        if refresh_token
        else None,
        "expires_at": token_expiry(token, now),
        "scope": token.get("scope") or SCOPES[provider],
    }


def new_mailbox_document(
    pending: dict[str, Any], servers: ProviderServers, mailbox_id: str, now: datetime
) -> dict[str, Any]:
    draft = pending["draft"]
    email = draft["email"].lower()
    return {
        "_id": mailbox_id,
        "tenant_id": pending["tenant_id"],
        "owner": pending["user"],
        "name": draft["name"],
        "email": email,
        "display_name": draft.get("display_name"),
        "reply_to": draft.get("reply_to"),
        "reply_to_name": draft.get("reply_to_name"),
        "from_override": draft.get("from_override") or {},
        "shared": draft.get("shared", False),
        "auth_method": "oauth2",
        "smtp": {
            **servers.smtp.model_dump(),
            "authenticate": True,
            "username": email,
            "password_enc": None,
        },
        "incoming": {
            "protocol": "imap",
            **servers.imap.model_dump(),
            "username": email,
            "password_enc": None,
        },
        "tls": {"verify": True, "ca_pem": servers.ca_pem},
        "limits": draft.get("limits") or {},
        "save_sent_copy": draft.get("save_sent_copy", False),
        "state": "pending",
        "created_at": now,
        "updated_at": now,
    }


async def save_grant(
    platform: Platform,
    cipher: MailboxSecrets,
    settings: ApiSettings,
    pending: dict[str, Any],
    token: dict[str, Any],
    account: ConsentingAccount,
) -> tuple[MailboxRecord, bool]:
    """Store the grant on the mailbox being reconnected, or on a new one.

    Only if `account` is the mailbox's: the address asked for at the start, or, when
    reconnecting, the stored mailbox's (which the tokens will log in as).
    """
    provider: OAuthProvider = pending["provider"]
    tenant_id: str = pending["tenant_id"]
    mailboxes = platform.store.collection(MAILBOXES)
    existing = await mailboxes.find_one(
        {"_id": pending["mailbox_id"], "tenant_id": tenant_id, "owner": pending["user"]}
        if pending.get("mailbox_id")
        else {
            "tenant_id": tenant_id,
            "owner": pending["user"],
            "email": pending["draft"]["email"].lower(),
            "auth_method": "oauth2",
            "oauth.provider": provider,
        }
    )
    if pending.get("mailbox_id") and existing is None:
        raise not_found("Mailbox")  # removed while the user was at the provider
    require_same_account(
        account, existing["email"] if existing else pending["draft"]["email"], provider
    )
    now = now_ms()
    if existing is None:
        mailbox_id = f"mbx_{secrets.token_hex(12)}"
        document = new_mailbox_document(
            pending, provider_servers(settings, provider), mailbox_id, now
        )
        document["oauth"] = grant_document(cipher, tenant_id, mailbox_id, provider, token, now)
        record = MailboxRecord.model_validate(document)
        await mailboxes.insert_one(record.model_dump(by_alias=True))
        return record, False
    mailbox_id = existing["_id"]
    grant = grant_document(cipher, tenant_id, mailbox_id, provider, token, now)
    updated = await mailboxes.find_one_and_update(
        {"_id": mailbox_id, "tenant_id": tenant_id},
        {"$set": {"auth_method": "oauth2", "oauth": grant, "updated_at": now}},
        return_document=True,
    )
    if updated is None:
        raise not_found("Mailbox")
    record = MailboxRecord.model_validate(updated)
    if record.state == "auth_failed":
        # The provider has just accepted the user again; without this the mailbox would
        # stay failed, and the token refresher skips failed mailboxes.
        await record_success(platform.store, platform.bus, record)
        record = MailboxRecord.model_validate(await mailboxes.find_one({"_id": mailbox_id}))
    return record, True


def connected_page(email: str, provider: OAuthProvider) -> str:
    address = html.escape(email)
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Mailbox connected</title>"
        "</head><body><h1>Mailbox connected</h1>"
        f"<p>{address} is connected through {PROVIDER_NAMES[provider]}. "
        "You can close this window.</p></body></html>"
    )
