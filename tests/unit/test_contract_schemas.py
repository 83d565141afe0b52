"""The JSON Schemas in `schemas/` are what producers in other languages code against."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mailroom.shared.contracts import (
    MESSAGE_TYPES,
    MailboxUpdated,
    SendEmail,
    json_schemas,
    message_id_for,
    parse_message,
)
from mailroom.shared.errors import InvalidMessage

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas"


def test_checked_in_schemas_match_the_code() -> None:
    expected = json_schemas()
    on_disk = {p.name: json.loads(p.read_text()) for p in SCHEMA_DIR.glob("*.json")}
    stale = sorted(set(on_disk) - set(expected))
    missing = sorted(set(expected) - set(on_disk))
    changed = sorted(n for n in expected if n in on_disk and on_disk[n] != expected[n])
    assert not (stale or missing or changed), (
        f"schemas/ drifted from mailroom.shared.contracts (stale={stale}, missing={missing}, "
        f"changed={changed}); run `mailroom schemas export schemas` and commit the result"
    )


def test_every_message_names_its_schema_and_routing_key_in_the_body() -> None:
    for message_type in MESSAGE_TYPES:
        assert message_type.ROUTING_KEY == message_type.SCHEMA_NAME
    event = MailboxUpdated(tenant_id="t1", mailbox_id="m1")
    body = json.loads(event.to_json())
    assert body["schema"] == {"name": "mailbox.updated", "version": 1}


def test_a_body_for_another_schema_or_version_is_refused() -> None:
    body = MailboxUpdated(tenant_id="t1", mailbox_id="m1").to_json()
    with pytest.raises(InvalidMessage, match="expected schema"):
        parse_message(body.replace(b'"version":1', b'"version":2'), MailboxUpdated)


def test_unknown_fields_are_ignored_so_producers_can_upgrade_first() -> None:
    body = json.loads(MailboxUpdated(tenant_id="t1", mailbox_id="m1").to_json())
    body["added_in_a_later_minor"] = True
    assert parse_message(json.dumps(body).encode(), MailboxUpdated).mailbox_id == "m1"


def test_the_same_send_request_always_gets_the_same_message_id() -> None:
    request = {
        "idempotency_key": "k-1",
        "tenant_id": "t1",
        "mailbox_id": "m1",
        "to": [{"email": "a@example.com"}],
        "subject": "hi",
        "text": "hello",
    }
    first, second = SendEmail.model_validate(request), SendEmail.model_validate(request)
    assert first.event_id != second.event_id
    assert first.message_id == second.message_id == message_id_for("t1", "k-1")
    assert message_id_for("t2", "k-1") != first.message_id
