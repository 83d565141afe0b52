"""Per-mailbox sending budgets (per minute, per UTC day), exact across replicas.

Each window is one document in `send_budgets` holding a counter. Taking a unit is
one conditional increment, `update_one({_id, count < limit}, {$inc: {count: 1}},
upsert=True)`, which MongoDB applies atomically: however many sender replicas
race, at most `limit` increments succeed. When the window's document is full the
filter does not match, the upsert tries to insert a second document with the same
`_id` and fails with a duplicate key: the budget is spent. A message that finds
its budget spent waits for the next window (never dropped).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from pymongo.errors import DuplicateKeyError

from mailroom.shared.collections import SEND_BUDGETS
from mailroom.shared.mailboxes import MailboxRecord
from mailroom.shared.sends import BudgetWindow, budget_window_id, window_bounds
from mailroom.shared.store import Store

# Window documents outlive their window a little, so the API can still read a
# just-finished window and clocks that differ slightly agree on the count.
_KEEP_AFTER_WINDOW = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class BudgetSpent:
    """Which budget is spent and when its next window opens."""

    window: BudgetWindow
    opens_at: datetime

    def wait_seconds(self, now: datetime) -> float:
        return max(0.0, (self.opens_at - now).total_seconds())


def windows_of(mailbox: MailboxRecord) -> list[tuple[BudgetWindow, int]]:
    """The mailbox's limited windows, shortest first."""
    windows: list[tuple[BudgetWindow, int]] = []
    if mailbox.limits.per_minute is not None:
        windows.append(("minute", mailbox.limits.per_minute))
    if mailbox.limits.per_day is not None:
        windows.append(("day", mailbox.limits.per_day))
    return windows


async def take_budget(store: Store, mailbox: MailboxRecord, now: datetime) -> BudgetSpent | None:
    """Take one send from every budget of the mailbox, or none of them.

    Returns None when the send may go, or the first spent budget. A unit taken
    from the minute budget is given back when the day budget turns out spent.
    """
    taken: list[str] = []
    for window, limit in windows_of(mailbox):
        start, end = window_bounds(window, now)
        doc_id = budget_window_id(mailbox.id, window, start)
        if limit > 0 and await _take_one(store, doc_id, mailbox, window, limit, end):
            taken.append(doc_id)
            continue
        for other in taken:
            await give_back(store, other)
        return BudgetSpent(window, end)
    return None


async def give_back_budget(store: Store, mailbox: MailboxRecord, taken_at: datetime) -> None:
    """Return the units `take_budget(store, mailbox, taken_at)` took (the message did
    not go out: the server refused it before accepting, or the send was a duplicate)."""
    for window, limit in windows_of(mailbox):
        if limit > 0:
            start, _ = window_bounds(window, taken_at)
            await give_back(store, budget_window_id(mailbox.id, window, start))


async def give_back(store: Store, doc_id: str) -> None:
    """Return a unit (a send that took budget but did not go out after all)."""
    await store.collection(SEND_BUDGETS).update_one(
        {"_id": doc_id, "count": {"$gt": 0}}, {"$inc": {"count": -1}}
    )


async def _take_one(
    store: Store,
    doc_id: str,
    mailbox: MailboxRecord,
    window: BudgetWindow,
    limit: int,
    window_end: datetime,
) -> bool:
    budgets = store.collection(SEND_BUDGETS)
    try:
        result = await budgets.update_one(
            {"_id": doc_id, "count": {"$lt": limit}},
            {
                "$inc": {"count": 1},
                "$setOnInsert": {
                    "tenant_id": mailbox.tenant_id,
                    "mailbox_id": mailbox.id,
                    "window": window,
                    "expires_at": window_end + _KEEP_AFTER_WINDOW,
                },
                "$set": {"limit": limit},
            },
            upsert=True,
        )
    except DuplicateKeyError:
        # Either the window is full, or another replica created the document a
        # moment ago; one plain conditional increment tells which.
        result = await budgets.update_one(
            {"_id": doc_id, "count": {"$lt": limit}}, {"$inc": {"count": 1}}
        )
        return result.modified_count == 1
    return result.modified_count == 1 or result.upserted_id is not None
