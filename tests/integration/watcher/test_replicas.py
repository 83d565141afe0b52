"""Two watcher processes share 20 mailboxes; one is killed and the other takes them all."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mailroom.localinfra.ports import free_port
from mailroom.shared.collections import WATCH_LEASES
from mailroom.shared.mailboxes import MailboxSecrets
from mailroom.shared.store import Store
from tests.integration.support.polling import eventually
from tests.integration.watcher.support import (
    ENCRYPTION_KEYS,
    Sink,
    add_mailbox,
    add_send,
    new_address,
    reply_to,
    watching,
)

pytestmark = pytest.mark.integration

LEASE_SECONDS = 4.0
MAILBOXES = 20


def _start(name: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    mailroom = Path(sys.executable).parent / "mailroom"
    return subprocess.Popen(
        [str(mailroom), "watcher"],
        env={
            **env,
            "MAILROOM_WATCHER_REPLICA_ID": name,
            "MAILROOM_WATCHER_HTTP_PORT": str(free_port()),
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.fixture
def replica_env(
    rabbitmq_url: str, mongo_url: str, mongo_db_name: str, bus_namespace: str
) -> dict[str, str]:
    return {
        **os.environ,
        "MAILROOM_AMQP_URL": rabbitmq_url,
        "MAILROOM_MONGO_URL": mongo_url,
        "MAILROOM_MONGO_DB": mongo_db_name,
        "MAILROOM_BUS_NAMESPACE": bus_namespace,
        "MAILROOM_ENCRYPTION_KEYS": ENCRYPTION_KEYS,
        "MAILROOM_HTTP_HOST": "127.0.0.1",
        "MAILROOM_WATCHER_LEASE_SECONDS": str(LEASE_SECONDS),
        "MAILROOM_WATCHER_HEARTBEAT_SECONDS": "0.5",
        "MAILROOM_WATCHER_BACKOFF_MIN_SECONDS": "0.2",
        "MAILROOM_WATCHER_BACKOFF_MAX_SECONDS": "1",
        "MAILROOM_LOG_FORMAT": "text",
    }


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def _owners(store: Store) -> dict[str, str]:
    return {
        doc["_id"]: doc["owner"]
        async for doc in store.collection(WATCH_LEASES).find({}, {"owner": 1})
    }


async def test_replicas_split_the_mailboxes_and_a_survivor_takes_over_a_killed_one(
    store: Store,
    secrets: MailboxSecrets,
    mail_sandbox: Any,
    sink: Sink,
    replica_env: dict[str, str],
    processes: list[subprocess.Popen[bytes]],
) -> None:
    mailboxes: dict[str, str] = {}
    for _ in range(MAILBOXES):
        address = new_address()
        mail_sandbox.add_user(address, "pw-" + address)
        mailboxes[await add_mailbox(store, secrets, mail_sandbox, address, "pw-" + address)] = (
            address
        )
    processes.append(_start("replica-a", replica_env))
    processes.append(_start("replica-b", replica_env))

    async def split_evenly() -> bool:
        owners = list((await _owners(store)).values())
        return len(owners) == MAILBOXES and owners.count("replica-a") == MAILBOXES // 2

    await eventually(split_evenly, timeout=60, what="an even split")
    for mailbox_id in mailboxes:
        await watching(store, mailbox_id)

    processes[0].send_signal(signal.SIGKILL)
    processes[0].wait()

    async def all_on_b() -> bool:
        owners = await _owners(store)
        return len(owners) == MAILBOXES and set(owners.values()) == {"replica-b"}

    # Leases are written to lapse within one lease period of the last renewal.
    await eventually(all_on_b, timeout=LEASE_SECONDS * 2, what="takeover")

    # Every mailbox is watched again, exactly once: one reply each, reported once.
    sent: dict[str, str] = {}
    for mailbox_id, address in mailboxes.items():
        original = f"<{uuid.uuid4().hex}@mailroom.test>"
        sent[await add_send(store, mailbox_id, original)] = mailbox_id
        mail_sandbox.deliver(address, reply_to(original))

    async def all_reported() -> bool:
        return sum(len(sink.replies(m)) for m in mailboxes) >= MAILBOXES

    await eventually(all_reported, timeout=60, what="every reply reported")
    reported = [r.message_id for m in mailboxes for r in sink.replies(m)]
    assert sorted(reported) == sorted(sent)
