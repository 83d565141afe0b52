"""OAuth refresh: rotates mailbox OAuth tokens before they expire.

Entry point only: settings, logging, connections, wiring. The work is in
`mailroom.oauth_refresh.refresh`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from functools import partial

from mailroom.oauth_refresh.metrics import OAuthRefreshMetrics
from mailroom.oauth_refresh.refresh import RefreshDeps, refresh_due_tokens
from mailroom.oauth_refresh.settings import OAuthRefreshSettings
from mailroom.shared.crypto import EnvelopeCipher
from mailroom.shared.logs import configure_logging
from mailroom.shared.mailboxes import MailboxSecrets
from mailroom.shared.runtime import platform, run_service
from mailroom.shared.settings import load_settings

SERVICE = "oauth-refresh"
log = logging.getLogger(__name__)


async def serve(settings: OAuthRefreshSettings, stop: asyncio.Event) -> None:
    cipher = EnvelopeCipher.from_settings(settings)
    async with platform(SERVICE, settings, settings.http_port, stop) as connected:
        if connected is None:
            return
        deps = RefreshDeps(
            store=connected.store,
            bus=connected.bus,
            secrets=MailboxSecrets(cipher),
            settings=settings,
            metrics=OAuthRefreshMetrics(connected.registry),
        )
        connected.mark_started()
        while not stop.is_set():
            try:
                await refresh_due_tokens(deps)
            except Exception:  # a store or broker hiccup: the next scan tries again
                log.exception("refresh scan failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=settings.oauth_scan_interval_s)


def main() -> int:
    settings = load_settings(OAuthRefreshSettings)
    configure_logging(SERVICE, settings.log_level, settings.log_format)
    return run_service(SERVICE, partial(serve, settings))
