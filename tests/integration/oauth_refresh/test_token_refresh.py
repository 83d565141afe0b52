"""The OAuth refresher against a real token endpoint, RabbitMQ and MongoDB."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from mailroom.localinfra import free_port
from mailroom.localinfra.oauth_server import LocalOAuthServer
from mailroom.oauth_refresh.metrics import OAuthRefreshMetrics
from mailroom.oauth_refresh.refresh import GRANT_REVOKED, RefreshDeps, refresh_due_tokens
from mailroom.oauth_refresh.settings import OAuthRefreshSettings
from mailroom.shared.bus import Bus
from mailroom.shared.collections import MAILBOXES
from mailroom.shared.crypto import EnvelopeCipher
from mailroom.shared.mailboxes import MailboxSecrets, load_mailbox
from mailroom.shared.metrics import BusMetrics, new_registry
from mailroom.shared.settings import load_settings
from mailroom.shared.store import Store
from tests.integration.support.events import EventTap

pytestmark = pytest.mark.integration


@pytest.fixture
def oauth_server() -> Iterator[LocalOAuthServer]:
    with LocalOAuthServer(free_port()) as server:
        yield server


@pytest.fixture
async def deps(
    rabbitmq_url: str,
    mongo_url: str,
    mongo_db_name: str,
    bus_namespace: str,
    oauth_server: LocalOAuthServer,
) -> AsyncIterator[RefreshDeps]:
    settings = load_settings(
        OAuthRefreshSettings,
        oauth_google_client_id=oauth_server.state.client_id,
        oauth_google_client_secret=oauth_server.state.client_secret,
        oauth_google_token_url=oauth_server.token_url,
    )
    store = Store(mongo_url, mongo_db_name, app_name="test")
    bus = Bus(
        rabbitmq_url, namespace=bus_namespace, service="test", metrics=BusMetrics(new_registry())
    )
    await bus.connect()
    cipher = EnvelopeCipher({"k1": os.urandom(32)}, "k1")
    yield RefreshDeps(
        store,
        bus,
        MailboxSecrets(cipher),
        settings,
        OAuthRefreshMetrics(new_registry()),
        replica="replica-a",
    )
    await bus.close()
    await store.close()


async def add_oauth_mailbox(
    deps: RefreshDeps, server: LocalOAuthServer, n: int, expires_in_s: float = 60
) -> str:
    email = f"user{n}@mailroom.test"
    grant = server.issue(email)
    mailbox_id = f"mb{n}"
    secrets = deps.secrets
    await deps.store.collection(MAILBOXES).insert_one(
        {
            "_id": mailbox_id,
            "tenant_id": "t1",
            "owner": "u1",
            "name": email,
            "email": email,
            "auth_method": "oauth2",
            "state": "connected",
            "oauth": {
                "provider": "google",
                "access_token_enc": secrets.encrypt(
                    "t1", mailbox_id, "oauth_access_token", grant.access_token
                ),
                "refresh_token_enc": secrets.encrypt(
                    "t1", mailbox_id, "oauth_refresh_token", grant.refresh_token
                ),
                "expires_at": datetime.now(UTC) + timedelta(seconds=expires_in_s),
            },
        }
    )
    return mailbox_id


async def test_a_token_that_expires_soon_is_renewed_stored_encrypted_and_announced(
    deps: RefreshDeps, oauth_server: LocalOAuthServer, rabbitmq_url: str
) -> None:
    mailbox_id = await add_oauth_mailbox(deps, oauth_server, 1)
    later_id = await add_oauth_mailbox(deps, oauth_server, 2, expires_in_s=7200)
    async with EventTap(rabbitmq_url, deps.bus.namespace, ["oauth.token.*"]) as tap:
        assert await refresh_due_tokens(deps) == 1
        [event] = await tap.wait_for("oauth.token.refreshed")
    assert event["mailbox_id"] == mailbox_id
    mailbox = await load_mailbox(deps.store, mailbox_id)
    assert mailbox is not None and mailbox.oauth is not None
    new_access = deps.secrets.decrypt(mailbox, "oauth_access_token")
    assert new_access in oauth_server.state.access
    assert oauth_server.state.access[new_access].username == "user1@mailroom.test"
    assert mailbox.oauth.expires_at > datetime.now(UTC) + timedelta(minutes=50)
    raw = await deps.store.collection(MAILBOXES).find_one({"_id": mailbox_id})
    assert new_access not in str(raw)
    # Renewed once; the one that expires in two hours is left alone; a rescan does nothing.
    assert oauth_server.state.refresh_calls == {"user1@mailroom.test": 1}
    assert await refresh_due_tokens(deps) == 0
    assert later_id


async def test_two_replicas_scanning_at_once_refresh_each_token_exactly_once(
    deps: RefreshDeps, oauth_server: LocalOAuthServer
) -> None:
    for n in range(8):
        await add_oauth_mailbox(deps, oauth_server, n)
    replica_b = RefreshDeps(
        deps.store, deps.bus, deps.secrets, deps.settings, deps.metrics, replica="replica-b"
    )
    renewed = await asyncio.gather(refresh_due_tokens(deps), refresh_due_tokens(replica_b))
    assert sum(renewed) == 8
    # A second use of a rotated refresh token would have been refused and counted as
    # a failure; every user was refreshed exactly once.
    assert set(oauth_server.state.refresh_calls.values()) == {1}
    assert len(oauth_server.state.refresh_calls) == 8
    failures = await deps.store.collection(MAILBOXES).count_documents(
        {"oauth.last_refresh_error": {"$exists": True}}
    )
    assert failures == 0


async def test_a_revoked_grant_moves_the_mailbox_to_auth_failed_and_says_reconnect(
    deps: RefreshDeps, oauth_server: LocalOAuthServer, rabbitmq_url: str
) -> None:
    mailbox_id = await add_oauth_mailbox(deps, oauth_server, 1)
    oauth_server.revoke("user1@mailroom.test")
    async with EventTap(
        rabbitmq_url, deps.bus.namespace, ["oauth.token.*", "mailbox.state_changed"]
    ) as tap:
        assert await refresh_due_tokens(deps) == 0
        [failed] = await tap.wait_for("oauth.token.refresh_failed")
        [changed] = await tap.wait_for("mailbox.state_changed")
    assert failed["permanent"] is True and "invalid_grant" in failed["error"]
    assert (changed["old_state"], changed["new_state"]) == ("connected", "auth_failed")
    mailbox = await load_mailbox(deps.store, mailbox_id)
    assert mailbox is not None and mailbox.state == "auth_failed"
    assert mailbox.last_error is not None and "Reconnect" in mailbox.last_error


async def test_an_expired_token_a_server_refused_is_still_renewed_but_a_refused_grant_is_not(
    deps: RefreshDeps, oauth_server: LocalOAuthServer, rabbitmq_url: str
) -> None:
    # This service was down past the expiry: the sender's login was refused and
    # marked the mailbox auth_failed. Renewing the token is all it takes.
    refused_token = await add_oauth_mailbox(deps, oauth_server, 1, expires_in_s=-600)
    revoked_grant = await add_oauth_mailbox(deps, oauth_server, 2, expires_in_s=-600)
    before = datetime.now(UTC)
    for mailbox_id, code in ((refused_token, "smtp_auth_failed"), (revoked_grant, GRANT_REVOKED)):
        await deps.store.collection(MAILBOXES).update_one(
            {"_id": mailbox_id},
            {"$set": {"state": "auth_failed", "last_error_code": code, "last_error_at": before}},
        )

    async with EventTap(rabbitmq_url, deps.bus.namespace, ["mailbox.updated"]) as tap:
        assert await refresh_due_tokens(deps) == 1
        [updated] = await tap.wait_for("mailbox.updated")  # the watcher restarts its watch

    assert updated["mailbox_id"] == refused_token and updated["changed"] == ["oauth"]
    assert oauth_server.state.refresh_calls == {"user1@mailroom.test": 1}
    renewed = await load_mailbox(deps.store, refused_token)
    assert renewed is not None and renewed.oauth is not None
    assert renewed.oauth.expires_at > datetime.now(UTC) + timedelta(minutes=50)
    # Changed after the failure: the sender stops holding its messages and tries again.
    assert renewed.updated_at is not None and renewed.updated_at > before
    assert await refresh_due_tokens(deps) == 0  # renewed once, not again and again


async def test_a_provider_outage_is_retried_later_without_touching_the_mailbox_state(
    deps: RefreshDeps, oauth_server: LocalOAuthServer, rabbitmq_url: str
) -> None:
    mailbox_id = await add_oauth_mailbox(deps, oauth_server, 1)
    oauth_server.state.failing = True
    async with EventTap(rabbitmq_url, deps.bus.namespace, ["oauth.token.*"]) as tap:
        assert await refresh_due_tokens(deps) == 0
        [failed] = await tap.wait_for("oauth.token.refresh_failed")
    assert failed["permanent"] is False
    raw = await deps.store.collection(MAILBOXES).find_one({"_id": mailbox_id})
    assert raw is not None
    assert raw["state"] == "connected"
    assert raw["oauth"]["refresh_failures"] == 1
    # Backed off: the next scan does not hammer the provider.
    assert await refresh_due_tokens(deps) == 0
    oauth_server.state.failing = False
    await deps.store.collection(MAILBOXES).update_one(
        {"_id": mailbox_id}, {"$set": {"oauth.refresh_locked_until": None}}
    )
    assert await refresh_due_tokens(deps) == 1
