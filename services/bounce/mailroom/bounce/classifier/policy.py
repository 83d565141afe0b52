"""What a tenant does about each bounce reason: suppress at once, count, or ignore.

Pure logic: `decide(history, new_bounce, policy)` looks at the earlier bounces of
one address and the new one and says whether to suppress the address now. The
service that stores contacts and history calls it; nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from mailroom.bounce.classifier.model import BouncedRecipient
from mailroom.bounce.classifier.reasons import HARD_REASONS, kind_for

Action = Literal["suppress_now", "count", "ignore"]
Outcome = Literal["suppress", "count", "ignore"]

# Not failures at all: nothing to do about the address.
_IGNORED_BY_DEFAULT = {"delivered", "vacation", "feedback"}


class ReasonRule(BaseModel):
    """How one reason is handled: suppress at once, count towards a threshold, or ignore."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    action: Action
    threshold: int = Field(3, ge=1, description="Counted bounces that suppress the address.")
    window: timedelta = Field(
        timedelta(days=7), description="Only counted bounces this recent add up."
    )


class BouncePolicy(BaseModel):
    """A tenant's bounce policy: defaults plus per-reason overrides.

    Hard bounces (`userunknown`, `hostunknown`, `hasmoved`, permanent `notaccept`)
    suppress at once; soft ones are counted, suppressing after `soft_threshold`
    within `soft_window`; `delivered`, `vacation` and `feedback` are ignored.
    `overrides` replaces the rule for individual reasons.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    soft_threshold: int = Field(3, ge=1)
    soft_window: timedelta = timedelta(days=7)
    overrides: dict[str, ReasonRule] = Field(default_factory=dict)

    def rule_for(self, bounce: BouncedRecipient) -> ReasonRule:
        """The rule that applies to this bounce."""
        if bounce.reason in self.overrides:
            return self.overrides[bounce.reason]
        if bounce.reason in _IGNORED_BY_DEFAULT:
            return ReasonRule(action="ignore")
        hard = bounce.kind == "hard" or (
            bounce.reason in HARD_REASONS or kind_for(bounce.reason, bounce.status) == "hard"
        )
        if hard:
            return ReasonRule(action="suppress_now")
        return ReasonRule(action="count", threshold=self.soft_threshold, window=self.soft_window)


class PastBounce(BaseModel):
    """One earlier bounce of the same address, as the contact history keeps it."""

    model_config = ConfigDict(frozen=True)

    at: datetime
    reason: str
    kind: Literal["hard", "soft", "unknown"]


class Decision(BaseModel):
    """What to do with the address after this bounce, and why (kept as evidence)."""

    model_config = ConfigDict(frozen=True)

    outcome: Outcome
    suppress: bool
    counted: int = Field(description="Counted bounces of this reason's rule inside its window.")
    explanation: str


def decide(
    history: Iterable[PastBounce],
    new_bounce: BouncedRecipient,
    policy: BouncePolicy,
    now: datetime,
) -> Decision:
    """Decide whether `new_bounce` suppresses its address, given the address's history."""
    rule = policy.rule_for(new_bounce)
    if rule.action == "ignore":
        return Decision(
            outcome="ignore", suppress=False, counted=0, explanation=f"{new_bounce.reason}: ignored"
        )
    if rule.action == "suppress_now":
        return Decision(
            outcome="suppress",
            suppress=True,
            counted=1,
            explanation=f"{new_bounce.kind} bounce ({new_bounce.reason}): suppressed at once",
        )
    since = now - rule.window
    earlier = sum(
        1
        for past in history
        if past.at >= since
        and past.kind != "unknown"
        and past.reason not in _IGNORED_BY_DEFAULT
        and _same_rule(policy, past.reason, rule)
    )
    counted = earlier + 1
    suppress = counted >= rule.threshold
    return Decision(
        outcome="suppress" if suppress else "count",
        suppress=suppress,
        counted=counted,
        explanation=(
            f"{new_bounce.reason}: {counted} of {rule.threshold} bounces within {rule.window}"
        ),
    )


def _same_rule(policy: BouncePolicy, reason: str, rule: ReasonRule) -> bool:
    """Soft bounces add up across reasons that share the default rule; overrides count alone."""
    own = policy.overrides.get(reason)
    if own is None:
        return reason not in policy.overrides and rule == ReasonRule(
            action="count", threshold=policy.soft_threshold, window=policy.soft_window
        )
    return own == rule
