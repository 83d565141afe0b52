"""Settings of the sender service: the common ones plus its own, from `MAILROOM_*`."""

from __future__ import annotations

from pydantic import AliasChoices, Field, model_validator

from mailroom.shared.bus import retry_steps_ms
from mailroom.shared.settings import CommonSettings


def _alias(name: str) -> AliasChoices:
    return AliasChoices(f"MAILROOM_SENDER_{name.upper()}", name)


class SenderSettings(CommonSettings):
    http_port: int = Field(
        9101,
        ge=1,
        le=65535,
        validation_alias=_alias("http_port"),
        description="Port of /healthz, /readyz and /metrics.",
    )
    prefetch: int = Field(
        256,
        ge=1,
        le=10_000,
        validation_alias=AliasChoices("MAILROOM_PREFETCH", "prefetch"),
        description="Send requests handled at once per replica. Many in flight let the "
        "store writes of concurrent messages go out as one batch and keep every pooled "
        "SMTP connection busy.",
    )
    pool_size: int = Field(
        16,
        ge=1,
        le=200,
        validation_alias=_alias("pool_size"),
        description="SMTP connections per mailbox and replica: the mailbox's concurrency bound.",
    )
    smtp_timeout_seconds: float = Field(
        30.0,
        gt=0,
        le=600,
        validation_alias=_alias("smtp_timeout_seconds"),
        description="Timeout of each SMTP step (connect, command, end of DATA).",
    )
    lease_seconds: float = Field(
        300.0,
        gt=0,
        le=3600,
        validation_alias=_alias("lease_seconds"),
        description="How long a send belongs to the replica working on it; after that, "
        "another replica takes it over (a crashed replica's sends wait this long).",
    )
    hold_seconds: float = Field(
        300.0,
        gt=0,
        le=86400,
        validation_alias=_alias("hold_seconds"),
        description="Longest time between two looks of a held message (its mailbox is "
        "auth_failed or disabled) at whether the mailbox was fixed. The wait is the longest "
        "step of retry_delays that is not longer, so it must be at least the shortest step.",
    )
    mailbox_cache_seconds: float = Field(
        2.0,
        ge=0,
        le=300,
        validation_alias=_alias("mailbox_cache_seconds"),
        description="How long a loaded mailbox document is reused before reading it again.",
    )
    sent_copy_timeout_seconds: float = Field(
        20.0,
        gt=0,
        le=600,
        validation_alias=_alias("sent_copy_timeout_seconds"),
        description="Timeout of appending the copy to the Sent folder (when the mailbox asks).",
    )

    @model_validator(mode="after")
    def _hold_fits_the_retry_ladder(self) -> SenderSettings:
        # A hold waits through the bus's delay queues; with no step as short as the
        # hold, held messages would be looked at later than this setting promises.
        if int(self.hold_seconds * 1000) < min(retry_steps_ms(self.retry_delays)):
            raise ValueError(
                "MAILROOM_SENDER_HOLD_SECONDS must be at least the shortest step of "
                "MAILROOM_RETRY_DELAYS"
            )
        return self
