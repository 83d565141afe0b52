"""Settings of the watcher service: the common ones plus its own, from `MAILROOM_*`."""

from __future__ import annotations

import os
import socket

from pydantic import AliasChoices, Field, model_validator

from mailroom.shared.settings import CommonSettings


def _default_replica_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class WatcherSettings(CommonSettings):
    http_port: int = Field(
        9102,
        ge=1,
        le=65535,
        validation_alias=AliasChoices("MAILROOM_WATCHER_HTTP_PORT", "http_port"),
        description="Port of /healthz, /readyz and /metrics.",
    )
    replica_id: str = Field(
        default_factory=_default_replica_id,
        min_length=1,
        max_length=200,
        validation_alias=AliasChoices("MAILROOM_WATCHER_REPLICA_ID", "replica_id"),
        description="Name of this replica in the lease documents (default: host name and pid).",
    )
    lease_seconds: float = Field(
        30.0,
        gt=0,
        le=3600,
        validation_alias=AliasChoices("MAILROOM_WATCHER_LEASE_SECONDS", "lease_seconds"),
        description="A dead replica's mailboxes are taken over within this time.",
    )
    heartbeat_seconds: float = Field(
        5.0,
        gt=0,
        le=600,
        validation_alias=AliasChoices("MAILROOM_WATCHER_HEARTBEAT_SECONDS", "heartbeat_seconds"),
        description="How often leases are renewed and the fair share is rebalanced.",
    )
    idle_reissue_seconds: float = Field(
        25 * 60.0,
        gt=0,
        lt=29 * 60.0,
        validation_alias=AliasChoices(
            "MAILROOM_WATCHER_IDLE_REISSUE_SECONDS", "idle_reissue_seconds"
        ),
        description="IDLE is ended and started again before RFC 2177's 29-minute limit.",
    )
    liveness_check_seconds: float = Field(
        240.0,
        gt=0,
        validation_alias=AliasChoices(
            "MAILROOM_WATCHER_LIVENESS_CHECK_SECONDS", "liveness_check_seconds"
        ),
        description="IDLE is ended and restarted this often: a round trip that finds a server "
        "that keeps the connection but stopped answering (within this plus the timeout).",
    )
    keepalive_seconds: float = Field(
        30.0,
        ge=1,
        le=3600,
        validation_alias=AliasChoices("MAILROOM_WATCHER_KEEPALIVE_SECONDS", "keepalive_seconds"),
        description="TCP keepalive starts probing after this much silence; a peer gone from "
        "the network is noticed 30 s later.",
    )
    junk_poll_seconds: float = Field(
        120.0,
        gt=0,
        validation_alias=AliasChoices("MAILROOM_WATCHER_JUNK_POLL_SECONDS", "junk_poll_seconds"),
        description="How often folders other than INBOX (Junk/Spam) are checked.",
    )
    poll_seconds: float = Field(
        60.0,
        gt=0,
        validation_alias=AliasChoices("MAILROOM_WATCHER_POLL_SECONDS", "poll_seconds"),
        description="How often folders are checked on servers without IDLE, and POP3 mailboxes.",
    )
    connect_timeout_seconds: float = Field(
        20.0,
        gt=0,
        validation_alias=AliasChoices(
            "MAILROOM_WATCHER_CONNECT_TIMEOUT_SECONDS", "connect_timeout_seconds"
        ),
    )
    backoff_min_seconds: float = Field(
        2.0,
        gt=0,
        validation_alias=AliasChoices(
            "MAILROOM_WATCHER_BACKOFF_MIN_SECONDS", "backoff_min_seconds"
        ),
        description="First wait after a failed connection; doubles per failure, with jitter.",
    )
    backoff_max_seconds: float = Field(
        300.0,
        gt=0,
        validation_alias=AliasChoices(
            "MAILROOM_WATCHER_BACKOFF_MAX_SECONDS", "backoff_max_seconds"
        ),
    )
    auth_retry_seconds: float = Field(
        3600.0,
        gt=0,
        validation_alias=AliasChoices("MAILROOM_WATCHER_AUTH_RETRY_SECONDS", "auth_retry_seconds"),
        description="After rejected credentials, retry this rarely (a mailbox update retries now).",
    )
    raw_max_bytes: int = Field(
        256 * 1024,
        ge=4096,
        le=8 * 1024 * 1024,
        validation_alias=AliasChoices("MAILROOM_WATCHER_RAW_MAX_BYTES", "raw_max_bytes"),
        description="At most this much of a message is fetched and sent to the bounce service.",
    )
    fetch_batch: int = Field(
        25,
        ge=1,
        le=500,
        validation_alias=AliasChoices("MAILROOM_WATCHER_FETCH_BATCH", "fetch_batch"),
        description="Messages fetched per UID FETCH.",
    )
    connect_concurrency: int = Field(
        20,
        ge=1,
        le=1000,
        validation_alias=AliasChoices(
            "MAILROOM_WATCHER_CONNECT_CONCURRENCY", "connect_concurrency"
        ),
        description="Mailboxes connecting at once (spreads TLS handshakes after a takeover).",
    )

    @model_validator(mode="after")
    def _heartbeat_inside_lease(self) -> WatcherSettings:
        if self.heartbeat_seconds * 2 >= self.lease_seconds:
            raise ValueError("heartbeat_seconds must be less than half of lease_seconds")
        return self
