"""Renew OAuth access tokens before they expire, once per token across replicas.

Each scan picks mailboxes whose token expires within the margin, claims each
with a short lock in the mailbox document (so two replicas never spend the same
refresh token: Microsoft rotates them, and a second use can revoke the grant),
calls the provider's token endpoint with authlib, and stores the new tokens
encrypted. A refused grant (`invalid_grant`: the user revoked access or the
password changed) means the user must reconnect: the mailbox becomes
`auth_failed`. Anything else is transient and retried with backoff; the
mailbox keeps working on its current token meanwhile.

A mailbox that is `auth_failed` because a server refused its expired access
token (this service was down past the expiry, say) is still renewed: only the
provider refusing the grant itself needs the user. The renewal changes the
mailbox, so the sender tries it again, and `mailbox.updated` makes the watcher
log in again at once.
"""

from __future__ import annotations

import logging
import random
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuthError

from mailroom.oauth_refresh.metrics import OAuthRefreshMetrics
from mailroom.oauth_refresh.settings import OAuthRefreshSettings
from mailroom.shared.bus import Bus
from mailroom.shared.collections import MAILBOXES
from mailroom.shared.contracts import MailboxUpdated, OAuthTokenRefreshed, OAuthTokenRefreshFailed
from mailroom.shared.mailboxes import MailboxRecord, MailboxSecrets, record_failure
from mailroom.shared.store import Store

log = logging.getLogger(__name__)

# The mailbox failure code this service records when the provider refuses the grant.
GRANT_REVOKED = "oauth_grant_revoked"
# Errors after which the same refresh token can never work again (RFC 6749 §5.2).
PERMANENT_OAUTH_ERRORS = {"invalid_grant", "invalid_client", "unauthorized_client"}
MAX_BACKOFF_S = 900.0


@dataclass(frozen=True)
class ProviderClient:
    token_url: str
    client_id: str
    client_secret: str | None


@dataclass
class RefreshDeps:
    store: Store
    bus: Bus
    secrets: MailboxSecrets
    settings: OAuthRefreshSettings
    metrics: OAuthRefreshMetrics
    replica: str = socket.gethostname()


def provider_clients(settings: OAuthRefreshSettings) -> dict[str, ProviderClient]:
    clients: dict[str, ProviderClient] = {}
    if settings.oauth_google_client_id:
        clients["google"] = ProviderClient(
            settings.oauth_google_token_url,
            settings.oauth_google_client_id,
            _secret(settings.oauth_google_client_secret),
        )
    if settings.oauth_microsoft_client_id:
        clients["microsoft"] = ProviderClient(
            settings.oauth_microsoft_token_url,
            settings.oauth_microsoft_client_id,
            _secret(settings.oauth_microsoft_client_secret),
        )
    return clients


def _secret(value: Any) -> str | None:
    return value.get_secret_value() if value is not None else None


def due_filter(now: datetime, margin_s: float) -> dict[str, Any]:
    """Mailboxes whose token expires within the margin and nobody is refreshing.

    Disabled mailboxes are left alone, and so are those whose grant the provider
    refused; `auth_failed` for any other reason (a server refused the expired
    token) is what a renewal can fix.
    """
    return {
        "auth_method": "oauth2",
        "oauth.expires_at": {"$lte": now + timedelta(seconds=margin_s)},
        "$and": [
            {
                "$or": [
                    {"state": {"$nin": ["disabled", "auth_failed"]}},
                    {"state": "auth_failed", "last_error_code": {"$ne": GRANT_REVOKED}},
                ]
            },
            {
                "$or": [
                    {"oauth.refresh_locked_until": {"$exists": False}},
                    {"oauth.refresh_locked_until": None},
                    {"oauth.refresh_locked_until": {"$lte": now}},
                ]
            },
        ],
    }


async def refresh_due_tokens(deps: RefreshDeps) -> int:
    """One scan: refresh every token that is due. Returns how many were renewed."""
    now = datetime.now(UTC)
    mailboxes = deps.store.collection(MAILBOXES)
    renewed = 0
    cursor = mailboxes.find(due_filter(now, deps.settings.oauth_refresh_margin_s)).limit(500)
    async for doc in cursor:
        if not await _claim(deps, doc["_id"], now):
            continue  # another replica took it
        mailbox = MailboxRecord.model_validate(doc)
        if await refresh_one(deps, mailbox, doc.get("oauth", {}).get("refresh_failures", 0)):
            renewed += 1
    return renewed


async def _claim(deps: RefreshDeps, mailbox_id: str, now: datetime) -> bool:
    filter_ = due_filter(now, deps.settings.oauth_refresh_margin_s) | {"_id": mailbox_id}
    result = await deps.store.collection(MAILBOXES).update_one(
        filter_,
        {
            "$set": {
                "oauth.refresh_locked_until": now + timedelta(seconds=deps.settings.oauth_lock_s),
                "oauth.refresh_owner": deps.replica,
            }
        },
    )
    return result.modified_count == 1


