"""RFC 2047 encoded words in headers are read as the standard library reads them.

The classifier decodes encoded words itself (importing the `email` package costs
more than classifying a batch of files); these tests hold it to the result of
`email.header.decode_header` on hand-picked, generated and dev-set headers.
"""

from __future__ import annotations

from email.header import decode_header
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailroom.bounce.classifier.mime import Headers, _decode_bytes, header_text, read_message

DEVSET = Path(__file__).resolve().parents[3].parent / "shared" / "bounce-devset"


def _as_the_stdlib_reads_it(value: str) -> str:
    """What `header_text` returned when it used `email.header.decode_header`."""
    headers = Headers([("Subject", value)])
    raw = headers.get("Subject") or ""
    if not raw.isascii():
        raw = _decode_bytes(raw.encode("latin-1", "replace"), "utf-8")
    if "=?" not in raw:
        return raw
    try:
        pieces = decode_header(raw)
    except Exception:
        return raw
    return "".join(
        _decode_bytes(chunk, charset or "latin-1") if isinstance(chunk, bytes) else chunk
        for chunk, charset in pieces
    )


def _read(value: str) -> str:
    return header_text(Headers([("Subject", value)]), "Subject")


def test_common_encoded_subjects() -> None:
    cases = [
        "=?UTF-8?B?VW5kZWxpdmVyYWJsZTog44OG44K544OI?=",
        "=?iso-8859-1?Q?=C9chec_de_la_remise?=",
        "=?ISO-2022-JP?B?GyRCJVElOSVvITwlSRsoQg==?= =?ISO-2022-JP?B?GyRCJVElOSVvGyhC?=",
        "Re: =?utf-8?q?caf=C3=A9?= and more",
        "=?utf-8?b?dGVzdA?=",  # missing padding
        "=?utf-8?b?d?=",  # broken base64: kept as it is
        "=?utf-8?q?a?=\n =?utf-8?q?b?=",
        "plain =?unknown-charset?q?x?= text",
        "=?utf-8?Q??= empty",
    ]
    for value in cases:
        assert _read(value) == _as_the_stdlib_reads_it(value), value


_FRAGMENTS = st.sampled_from(
    [
        "=?",
        "?=",
        "?",
        "utf-8",
        "ISO-8859-1",
        "iso-2022-jp",
        "?B?",
        "?q?",
        "?Q?",
        "VW5k",
        "ZWxp",
        "dA",
        "=41",
        "=c3=a9",
        "=Z1",
        "_",
        " ",
        "  ",
        "\n ",
        "\t",
        "Subject",
        "é",
        "配信",
        "==",
    ]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_FRAGMENTS, max_size=16))
def test_generated_headers_decode_like_the_standard_library(fragments: list[str]) -> None:
    value = "".join(fragments)

    assert _read(value) == _as_the_stdlib_reads_it(value)


def test_dev_set_headers_decode_like_the_standard_library() -> None:
    messages = sorted((DEVSET / "maildir").glob("*/*.eml")) if DEVSET.is_dir() else []
    if not messages:
        pytest.skip(f"bounce dev set not found at {DEVSET}")
    for path in messages:
        read = read_message(path.read_bytes())
        headers = [read.headers] + ([read.original] if read.original is not None else [])
        for block in headers:
            for name, value in block.fields:
                if "=?" in value:
                    assert _read(value) == _as_the_stdlib_reads_it(value), (path.name, name)
