"""Read a raw message into the pieces the classifier needs, defensively and with bounded work.

A bounce needs far less than a general MIME parser offers: header fields, the
decoded text parts, the delivery-status blocks and the headers of the returned
original. This reader splits the message itself (headers, boundaries, transfer
encodings) because the stdlib `email` package costs more to import than a whole
batch of bounces takes to classify. Every step falls back instead of failing.
"""

from __future__ import annotations

import binascii
import re

from mailroom.bounce.classifier.patterns import LazyPattern

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Final

MAX_PARSE_BYTES: Final = 2 * 1024 * 1024
MAX_PARTS: Final = 64
MAX_DEPTH: Final = 8
MAX_TEXT_CHARS: Final = 200_000

_TAGS: Final = LazyPattern(r"<(?:style|script)[^>]*>.*?</(?:style|script)>|<[^>]+>", re.S | re.I)
_ENTITIES: Final = {"&nbsp;": " ", "&lt;": "<", "&gt;": ">", "&amp;": "&", "&quot;": '"'}
_ENTITY_RE: Final = LazyPattern(r"&(?:nbsp|lt|gt|amp|quot);")
_BR: Final = LazyPattern(r"<\s*(?:br|/p|/div|/tr|/li|/h\d)\b[^>]*>", re.I)
_PARAM: Final = LazyPattern(
    r';\s*([A-Za-z0-9*_.-]+)\s*=\s*(?:"([^"\\]*(?:\\.[^"\\]*)*)"?|([^;\s]*))'
)
_BASE64_ALPHABET: Final = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_NOT_BASE64: Final = bytes(byte for byte in range(256) if byte not in _BASE64_ALPHABET)
_ENCODED_WORD: Final = LazyPattern(r"=\?([^?]*?)\?([qQbB])\?(.*?)\?=")
_QP_ESCAPE: Final = LazyPattern(r"=[a-fA-F0-9]{2}")
_ADDRESS: Final = LazyPattern(r"[^\s<>()\[\],;:\"']+@[A-Za-z0-9][A-Za-z0-9.-]*[A-Za-z0-9]")


