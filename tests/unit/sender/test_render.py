"""The rendered bytes read back exactly through the standard library's parser."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from typing import Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailroom.sender.render import InvalidContent, Party, message_id_header_for, render_message

NO_SURROGATES: list[Literal["Cs"]] = ["Cs"]
NO_CONTROLS: list[Literal["Cs", "Cc"]] = ["Cs", "Cc"]

# Header text: anything but line breaks (those are refused) and surrogates.
header_text = st.text(
    alphabet=st.characters(blacklist_categories=NO_SURROGATES, blacklist_characters="\r\n\x00"),
    max_size=200,
)
# Display names without control characters (the parser reads a tab in a name as a space).
name_text = st.text(alphabet=st.characters(blacklist_categories=NO_CONTROLS), max_size=200)
names = st.one_of(st.none(), name_text.filter(lambda s: s.strip() == s and s != ""))
body_text = st.text(alphabet=st.characters(blacklist_categories=NO_SURROGATES), max_size=3000)
local_parts = st.from_regex(r"[a-z0-9][a-z0-9._+-]{0,20}[a-z0-9]", fullmatch=True).filter(
    lambda s: ".." not in s
)
addresses = st.builds(lambda local: f"{local}@example.com", local_parts)

MID = message_id_header_for("msg_abc123", "mailroom.test")


def parse(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def canonical(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def content(message: EmailMessage, subtype: str) -> str:
    part = message.get_body((subtype,))
    assert part is not None
    value = part.get_content()
    assert isinstance(value, str)
    return value.replace("\r\n", "\n")


def test_plain_message_has_every_header() -> None:
    rendered = render_message(
        sender=Party("demo@mailroom.test", "Démo Sender"),
        to=[Party("alice@mailroom.test", "Alice")],
        cc=[Party("bob@mailroom.test")],
        bcc=[Party("carol@mailroom.test")],
        reply_to=Party("replies@mailroom.test", "Replies, Inc."),
        subject="Hello there",
        text="Hi Alice\n",
        html="<p>Hi Alice</p>",
        message_id_header=MID,
        headers={"X-Campaign": "spring"},
        list_unsubscribe="<https://example.com/u/1>, <mailto:u@example.com>",
        list_unsubscribe_one_click=True,
    )
    message = parse(rendered.raw)
    assert message["From"].addresses[0].display_name == "Démo Sender"
    assert message["From"].addresses[0].addr_spec == "demo@mailroom.test"
    assert message["Reply-To"].addresses[0].display_name == "Replies, Inc."
    assert message["Message-ID"] == MID
    assert message["Bcc"] is None
    assert message["Sender"] is None
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["X-Campaign"] == "spring"
    assert message.get_content_type() == "multipart/alternative"
    assert content(message, "plain") == "Hi Alice\n"
    assert content(message, "html") == "<p>Hi Alice</p>"
    assert rendered.recipients == (
        "alice@mailroom.test",
        "bob@mailroom.test",
        "carol@mailroom.test",
    )
    assert not message.defects
    assert all(len(line) <= 998 for line in rendered.raw.split(b"\r\n"))
    assert rendered.raw.isascii()


def test_author_differs_from_sender_adds_sender_header() -> None:
    rendered = render_message(
        sender=Party("demo@mailroom.test"),
        author=Party("rep@mailroom.test", "Sales Rep"),
        to=[Party("alice@mailroom.test")],
        text="x",
        message_id_header=MID,
    )
    message = parse(rendered.raw)
    assert message["From"].addresses[0].addr_spec == "rep@mailroom.test"
    assert message["Sender"].addresses[0].addr_spec == "demo@mailroom.test"
    assert rendered.envelope_from == "demo@mailroom.test"


@pytest.mark.parametrize(
    "field",
    ["subject", "name", "header", "list_unsubscribe"],
)
@pytest.mark.parametrize("breaker", ["\r", "\n", "\r\n"])
def test_line_breaks_in_header_values_are_refused(field: str, breaker: str) -> None:
    evil = f"hi{breaker}Bcc: victim@example.com"
    kwargs: dict[str, object] = {
        "sender": Party("demo@mailroom.test"),
        "to": [Party("alice@mailroom.test", evil if field == "name" else None)],
        "subject": evil if field == "subject" else "",
        "headers": {"X-Note": evil} if field == "header" else {},
        "list_unsubscribe": evil if field == "list_unsubscribe" else None,
        "message_id_header": MID,
    }
    with pytest.raises(InvalidContent):
        render_message(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "address", ["a b@example.com", "a@exa mple.com", "ünï@example.com", "a@b@c", "x\n@y.z"]
)
def test_odd_addresses_are_refused(address: str) -> None:
    with pytest.raises(InvalidContent):
        render_message(
            sender=Party("demo@mailroom.test"), to=[Party(address)], message_id_header=MID
        )


def test_reserved_headers_cannot_be_overridden() -> None:
    with pytest.raises(InvalidContent):
        render_message(
            sender=Party("demo@mailroom.test"),
            to=[Party("alice@mailroom.test")],
            headers={"From": "someone@else.example"},
            message_id_header=MID,
        )


@settings(max_examples=300, deadline=None)
@given(
    subject=header_text,
    from_name=names,
    to=st.lists(st.tuples(addresses, names), min_size=1, max_size=4),
    text=st.one_of(st.none(), body_text),
    html=st.one_of(st.none(), body_text),
    extra=header_text,
)
def test_round_trip_through_the_stdlib_parser(
    subject: str,
    from_name: str | None,
    to: list[tuple[str, str | None]],
    text: str | None,
    html: str | None,
    extra: str,
) -> None:
    rendered = render_message(
        sender=Party("demo@mailroom.test", from_name),
        to=[Party(addr, name) for addr, name in to],
        subject=subject,
        text=text,
        html=html,
        headers={"X-Extra": extra},
        message_id_header=MID,
    )
    assert rendered.raw.isascii()
    message = parse(rendered.raw)
    assert message["Subject"] == subject
    assert message["X-Extra"] == extra
    sender = message["From"].addresses[0]
    assert sender.addr_spec == "demo@mailroom.test"
    assert sender.display_name == (from_name or "")
    got_to = [(a.addr_spec, a.display_name) for a in message["To"].addresses]
    assert got_to == [(addr, name or "") for addr, name in to]
    if text is not None:
        assert content(message, "plain") == canonical(text)
    if html is not None:
        assert content(message, "html") == canonical(html)
    if text is None and html is None:
        assert content(message, "plain") == ""
