"""Which delay queue a retry goes through: the bus's ladder of fixed delay steps."""

from __future__ import annotations

import pytest

from mailroom.shared.bus import retry_step_ms

LADDER = (1.0, 5.0, 30.0, 120.0, 600.0)


@pytest.mark.parametrize(("attempt", "step_ms"), [(1, 1000), (2, 5000), (5, 600_000), (9, 600_000)])
def test_without_a_wish_the_ladder_backs_off_and_its_last_step_repeats(
    attempt: int, step_ms: int
) -> None:
    assert retry_step_ms(LADDER, attempt, None) == step_ms


@pytest.mark.parametrize(("wanted_s", "step_ms"), [(3, 5000), (45, 120_000), (3600, 600_000)])
def test_a_wish_waits_at_least_that_long(wanted_s: float, step_ms: int) -> None:
    # E.g. a held mailbox: looking again a little later than asked is fine.
    assert retry_step_ms(LADDER, 1, wanted_s) == step_ms


@pytest.mark.parametrize(
    ("wanted_s", "step_ms"), [(45, 30_000), (15, 5000), (4, 1000), (0.2, 1000), (3600, 600_000)]
)
def test_a_deadline_is_never_overshot_by_more_than_the_shortest_step(
    wanted_s: float, step_ms: int
) -> None:
    # E.g. a sending window that opens in 45 s: 30 s, then 5 s steps, not 120 s at once.
    assert retry_step_ms(LADDER, 1, wanted_s, not_later=True) == step_ms
