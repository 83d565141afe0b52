"""Every MongoDB collection Mailroom uses, with its indexes, in one place.

Each service creates the indexes at start (`Store.ensure_indexes(INDEXES,
RETIRED_INDEXES)`), so a fresh database works without a migration step and an
upgraded one drops what it no longer needs. Every tenant-owned document
carries `tenant_id`, and every query on one filters by it.
"""

from __future__ import annotations

from pymongo import ASCENDING, DESCENDING, IndexModel

TENANTS = "tenants"
API_KEYS = "api_keys"
MAILBOXES = "mailboxes"
CONNECTION_TESTS = "connection_tests"
SENDS = "sends"
SEND_BUDGETS = "send_budgets"
# Final outcomes of sends, one insert each (see mailroom.shared.sends); `_id` only.
SEND_OUTCOMES = "send_outcomes"
CONTACTS = "contacts"
SUPPRESSIONS = "suppressions"
BOUNCES = "bounces"
WATCH_LEASES = "watch_leases"
WATCH_CURSORS = "watch_cursors"
WATCH_SEEN = "watch_seen"
WATCH_REPLICAS = "watch_replicas"
OAUTH_STATES = "oauth_states"

# Indexes that earlier versions created and nothing uses any more, by collection:
# dropped at start (`Store.ensure_indexes(INDEXES, RETIRED_INDEXES)`), so an upgraded
# deployment stops paying for them on every write.
RETIRED_INDEXES: dict[str, tuple[str, ...]] = {
    # sends were found by (tenant, idempotency key) and by Message-ID before both
    # became their `_id`
    SENDS: ("tenant_idempotency_unique", "smtp_message_id"),
}

INDEXES: dict[str, list[IndexModel]] = {
    TENANTS: [IndexModel([("name", ASCENDING)], unique=True, name="name_unique")],
    API_KEYS: [
        IndexModel([("key_hash", ASCENDING)], unique=True, name="key_hash_unique"),
        IndexModel([("tenant_id", ASCENDING)], name="tenant"),
    ],
    MAILBOXES: [
        IndexModel([("tenant_id", ASCENDING), ("owner", ASCENDING)], name="tenant_owner"),
        IndexModel([("tenant_id", ASCENDING), ("email", ASCENDING)], name="tenant_email"),
        IndexModel([("state", ASCENDING)], name="state"),
        # The OAuth refresher's scan: tokens that expire soonest first.
        IndexModel([("oauth.expires_at", ASCENDING)], name="oauth_expiry", sparse=True),
    ],
    CONNECTION_TESTS: [
        IndexModel(
            [("tenant_id", ASCENDING), ("mailbox_id", ASCENDING), ("finished_at", DESCENDING)],
            name="tenant_mailbox_recent",
        ),
    ],
    # SENDS: `_id` only. The id is derived from (tenant, idempotency key) and is the
    # local part of the send's Message-ID, so every lookup goes through `_id`, and
    # each claim (an insert per send) pays for no other index (mailroom.shared.sends).
    SEND_BUDGETS: [
        IndexModel([("expires_at", ASCENDING)], expireAfterSeconds=0, name="expire"),
    ],
    CONTACTS: [
        IndexModel(
            [("tenant_id", ASCENDING), ("email", ASCENDING)], unique=True, name="tenant_email"
        ),
    ],
    SUPPRESSIONS: [
        IndexModel(
            [("tenant_id", ASCENDING), ("email", ASCENDING)], unique=True, name="tenant_email"
        ),
    ],
    BOUNCES: [
        IndexModel(
            [("tenant_id", ASCENDING), ("email", ASCENDING), ("occurred_at", DESCENDING)],
            name="tenant_email_recent",
        ),
        # One record per (event, recipient): a redelivered event is recognised, not recounted.
        IndexModel(
            [("source_event_id", ASCENDING), ("email", ASCENDING)],
            unique=True,
            name="source_event_recipient_unique",
        ),
    ],
    WATCH_LEASES: [IndexModel([("expires_at", ASCENDING)], name="expires_at")],
    WATCH_CURSORS: [
        IndexModel(
            [("mailbox_id", ASCENDING), ("folder", ASCENDING)], unique=True, name="mailbox_folder"
        ),
    ],
    WATCH_SEEN: [
        IndexModel(
            [("mailbox_id", ASCENDING), ("folder", ASCENDING), ("message_key", ASCENDING)],
            unique=True,
            name="mailbox_folder_message",
        ),
    ],
    OAUTH_STATES: [IndexModel([("expires_at", ASCENDING)], expireAfterSeconds=0, name="expire")],
    # Watcher replicas announce themselves here; the fair share of leases counts the live ones.
    WATCH_REPLICAS: [IndexModel([("expires_at", ASCENDING)], name="expires_at")],
}
