"""Fleet-wide numbers the API exports for alerting: how many mailboxes are in each state.

Every API replica counts the same collection, so each exports the same numbers;
alert and graph on `max by (state) (mailroom_mailboxes)`, never on a sum.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import get_args

from prometheus_client import CollectorRegistry, Gauge
from pymongo.errors import PyMongoError

from mailroom.shared.collections import MAILBOXES
from mailroom.shared.contracts import MailboxState
from mailroom.shared.store import Store

log = logging.getLogger(__name__)

MAILBOX_STATES: tuple[MailboxState, ...] = get_args(MailboxState)
REFRESH_INTERVAL_S = 30.0


class FleetMetrics:
    """Mailboxes by state, across every tenant."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.mailboxes = Gauge(
            "mailroom_mailboxes",
            "Stored mailboxes by state (pending, connected, degraded, auth_failed, "
            "needs_attention, disabled), across all tenants; every API replica exports it.",
            ["state"],
            registry=registry,
        )


async def count_mailboxes_by_state(store: Store) -> dict[MailboxState, int]:
    """One `$group` over all mailboxes; every known state is present, 0 when none."""
    # Deliberately not filtered by tenant: this is an operator's view of the fleet,
    # and it exports only counts per state, never a tenant or mailbox id.
    pipeline = [{"$group": {"_id": "$state", "count": {"$sum": 1}}}]
    counts: dict[MailboxState, int] = dict.fromkeys(MAILBOX_STATES, 0)
    cursor = await store.collection(MAILBOXES).aggregate(pipeline)
    async for row in cursor:
        state = row["_id"] if row["_id"] is not None else "pending"  # the record's default
        if state in counts:
            counts[state] += int(row["count"])
        else:
            log.warning("mailboxes in an unknown state", extra={"state": str(state)})
    return counts


async def refresh_mailbox_states(store: Store, metrics: FleetMetrics) -> dict[MailboxState, int]:
    """Count once and set `mailroom_mailboxes{state}`; returns the counts."""
    counts = await count_mailboxes_by_state(store)
    for state, count in counts.items():
        metrics.mailboxes.labels(state).set(count)
    return counts


async def export_mailbox_states(
    store: Store,
    metrics: FleetMetrics,
    stop: asyncio.Event,
    interval_s: float = REFRESH_INTERVAL_S,
) -> None:
    """Refresh the gauge every `interval_s` until `stop` is set.

    A failed count keeps the last numbers (a store outage shows on `mailroom_ready`
    and its own alert) and is tried again at the next tick.
    """
    while not stop.is_set():
        try:
            await refresh_mailbox_states(store, metrics)
        except PyMongoError as exc:
            log.warning(
                "could not count mailboxes by state",
                extra={"error": f"{type(exc).__name__}: {exc}"},
            )
        except Exception:
            # A metric must never take the API down; keep going and say why.
            log.exception("counting mailboxes by state failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval_s)
