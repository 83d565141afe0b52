"""API service: the HTTP face of Mailroom (mailboxes, connection tests, sends).

Entry point only: settings, logging, connections, wiring. Routes live in
`mailroom.api.app` and its routers.
"""

from __future__ import annotations

import asyncio
from functools import partial

from mailroom.api.app import create_app
from mailroom.api.fleet import FleetMetrics, export_mailbox_states
from mailroom.api.settings import ApiSettings
from mailroom.shared.logs import configure_logging
from mailroom.shared.metrics import new_registry
from mailroom.shared.runtime import platform, run_service
from mailroom.shared.settings import load_settings

SERVICE = "api"


async def serve(settings: ApiSettings, stop: asyncio.Event) -> None:
    registry = new_registry()
    app = create_app(settings, registry)
    async with platform(
        SERVICE, settings, settings.http_port, stop, registry=registry, app=app
    ) as connected:
        if connected is None:
            return
        app.state.platform = connected
        connected.mark_started()  # the API serves as soon as its connections answer
        fleet = asyncio.create_task(
            export_mailbox_states(connected.store, FleetMetrics(registry), stop)
        )
        await stop.wait()
        await fleet


def main() -> int:
    settings = load_settings(ApiSettings)
    configure_logging(SERVICE, settings.log_level, settings.log_format)
    return run_service(SERVICE, partial(serve, settings))
