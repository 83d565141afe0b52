"""Watcher: holds leases on mailboxes and watches them over IMAP/POP3.

Entry point only: settings, logging, connections, wiring. The work is elsewhere.
"""

from __future__ import annotations

import asyncio
from functools import partial

from mailroom.shared.crypto import EnvelopeCipher
from mailroom.shared.logs import configure_logging
from mailroom.shared.mailboxes import MailboxSecrets
from mailroom.shared.runtime import platform, run_consumer, run_service
from mailroom.shared.settings import load_settings
from mailroom.watcher.handlers import handler_map
from mailroom.watcher.imap_watch import WatchContext
from mailroom.watcher.leases import Leases
from mailroom.watcher.metrics import WatcherMetrics
from mailroom.watcher.settings import WatcherSettings
from mailroom.watcher.watches import Watcher

SERVICE = "watcher"
GROUP = "watcher"


async def serve(settings: WatcherSettings, stop: asyncio.Event) -> None:
    async with platform(SERVICE, settings, settings.http_port, stop) as connected:
        if connected is None:
            return
        ctx = WatchContext(
            store=connected.store,
            bus=connected.bus,
            secrets=MailboxSecrets(EnvelopeCipher.from_settings(settings)),
            settings=settings,
            metrics=WatcherMetrics(connected.registry),
            connect_slots=asyncio.Semaphore(settings.connect_concurrency),
        )
        leases = Leases(
            connected.store,
            settings.replica_id,
            lease_seconds=settings.lease_seconds,
            heartbeat_seconds=settings.heartbeat_seconds,
        )
        watcher = Watcher(ctx, leases)
        heartbeat = asyncio.create_task(watcher.run(stop), name="watcher-heartbeat")
        try:
            await run_consumer(connected, GROUP, handler_map(watcher), settings, stop)
        finally:
            stop.set()
            await heartbeat


def main() -> int:
    settings = load_settings(WatcherSettings)
    configure_logging(SERVICE, settings.log_level, settings.log_format)
    return run_service(SERVICE, partial(serve, settings))
