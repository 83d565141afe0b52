"""Budget windows: which minute or day a send counts against, and when it reopens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from mailroom.sender.limits import BudgetSpent, windows_of
from mailroom.shared.mailboxes import MailboxRecord
from mailroom.shared.sends import budget_window_id, window_bounds


def mailbox(per_minute: int | None, per_day: int | None) -> MailboxRecord:
    return MailboxRecord.model_validate(
        {
            "_id": "mb1",
            "tenant_id": "t1",
            "owner": "u1",
            "name": "demo",
            "email": "demo@mailroom.test",
            "limits": {"per_minute": per_minute, "per_day": per_day},
        }
    )


def test_minute_window_bounds() -> None:
    now = datetime(2024, 5, 1, 10, 42, 37, 123456, tzinfo=UTC)
    start, end = window_bounds("minute", now)
    assert start == datetime(2024, 5, 1, 10, 42, tzinfo=UTC)
    assert end - start == timedelta(minutes=1)


def test_day_window_is_the_utc_day_whatever_the_zone() -> None:
    local = datetime(2024, 5, 1, 1, 30, tzinfo=timezone(timedelta(hours=3)))  # 22:30 UTC Apr 30
    start, end = window_bounds("day", local)
    assert start == datetime(2024, 4, 30, tzinfo=UTC)
    assert end == datetime(2024, 5, 1, tzinfo=UTC)


def test_window_ids_differ_per_window_and_mailbox() -> None:
    start = datetime(2024, 5, 1, 10, 42, tzinfo=UTC)
    ids = {
        budget_window_id("mb1", "minute", start),
        budget_window_id("mb1", "minute", start + timedelta(minutes=1)),
        budget_window_id("mb1", "day", start),
        budget_window_id("mb2", "minute", start),
    }
    assert len(ids) == 4


def test_wait_until_the_window_opens() -> None:
    now = datetime(2024, 5, 1, 10, 42, 37, 500000, tzinfo=UTC)
    _, end = window_bounds("minute", now)
    assert BudgetSpent("minute", end).wait_seconds(now) == 22.5
    assert BudgetSpent("minute", end).wait_seconds(end + timedelta(seconds=1)) == 0.0


def test_windows_of_a_mailbox_shortest_first() -> None:
    assert windows_of(mailbox(None, None)) == []
    assert windows_of(mailbox(10, 500)) == [("minute", 10), ("day", 500)]
    assert windows_of(mailbox(None, 500)) == [("day", 500)]
