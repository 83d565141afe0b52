"""Sender: consumes `email.send.requested`, delivers over SMTP, publishes the outcome.

Entry point only: settings, logging, connections, wiring. The work is in
`handlers.py` and the modules it uses.
"""

from __future__ import annotations

import asyncio
import os
import socket
from functools import partial

from mailroom.sender.handlers import SenderDeps, handler_map
from mailroom.sender.ledger import SendLedger
from mailroom.sender.mailbox_cache import MailboxCache
from mailroom.sender.metrics import SenderMetrics
from mailroom.sender.pool import MailboxPools
from mailroom.sender.settings import SenderSettings
from mailroom.sender.suppressions import SuppressionList
from mailroom.shared.crypto import EnvelopeCipher
from mailroom.shared.logs import configure_logging
from mailroom.shared.mailboxes import MailboxSecrets
from mailroom.shared.runtime import Platform, platform, run_consumer, run_service
from mailroom.shared.settings import load_settings

SERVICE = "sender"
GROUP = "sender"


def build_deps(settings: SenderSettings, connected: Platform) -> SenderDeps:
    """Wire the handlers' dependencies over the platform's connections."""
    metrics = SenderMetrics(connected.registry)
    secrets = MailboxSecrets(EnvelopeCipher.from_settings(settings))
    # Lease owner: unique per process, readable in the sends collection.
    owner = f"{socket.gethostname()}:{os.getpid()}"
    return SenderDeps(
        settings=settings,
        store=connected.store,
        bus=connected.bus,
        ledger=SendLedger(connected.store, owner, settings.lease_seconds),
        mailboxes=MailboxCache(connected.store, settings.mailbox_cache_seconds),
        pools=MailboxPools(
            secrets, metrics, size=settings.pool_size, timeout_s=settings.smtp_timeout_seconds
        ),
        secrets=secrets,
        metrics=metrics,
        suppressions=SuppressionList(connected.store),
    )


async def serve(settings: SenderSettings, stop: asyncio.Event) -> None:
    async with platform(SERVICE, settings, settings.http_port, stop) as connected:
        if connected is None:
            return
        deps = build_deps(settings, connected)
        try:
            await run_consumer(connected, GROUP, handler_map(deps), settings, stop)
        finally:
            await deps.pools.close()


def main() -> int:
    settings = load_settings(SenderSettings)
    configure_logging(SERVICE, settings.log_level, settings.log_format)
    return run_service(SERVICE, partial(serve, settings))
