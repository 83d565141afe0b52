"""Per-tenant bounce policy: hard suppresses at once, soft after N in a window, some ignored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mailroom.bounce.classifier import BouncedRecipient
from mailroom.bounce.classifier.policy import BouncePolicy, PastBounce, ReasonRule, decide

NOW = datetime(2025, 1, 10, tzinfo=UTC)


def _bounce(reason: str, kind: str = "soft") -> BouncedRecipient:
    return BouncedRecipient(recipient="x@receiver.test", kind=kind, reason=reason)  # type: ignore[arg-type]


def _past(days_ago: int, reason: str = "mailboxfull") -> PastBounce:
    return PastBounce(at=NOW - timedelta(days=days_ago), reason=reason, kind="soft")


def test_hard_bounce_suppresses_at_once() -> None:
    decision = decide([], _bounce("userunknown", "hard"), BouncePolicy(), NOW)

    assert decision.suppress and decision.outcome == "suppress"


def test_soft_bounces_suppress_only_past_the_threshold_inside_the_window() -> None:
    policy = BouncePolicy(soft_threshold=3, soft_window=timedelta(days=7))

    assert not decide([_past(1)], _bounce("mailboxfull"), policy, NOW).suppress
    old_and_new = [_past(30), _past(20), _past(2)]
    assert decide(old_and_new, _bounce("mailboxfull"), policy, NOW).counted == 2
    assert decide([_past(3), _past(1)], _bounce("blocked"), policy, NOW).suppress


def test_vacation_and_feedback_are_ignored() -> None:
    for reason in ("vacation", "feedback", "delivered"):
        decision = decide([], _bounce(reason, "unknown"), BouncePolicy(), NOW)
        assert decision.outcome == "ignore" and not decision.suppress


def test_tenant_override_changes_one_reason() -> None:
    policy = BouncePolicy(
        overrides={
            "mailboxfull": ReasonRule(action="suppress_now"),
            "userunknown": ReasonRule(action="count", threshold=2),
        }
    )

    assert decide([], _bounce("mailboxfull"), policy, NOW).suppress
    assert not decide([], _bounce("userunknown", "hard"), policy, NOW).suppress