class Headers:
    """The header fields of a message or part: unfolded, in order, looked up case-insensitively.

    Values are kept as read (8-bit bytes as Latin-1 characters); `header_text`
    decodes them for display and matching.
    """

    __slots__ = ("_first", "fields")

    def __init__(self, fields: list[tuple[str, str]]) -> None:
        self.fields = fields
        self._first: dict[str, str] | None = None

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first value of the field `name`, or `default`."""
        first = self._first
        if first is None:
            # built on the first lookup: the classifier asks each header block many times
            first = {}
            for key, value in self.fields:
                first.setdefault(key.lower(), value)
            self._first = first
        return first.get(name.lower(), default)

    def get_all(self, name: str) -> list[str]:
        """Every value of the field `name`, in order."""
        wanted = name.lower()
        return [value for key, value in self.fields if key.lower() == wanted]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def content_type(self) -> str:
        """The lower-cased media type, `text/plain` when absent or malformed."""
        value = (self.get("Content-Type") or "").split(";", 1)[0].strip().lower()
        return value if value.count("/") == 1 else "text/plain"

    def param(self, name: str, field: str = "Content-Type") -> str | None:
        """A parameter of a structured field (`boundary`, `charset`, `report-type`)."""
        value = self.get(field)
        if not value or ";" not in value:
            return None
        wanted = name.lower()
        if wanted not in value.lower():
            return None
        for match in _PARAM.finditer(value):
            if match.group(1).lower() == wanted:
                found = match.group(2) if match.group(2) is not None else match.group(3)
                return found.replace('\\"', '"') if found is not None else None
        return None


class ReadMessage:
    """The parts of a message that matter for classification."""

    __slots__ = (
        "dsn_blocks",
        "feedback_fields",
        "headers",
        "html_texts",
        "original",
        "problem",
        "texts",
    )

    def __init__(self, headers: Headers, problem: str | None = None) -> None:
        self.headers = headers
        self.texts: list[str] = []
        self.html_texts: list[str] = []
        self.dsn_blocks: list[list[tuple[str, str]]] = []
        self.feedback_fields: list[tuple[str, str]] | None = None
        self.original: Headers | None = None
        self.problem = problem


def addresses(values: list[str]) -> list[str]:
    """The e-mail addresses found in header values, lower-cased, in order."""
    return [
        match.group(0).strip(".").lower() for value in values for match in _ADDRESS.finditer(value)
    ]


def html_to_text(html: str) -> str:
    """Visible text of an HTML part, good enough for pattern matching."""
    text = _BR.sub("\n", html)
    text = _TAGS.sub(" ", text)
    return _ENTITY_RE.sub(lambda m: _ENTITIES[m.group(0)], text)


def header_text(headers: Headers, name: str) -> str:
    """A header as plain text, 8-bit and RFC 2047 encoded words decoded; empty when absent."""
    value = headers.get(name)
    if not value:
        return ""
    if not value.isascii():
        value = _decode_bytes(value.encode("latin-1", "replace"), "utf-8")
    if "=?" not in value or _ENCODED_WORD.search(value) is None:
        return value
    try:
        pieces = _encoded_word_pieces(value)
    except (binascii.Error, ValueError):  # broken base64 in an encoded word: keep the raw text
        return value
    return "".join(_decode_bytes(chunk, charset or "latin-1") for chunk, charset in pieces)


def _encoded_word_pieces(value: str) -> list[tuple[bytes, str | None]]:
    """RFC 2047 encoded words as (bytes, charset) runs, read as `email.header.decode_header` does.

    Written out because importing the `email` package costs more than a batch of
    bounces takes to classify. Whitespace between two encoded words is dropped,
    adjacent runs in one charset are joined, and text outside encoded words
    keeps charset None.
    """
    words: list[tuple[str, str | None, str | None]] = []  # (text, encoding, charset)
    for line in value.splitlines():
        parts = _ENCODED_WORD.split(line)
        plain = parts[0].lstrip()
        if plain:
            words.append((plain, None, None))
        for index in range(1, len(parts), 4):
            charset, encoding, encoded, plain = parts[index : index + 4]
            words.append((encoded, encoding.lower(), charset.lower()))
            if plain:
                words.append((plain, None, None))
    between = {
        index - 1
        for index in range(2, len(words))
        if words[index][1] and words[index - 2][1] and words[index - 1][0].isspace()
    }
    words = [word for index, word in enumerate(words) if index not in between]

    pieces: list[tuple[bytes, str | None]] = []
    for text, encoding, charset in words:
        if encoding == "q":
            text = _QP_ESCAPE.sub(lambda m: chr(int(m.group(0)[1:], 16)), text.replace("_", " "))
            data = text.encode("raw-unicode-escape")
        elif encoding == "b":
            text += "==="[: (4 - len(text) % 4) % 4]
            data = binascii.a2b_base64(text.encode("raw-unicode-escape"))
        else:
            data = text.encode("raw-unicode-escape")
        if not pieces or pieces[-1][1] != charset:
            pieces.append((data, charset))
        else:
            joiner = b" " if charset is None else b""
            pieces[-1] = (pieces[-1][0] + joiner + data, charset)
    return pieces


def _decode_bytes(data: bytes, charset: str) -> str:
    """Bytes in the declared charset; a wrong label (UTF-8 sent as ISO-2022-JP) is tolerated."""
    try:
        text = data.decode(charset, "replace")
    except (LookupError, ValueError):
        return data.decode("utf-8", "replace")
    if "\ufffd" in text and charset.lower() not in ("utf-8", "utf8"):
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            pass
    return text


def _header_blocks(text: str) -> list[list[tuple[str, str]]]:
    """Split `Name: value` lines (with folded continuations) into blank-line separated blocks."""
    blocks: list[list[tuple[str, str]]] = []
    current: list[tuple[str, str]] = []
    for line in text.splitlines():
        if not line.strip():
            if current:
                blocks.append(current)
                current = []
            continue
        if line[0] in " \t" and current:
            name, value = current[-1]
            current[-1] = (name, value + " " + line.strip())
            continue
        name, sep, value = line.partition(":")
        if sep and name and " " not in name.strip():
            current.append((name.strip().lower(), value.strip()))
    if current:
        blocks.append(current)
    return blocks


def _split_headers(text: str) -> tuple[Headers, str]:
    """Header fields up to the first blank line (or the first line that is not a field)."""
    fields: list[tuple[str, str]] = []
    # The block ends at the first empty line at the latest, so only the text before
    # it is split into lines (all of it, at most MAX_PARSE_BYTES, when there is none).
    blank = text.find("\n\n")
    position = 0  # where the line being read starts
    for line in (text if blank < 0 else text[:blank]).split("\n"):
        if not line or line.isspace():
            position += len(line) + 1
            break
        if line[0] in " \t":
            if fields:
                name, value = fields[-1]
                fields[-1] = (name, f"{value} {line.strip()}" if value else line.strip())
            position += len(line) + 1
            continue
        name, sep, value = line.partition(":")
        if not sep or not name or " " in name.rstrip() or len(name) > 76:
            if not fields and line.startswith("From "):
                position += len(line) + 1  # an mbox "From " separator line
                continue
            break  # no blank line before the body: this line starts it
        fields.append((name.rstrip(), value.strip()))
        position += len(line) + 1
    else:
        if blank >= 0:
            position = blank + 2  # past the empty line
    return Headers(fields), text[position:]


def _transfer_decoded(headers: Headers, body: str) -> bytes:
    """The part's body bytes after its Content-Transfer-Encoding; raw bytes when broken."""
    encoding = (headers.get("Content-Transfer-Encoding") or "").strip().lower()
    raw = body.encode("latin-1", "replace")
    try:
        if encoding == "base64":
            # The "=" padding is removed with the line breaks and any junk, so the
            # last group is padded again; only a lone trailing character, which
            # holds no whole byte, is dropped.
            cleaned = raw.translate(None, _NOT_BASE64)
            extra = len(cleaned) % 4
            if extra == 1:
                cleaned = cleaned[:-1]
            elif extra:
                cleaned += b"=" * (4 - extra)
            return binascii.a2b_base64(cleaned)
        if encoding == "quoted-printable":
            return binascii.a2b_qp(raw)
    except (binascii.Error, ValueError):
        return raw
    return raw


