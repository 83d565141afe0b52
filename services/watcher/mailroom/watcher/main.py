"""Watcher: holds leases on mailboxes and watches them over IMAP/POP3.

Entry point only: settings, logging, connections, wiring. The work is elsewhere.
"""

from __future__ import annotations

import asyncio
from functools import partial

from mailroom.shared.logs import configure_logging
from mailroom.shared.runtime import platform, run_service
from mailroom.shared.settings import load_settings
from mailroom.watcher.settings import WatcherSettings

SERVICE = "watcher"


async def serve(settings: WatcherSettings, stop: asyncio.Event) -> None:
    async with platform(SERVICE, settings, settings.http_port, stop) as connected:
        if connected is None:
            return
        await stop.wait()


def main() -> int:
    settings = load_settings(WatcherSettings)
    configure_logging(SERVICE, settings.log_level, settings.log_format)
    return run_service(SERVICE, partial(serve, settings))
