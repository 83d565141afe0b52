"""Header blocks split the same way however the reader walks the lines."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mailroom.bounce.classifier.mime import _split_headers


def _split_line_by_line(text: str) -> tuple[list[tuple[str, str]], str]:
    """The plain reading: one line at a time up to the first blank or non-field line."""
    fields: list[tuple[str, str]] = []
    position = 0
    length = len(text)
    while position < length:
        end = text.find("\n", position)
        if end < 0:
            end = length
        line = text[position:end]
        if not line.strip():
            position = end + 1
            break
        if line[0] in " \t":
            if fields:
                name, value = fields[-1]
                fields[-1] = (name, f"{value} {line.strip()}" if value else line.strip())
            position = end + 1
            continue
        name, sep, value = line.partition(":")
        if not sep or not name or " " in name.rstrip() or len(name) > 76:
            if not fields and line.startswith("From "):
                position = end + 1
                continue
            break
        fields.append((name.rstrip(), value.strip()))
        position = end + 1
    return fields, text[position:]


_PIECES = st.sampled_from(
    ["Subject: x", "To:a@b", "From ", "X-A:", " folded", "\tfold", "\n", "\n\n", " ", "\r",
     "no colon", "Bad Name: v", "body", ":", "a" * 80 + ":", "\n \n", "é"]
)  # fmt: skip


@settings(max_examples=500, deadline=None)
@given(st.lists(_PIECES, max_size=20))
def test_split_matches_the_line_by_line_reading(pieces: list[str]) -> None:
    text = "".join(pieces)
    headers, body = _split_headers(text)

    assert (headers.fields, body) == _split_line_by_line(text)


def test_mbox_line_folded_fields_and_body() -> None:
    text = "From someone\nSubject: a\n  b\nTo: c\n\nbody\n\nmore"
    headers, body = _split_headers(text)

    assert headers.fields == [("Subject", "a b"), ("To", "c")]
    assert body == "body\n\nmore"
    assert (headers.fields, body) == _split_line_by_line(text)
