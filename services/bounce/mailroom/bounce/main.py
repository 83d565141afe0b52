"""Bounce service: classifies bounces, marks contacts, keeps the suppression list.

Entry point only: settings, logging, connections, wiring. The work is in
`mailroom.bounce.handlers`.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from functools import partial

from mailroom.bounce.classifier.policy import BouncePolicy
from mailroom.bounce.handlers import BounceDeps, handler_map
from mailroom.bounce.metrics import BounceMetrics
from mailroom.bounce.settings import BounceSettings
from mailroom.shared.logs import configure_logging
from mailroom.shared.runtime import platform, run_consumer, run_service
from mailroom.shared.settings import load_settings

SERVICE = "bounce"


async def serve(settings: BounceSettings, stop: asyncio.Event) -> None:
    async with platform(SERVICE, settings, settings.http_port, stop) as connected:
        if connected is None:
            return
        deps = BounceDeps(
            store=connected.store,
            bus=connected.bus,
            default_policy=BouncePolicy(
                soft_threshold=settings.soft_bounce_threshold,
                soft_window=timedelta(days=settings.soft_bounce_window_days),
            ),
            metrics=BounceMetrics(connected.registry),
        )
        await run_consumer(connected, SERVICE, handler_map(deps), settings, stop)


def main() -> int:
    settings = load_settings(BounceSettings)
    configure_logging(SERVICE, settings.log_level, settings.log_format)
    return run_service(SERVICE, partial(serve, settings))
