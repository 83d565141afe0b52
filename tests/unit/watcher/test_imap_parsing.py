"""Parsing the IMAP responses the watch relies on, as aioimaplib hands them over."""

from __future__ import annotations

from datetime import UTC, datetime

from mailroom.watcher.imap_watch import (
    fetched_messages,
    junk_folder,
    quote_mailbox,
    search_uids,
    status_numbers,
)
from mailroom.watcher.watches import backoff_seconds


def test_select_and_status_numbers() -> None:
    lines = [
        b"FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)",
        b"3 EXISTS",
        b"0 RECENT",
        b"OK [UIDVALIDITY 1795353285] UIDs valid",
        b"OK [UIDNEXT 4] Predicted next UID",
        b"OK [HIGHESTMODSEQ 7] Highest",
        b"[READ-WRITE] Select completed (0.001 + 0.000 secs).",
    ]
    assert status_numbers(lines) == {
        "EXISTS": 3,
        "UIDVALIDITY": 1795353285,
        "UIDNEXT": 4,
        "HIGHESTMODSEQ": 7,
    }
    assert status_numbers([b'STATUS "Junk" (UIDNEXT 9 UIDVALIDITY 12)', b"done"]) == {
        "UIDNEXT": 9,
        "UIDVALIDITY": 12,
    }


def test_search_uids() -> None:
    assert search_uids([b"SEARCH 4 5 17", b"Search completed"]) == [4, 5, 17]
    assert search_uids([b"SEARCH", b"Search completed"]) == []


def test_fetch_lines_give_uid_size_date_and_bytes() -> None:
    lines = [
        b'1 FETCH (UID 5 RFC822.SIZE 12 INTERNALDATE "05-Mar-2025 10:11:12 +0000" BODY[]<0> {12}',
        bytearray(b"Subject: x\r\n"),
        b")",
        b"4 EXISTS",
        b"2 FETCH (UID 9 RFC822.SIZE 900000 BODY[]<0> {4}",
        bytearray(b"abcd"),
        b")",
        b"Fetch completed",
    ]
    first, second = fetched_messages(lines)
    assert (first.uid, first.raw, first.size) == (5, b"Subject: x\r\n", 12)
    assert first.internaldate == datetime(2025, 3, 5, 10, 11, 12, tzinfo=UTC)
    assert (second.uid, second.raw, second.size, second.internaldate) == (9, b"abcd", 900000, None)


def test_junk_folder_by_special_use_then_by_name() -> None:
    special = [
        b'LIST (\\HasNoChildren) "/" INBOX',
        b'LIST (\\HasNoChildren) "/" Spam',
        b'LIST (\\HasNoChildren \\Junk) "/" "Courrier ind&AOk-sirable"',
    ]
    assert junk_folder(special) == "Courrier ind&AOk-sirable"
    assert junk_folder([b'LIST (\\HasNoChildren) "/" INBOX', b'LIST () "." "Junk E-mail"']) == (
        "Junk E-mail"
    )
    assert junk_folder([b'LIST (\\HasNoChildren) "/" INBOX']) is None


def test_quote_mailbox() -> None:
    assert quote_mailbox("inbox") == "INBOX"
    assert quote_mailbox('My "Junk"') == '"My \\"Junk\\""'


def test_backoff_doubles_up_to_the_ceiling_with_jitter() -> None:
    for failures, ceiling in ((1, 2.0), (2, 4.0), (3, 8.0), (20, 300.0)):
        delay = backoff_seconds(failures, 2.0, 300.0)
        assert ceiling / 2 <= delay <= ceiling


def test_aioimaplib_strips_the_response_name_of_search_and_list_lines() -> None:
    assert search_uids([b"1 2 17", b"Search completed (0.001 + 0.000 secs)."]) == [1, 2, 17]
    assert junk_folder([b'(\\HasNoChildren \\Junk) "." Junk', b"List completed"]) == "Junk"