def _part_text(headers: Headers, body: str) -> str:
    charset = (headers.param("charset") or "utf-8").strip().lower() or "utf-8"
    return _decode_bytes(_transfer_decoded(headers, body), charset)[:MAX_TEXT_CHARS]


def _subparts(body: str, boundary: str) -> list[str] | None:
    """The bodies between `--boundary` lines; None when the boundary never occurs."""
    delimiter = "--" + boundary
    start = body.find(delimiter)
    if start < 0:
        return None
    parts: list[str] = []
    chunks = ("\n" + body[start:]).split("\n" + delimiter)
    for chunk in chunks[1:]:
        if chunk.startswith("--"):
            break  # the closing delimiter
        newline = chunk.find("\n")
        parts.append(chunk[newline + 1 :] if newline >= 0 else "")
    return parts


def read_message(raw: bytes) -> ReadMessage:
    """Parse `raw` (capped at MAX_PARSE_BYTES) into texts, DSN blocks, feedback and original."""
    problem = None
    if len(raw) > MAX_PARSE_BYTES:
        raw = raw[:MAX_PARSE_BYTES]
        problem = f"message larger than {MAX_PARSE_BYTES} bytes: only the start was read"
    # Latin-1 maps every byte to one character, so the text can be turned back into
    # the original bytes for each part's own charset.
    text = raw.decode("latin-1")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    headers, body = _split_headers(text)
    read = ReadMessage(headers, problem)
    budget = [MAX_PARTS]
    _walk(headers, body, read, 0, budget)
    if budget[0] <= 0 and read.problem is None:
        read.problem = f"more than {MAX_PARTS} MIME parts: the rest were skipped"
    return read


def _walk(headers: Headers, body: str, read: ReadMessage, depth: int, budget: list[int]) -> None:
    if budget[0] <= 0 or depth > MAX_DEPTH:
        return
    budget[0] -= 1
    ctype = headers.content_type()
    if ctype in ("message/delivery-status", "message/global-delivery-status"):
        read.dsn_blocks.extend(_header_blocks(_part_text(headers, body)))
        return
    if ctype == "message/feedback-report":
        blocks = _header_blocks(_part_text(headers, body))
        read.feedback_fields = [item for block in blocks for item in block]
        return
    if ctype in (
        "message/rfc822",
        "message/global",
        "text/rfc822-headers",
        "message/global-headers",
    ):
        if read.original is None:
            inner = _part_text(headers, body) if ctype != "message/rfc822" else body
            read.original = _split_headers(inner.lstrip("\n"))[0]
        return
    if ctype == "message/rfc822-headers":
        if read.original is None:
            read.original = _split_headers(body.lstrip("\n"))[0]
        return
    if ctype.startswith("multipart/"):
        boundary = headers.param("boundary")
        parts = _subparts(body, boundary) if boundary else None
        if parts is None:
            # The declared boundary never occurs: the whole body is one block of text.
            read.texts.append(_part_text(headers, body))
            return
        for part in parts:
            part_headers, part_body = _split_headers(part)
            _walk(part_headers, part_body, read, depth + 1, budget)
        return
    if ctype.startswith("text/") or ctype == "message/partial":
        disposition = (headers.get("Content-Disposition") or "").lower()
        if "attachment" in disposition and read.texts:
            return
        text = _part_text(headers, body)
        if ctype == "text/html":
            read.html_texts.append(html_to_text(text))
        else:
            read.texts.append(text)
