"""The sender refuses a hold it could not keep with the bus's retry ladder."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from mailroom.sender.settings import SenderSettings
from mailroom.shared.bus import retry_step_ms


def test_the_default_hold_is_kept_by_the_longest_step_that_fits() -> None:
    settings = SenderSettings()
    assert settings.hold_seconds == 300
    # With the default ladder a held message looks again every 120 s, not after 600 s.
    assert retry_step_ms(settings.retry_delays, 1, settings.hold_seconds, not_later=True) == 120_000


@pytest.mark.parametrize("hold_seconds", [0.2, 0.5, 3600])
def test_a_hold_as_long_as_a_step_or_longer_is_accepted(hold_seconds: float) -> None:
    settings = SenderSettings(retry_delays=(0.2, 0.5, 600.0), hold_seconds=hold_seconds)
    assert settings.hold_seconds == hold_seconds


def test_a_hold_shorter_than_every_step_is_refused() -> None:
    # The shortest wait the bus has is 1 s: a 0.5 s hold would be broken on every look.
    with pytest.raises(ValidationError, match="MAILROOM_SENDER_HOLD_SECONDS"):
        SenderSettings(retry_delays=(1.0, 5.0), hold_seconds=0.5)