async def refresh_one(deps: RefreshDeps, mailbox: MailboxRecord, failures: int) -> bool:
    assert mailbox.oauth is not None
    provider = mailbox.oauth.provider
    client_config = provider_clients(deps.settings).get(provider)
    if client_config is None:
        await _transient(deps, mailbox, failures, f"no OAuth client configured for {provider}")
        return False
    refresh_token = deps.secrets.decrypt(mailbox, "oauth_refresh_token")
    if not refresh_token:
        await _permanent(deps, mailbox, "no refresh token stored; reconnect the mailbox")
        return False
    client = AsyncOAuth2Client(
        client_id=client_config.client_id,
        client_secret=client_config.client_secret,
        timeout=20.0,
    )
    try:
        async with client:
            token = await client.refresh_token(client_config.token_url, refresh_token=refresh_token)
    except OAuthError as exc:
        if exc.error in PERMANENT_OAUTH_ERRORS:
            await _permanent(deps, mailbox, f"{exc.error}: {exc.description or ''}".strip())
        else:
            await _transient(deps, mailbox, failures, f"{exc.error}: {exc.description or ''}")
        return False
    except Exception as exc:  # network, TLS, 5xx, bad JSON: all worth another try later
        await _transient(deps, mailbox, failures, f"{type(exc).__name__}: {exc}")
        return False
    await _store_token(deps, mailbox, dict(token))
    return True


async def _store_token(deps: RefreshDeps, mailbox: MailboxRecord, token: dict[str, Any]) -> None:
    now = datetime.now(UTC)
    expires_at = _expiry(token, now)
    update: dict[str, Any] = {
        "oauth.access_token_enc": deps.secrets.encrypt(
            mailbox.tenant_id, mailbox.id, "oauth_access_token", token["access_token"]
        ),
        "oauth.expires_at": expires_at,
        "oauth.refreshed_at": now,
        "oauth.refresh_failures": 0,
        "oauth.refresh_locked_until": None,
        "updated_at": now,
    }
    if token.get("refresh_token"):  # rotated: the old one is now spent
        update["oauth.refresh_token_enc"] = deps.secrets.encrypt(
            mailbox.tenant_id, mailbox.id, "oauth_refresh_token", token["refresh_token"]
        )
    await deps.store.collection(MAILBOXES).update_one({"_id": mailbox.id}, {"$set": update})
    deps.metrics.refreshed.labels(mailbox.oauth.provider if mailbox.oauth else "unknown").inc()
    log.info("token refreshed", extra={"mailbox_id": mailbox.id, "expires_at": expires_at})
    await deps.bus.publish(
        OAuthTokenRefreshed(
            tenant_id=mailbox.tenant_id, mailbox_id=mailbox.id, expires_at=expires_at
        )
    )
    if mailbox.state == "auth_failed":
        # New credentials for a mailbox that servers refused: the watcher, which
        # otherwise looks again only after a long pause, restarts its watch now.
        await deps.bus.publish(
            MailboxUpdated(tenant_id=mailbox.tenant_id, mailbox_id=mailbox.id, changed=["oauth"])
        )


def _expiry(token: dict[str, Any], now: datetime) -> datetime:
    if token.get("expires_at"):
        return datetime.fromtimestamp(float(token["expires_at"]), UTC)
    return now + timedelta(seconds=float(token.get("expires_in", 3600)))


def backoff_s(failures: int) -> float:
    """Exponential backoff with full jitter, capped: many replicas never retry in step."""
    return float(random.uniform(0, min(MAX_BACKOFF_S, 30.0 * 2**failures)))


async def _transient(deps: RefreshDeps, mailbox: MailboxRecord, failures: int, error: str) -> None:
    provider = mailbox.oauth.provider if mailbox.oauth else "unknown"
    deps.metrics.failures.labels(provider, "transient").inc()
    retry_at = datetime.now(UTC) + timedelta(seconds=max(5.0, backoff_s(failures)))
    await deps.store.collection(MAILBOXES).update_one(
        {"_id": mailbox.id},
        {
            "$set": {"oauth.refresh_locked_until": retry_at, "oauth.last_refresh_error": error},
            "$inc": {"oauth.refresh_failures": 1},
        },
    )
    log.warning(
        "token refresh failed; will retry", extra={"mailbox_id": mailbox.id, "error": error}
    )
    await deps.bus.publish(
        OAuthTokenRefreshFailed(
            tenant_id=mailbox.tenant_id, mailbox_id=mailbox.id, permanent=False, error=error
        )
    )


async def _permanent(deps: RefreshDeps, mailbox: MailboxRecord, error: str) -> None:
    provider = mailbox.oauth.provider if mailbox.oauth else "unknown"
    deps.metrics.failures.labels(provider, "permanent").inc()
    await deps.store.collection(MAILBOXES).update_one(
        {"_id": mailbox.id},
        {"$set": {"oauth.refresh_locked_until": None, "oauth.last_refresh_error": error}},
    )
    log.error("token refresh refused; the user must reconnect", extra={"mailbox_id": mailbox.id})
    await record_failure(
        deps.store,
        deps.bus,
        mailbox,
        code=GRANT_REVOKED,
        message=f"The provider refused to renew access ({error}). Reconnect the mailbox.",
        credentials_rejected=True,
    )
    await deps.bus.publish(
        OAuthTokenRefreshFailed(
            tenant_id=mailbox.tenant_id, mailbox_id=mailbox.id, permanent=True, error=error
        )
    )
