"""A reply or a bounce finds the send it answers through the send's Message-ID."""

from __future__ import annotations

from mailroom.sender.render import message_id_header_for
from mailroom.shared.contracts import message_id_for
from mailroom.shared.sends import sends_named_by


def test_the_message_id_header_of_a_send_names_the_send_by_its_id() -> None:
    message_id = message_id_for("t1", "welcome-42")
    header = message_id_header_for(message_id, "sales.example")

    query = sends_named_by([header])

    assert query == {"_id": {"$in": [message_id]}, "smtp_message_id": {"$in": [header]}}


def test_references_with_or_without_angle_brackets_name_the_same_send() -> None:
    query = sends_named_by(["<msg_a@x.example>", "msg_a@x.example", " <msg_b@y.example> "])

    assert query["_id"] == {"$in": ["msg_a", "msg_b"]}
    assert query["smtp_message_id"] == {"$in": ["<msg_a@x.example>", "<msg_b@y.example>"]}


def test_values_that_are_not_message_ids_name_no_send() -> None:
    query = sends_named_by(["", "<>", "no-at-sign"])

    assert query["_id"] == {"$in": []}
