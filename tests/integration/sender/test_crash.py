"""A sender killed with SIGKILL halfway through a batch loses nothing and sends nothing twice."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from mailroom.localinfra import MailSandbox
from mailroom.sender.settings import SenderSettings
from mailroom.shared.collections import SEND_OUTCOMES, SENDS
from mailroom.shared.store import Store
from tests.integration.sender.conftest import MailboxFactory, free_port, inbox, wait_ready
from tests.integration.sender.test_delivery import publisher, send_request
from tests.integration.support.events import EventTap
from tests.integration.support.polling import eventually

pytestmark = pytest.mark.integration

BATCH = 200


def start_sender(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    mailroom = Path(sys.executable).with_name("mailroom")
    return subprocess.Popen(
        [str(mailroom), "sender"],
        env={
            **os.environ,
            **env,
            "MAILROOM_SENDER_HTTP_PORT": str(port),
            "MAILROOM_HTTP_HOST": "127.0.0.1",
            # Few connections and messages in flight, so the kill finds moments when
            # no SMTP transaction is open (see the test's docstring).
            "MAILROOM_SENDER_POOL_SIZE": "1",
            "MAILROOM_PREFETCH": "4",
        },
        stdout=subprocess.DEVNULL,
        stderr=log.open("ab"),
    )


async def kill_between_transactions(process: subprocess.Popen[bytes], store: Store) -> int:
    """SIGKILL the sender at a moment when none of its sends is `sending`.

    Pause it (SIGSTOP), look at the store, and kill it if no SMTP transaction is
    open; otherwise let it run a moment and try again. Everything else may be in
    flight at the kill: claimed, rendered, recorded but not published, published
    but not acked. A kill *during* a transaction leaves a send whose outcome nobody
    can know (the server may have taken the message); that case is reported failed
    instead of sent twice, which the unit of the handler covers on its own.
    """
    sends, outcomes = store.collection(SENDS), store.collection(SEND_OUTCOMES)

    async def snapshot() -> tuple[int, int, int]:
        # A claim stays `sending` in `sends`; its outcome goes to `send_outcomes`.
        return (
            await sends.count_documents({}),
            await sends.count_documents({"status": "sending"}),
            await outcomes.count_documents({}),
        )

    for _ in range(500):
        os.kill(process.pid, signal.SIGSTOP)
        # Writes the process sent just before it stopped may still be landing: read
        # until two snapshots agree, so the decision is about what the store will hold.
        previous, current = None, await snapshot()
        while previous != current:
            await asyncio.sleep(0.02)
            previous, current = current, await snapshot()
        if current[1] == current[2]:  # every claim has its outcome: no open transaction
            sent = await outcomes.count_documents({"status": "sent"})
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
            return sent
        os.kill(process.pid, signal.SIGCONT)
        await asyncio.sleep(0.003)
    raise AssertionError("never found a moment without an open SMTP transaction")


async def test_kill_9_halfway_then_restart_delivers_each_exactly_once(
    sender_env: dict[str, str],
    sender_settings: SenderSettings,
    mailboxes: MailboxFactory,
    mail_sandbox: MailSandbox,
    recipient: str,
    store: Store,
    local_workdir: Path,
) -> None:
    mailbox_id = await mailboxes.create()
    requests = [send_request(mailbox_id, recipient, subject=f"batch {i}") for i in range(BATCH)]
    log = local_workdir / f"sender-crash-{mailbox_id}.log"
    port = free_port()
    first = start_sender(sender_env, port, log)
    try:
        await wait_ready(port)
        async with EventTap(
            sender_settings.amqp_url.get_secret_value(),
            sender_settings.bus_namespace,
            ["email.sent", "email.failed"],
        ) as tap:
            bus = await publisher(sender_settings)
            await bus.publish_many(requests)

            async def halfway() -> bool:
                sent = store.collection(SEND_OUTCOMES).count_documents({"status": "sent"})
                return await sent >= 30

            await eventually(halfway, timeout=60, what="half of the batch to be sent")
            sent_before_kill = await kill_between_transactions(first, store)
            assert 0 < sent_before_kill < BATCH

            second = start_sender(sender_env, free_port(), log)
            try:
                try:
                    await tap.wait_for("email.sent", count=BATCH, timeout=60)
                except AssertionError:
                    docs = (
                        await store.collection(SEND_OUTCOMES)
                        .find({"status": {"$ne": "sent"}})
                        .to_list(10)
                    )
                    raise AssertionError(
                        f"not sent: {docs}; "
                        f"failed: {tap.named('email.failed')}; log: {log.read_text()[-3000:]}"
                    ) from None
                messages = await eventually(
                    lambda: _all_arrived(mail_sandbox, recipient, BATCH),
                    timeout=90,
                    what="every message in the inbox",
                )
                # Anything still in flight would show up now; nothing may.
                await asyncio.sleep(0)
            finally:
                second.send_signal(signal.SIGTERM)
                second.wait(30)
            await bus.close()
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()

    ids = [m["Message-ID"] for m in messages]
    assert len(ids) == BATCH
    assert len(set(ids)) == BATCH
    assert {f"<{r.message_id}@mailroom.test>" for r in requests} == set(ids)
    sent_events = tap.named("email.sent")
    # A result republished after the crash carries the same event id: one event.
    assert len({e["event_id"] for e in sent_events}) == BATCH
    assert {e["message_id"] for e in sent_events} == {r.message_id for r in requests}
    assert tap.named("email.failed") == []
    assert await store.collection(SENDS).count_documents({}) == BATCH
    statuses = await store.collection(SEND_OUTCOMES).distinct("status")
    assert statuses == ["sent"]
    assert await store.collection(SEND_OUTCOMES).count_documents({}) == BATCH


async def _all_arrived(sandbox: MailSandbox, address: str, count: int) -> list[object] | None:
    messages = await inbox(sandbox, address, "rcpt-password")
    if len(messages) > count:
        raise AssertionError(f"{len(messages)} messages arrived for {count} requests")
    return list(messages) if len(messages) == count else None
