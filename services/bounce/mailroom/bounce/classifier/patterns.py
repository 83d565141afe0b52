"""Regular expressions compiled on first use.

The classifier holds about a hundred patterns, and compiling them all costs
more than classifying a batch of bounces: a short-lived `mailroom bounce
classify` run would spend most of its time on patterns for formats (HTML
notices, SES JSON, list managers, session transcripts) that its files never
need. A `LazyPattern` is declared like `re.compile(...)` and compiled the first
time it is used; an `AnyWording` splits an alternation into wordings, looks the
plain-text ones up as substrings and compiles the others one by one.

Most wordings are small finite languages such as `mailbox (?:is )?full`: they
are expanded into the few plain strings they match (`literal_forms`) and never
compiled at all. Expanding one costs a small fraction of what `re.compile`
spends parsing it. A wording whose language is finite but too large to list,
such as `(?:user|mailbox|address) (?:is )?(?:unknown|not found|disabled)`, is
kept as a sequence of small choices (`literal_segments`) and looked up piece by
piece (`found_in_sequence`), again without compiling it. Wordings made of such
pieces with `.*` gaps between them or `\b` word boundaries at their edges, such
as `\bsender domain .* authenticat`, are found piece after piece on one line
(`literal_pieces`, `found_in_pieces`).

Patterns that would need `re.IGNORECASE` are written in lower case and searched
in `lowered(text)` instead: case-insensitive patterns cost half again as much to
compile and search more slowly.
"""

from __future__ import annotations

import re

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from typing import Any, Final


# Characters with a meaning in a regular expression: a pattern without them is plain text.
REGEX_SYNTAX: Final = frozenset("\\.^$*+?{}[]|()")

# A wording expanding to more strings than this is compiled instead: past a few
# dozen substring searches per text, one compiled search is cheaper.
MAX_LITERAL_FORMS: Final = 24


_INFINITE_OR_ANCHORED: Final = frozenset(".*+{^$")


class _NotFinite(Exception):
    """The pattern uses syntax outside what `literal_forms` expands."""


def literal_forms(pattern: str, limit: int = MAX_LITERAL_FORMS) -> tuple[str, ...] | None:
    """The plain strings `pattern` matches, when it is a small finite language; else None.

    Understood: literal characters, escaped punctuation (`\\|`), groups with
    alternatives (`(?:a|b)`), an optional `?` after a character, class or group, and
    character classes listing plain characters (`[sz]`). Anything else (`\\b`, `.`,
    `*`, `+`, `{n}`, anchors, look-arounds, ranges, lazy `??`) gives None, and so does
    a language of more than `limit` strings. For such a language,
    `re.search(pattern, text)` finds a match exactly when one of the strings is a
    substring of `text`.
    """
    if REGEX_SYNTAX.isdisjoint(pattern):
        return (pattern,)
    if _beyond_finite_syntax(pattern):
        return None  # the common reasons for None, found without parsing
    try:
        forms, end = _alternatives(pattern, 0, limit)
    except _NotFinite:
        return None
    if end != len(pattern):
        return None  # an unbalanced ")"
    return tuple(dict.fromkeys(forms))


def literal_segments(
    pattern: str, limit: int = MAX_LITERAL_FORMS
) -> tuple[tuple[str, ...], ...] | None:
    """`pattern` as consecutive choices of plain strings, when its language is finite; else None.

    The strings the pattern matches are exactly the concatenations of one form from
    each choice, in order, and no choice holds more than `limit` forms:
    `(?:user|mailbox) (?:is )?(?:unknown|not found)` gives `(("user is ", "user ",
    "mailbox is ", "mailbox "), ("unknown", "not found"))` with a limit of 4. Adjacent
    parts are joined into one choice while that stays within `limit`, so a small
    language is a single choice holding what `literal_forms` returns. The syntax
    understood is that of `literal_forms`, except that an alternation at the top
    level (`a|b`) gives None: `literal_forms` expands the small ones.
    """
    if _beyond_finite_syntax(pattern):
        return None
    try:
        segments, end = _segments(pattern, 0, limit)
    except _NotFinite:
        return None
    if end != len(pattern):
        return None  # a top-level alternation or an unbalanced ")"
    return tuple(tuple(dict.fromkeys(segment)) for segment in segments)


def _beyond_finite_syntax(pattern: str) -> bool:
    """Whether `pattern` visibly uses syntax that neither expansion understands.

    Escaped characters (`groups\\.google\\.com`) are literals: only the others count.
    """
    unescaped = pattern
    if "\\" in pattern:
        unescaped = pattern.replace("\\\\", "")
        for char in _INFINITE_OR_ANCHORED:
            unescaped = unescaped.replace("\\" + char, "")
    return (
        not _INFINITE_OR_ANCHORED.isdisjoint(unescaped)
        or "\\b" in unescaped
        or "(?" in unescaped.replace("(?:", "")
    )


def found_in_sequence(text: str, segments: tuple[tuple[str, ...], ...]) -> bool:
    """Whether `text` holds a concatenation of one form from each of `segments`, in order.

    The same answer as `re.search` gives for the pattern `literal_segments` split,
    found with substring searches: each occurrence of a form of the first choice is
    extended by the forms of the next choices that follow it directly.
    """
    if not segments:
        return True
    first, rest = segments[0], segments[1:]
    if "" in first:
        # every match of the rest alone is a match of the whole
        return found_in_sequence(text, rest)
    for form in first:
        start = text.find(form)
        while start >= 0:
            if _continues_at(text, start + len(form), rest):
                return True
            start = text.find(form, start + 1)
    return False


def _continues_at(text: str, at: int, segments: tuple[tuple[str, ...], ...]) -> bool:
    """Whether a concatenation of one form from each of `segments` starts at `at`."""
    if not segments:
        return True
    rest = segments[1:]
    return any(
        text.startswith(form, at) and _continues_at(text, at + len(form), rest)
        for form in segments[0]
    )


# A piece of a gapped wording: its plain forms, and whether a word boundary (`\b`)
# must stand before and after it.
Piece = tuple[tuple[str, ...], bool, bool]


def literal_pieces(pattern: str, limit: int = MAX_LITERAL_FORMS) -> tuple[Piece, ...] | None:
    r"""`pattern` as small finite pieces joined by `.*` gaps, each between optional `\b`s.

    `\bsender domain .* authenticat` gives `((("sender domain ",), True, False),
    ((" authenticat",), False, False))`. Each piece between the gaps must be a
    language `literal_forms` expands (the empty string excluded), with `\b` only
    at its two ends; a `.*` inside a group, or any other syntax, gives None (so
    does a pattern without gaps or boundaries). A gap matches anything but a
    line break, as `.` does without `re.DOTALL`.
    """
    if ".*" not in pattern and "\\b" not in pattern:
        return None  # nothing this adds to literal_forms and literal_segments
    parts = _top_level_gaps(pattern)
    if parts is None:
        return None
    pieces: list[Piece] = []
    for part in parts:
        bounded_start = part.startswith("\\b")
        if bounded_start:
            part = part[2:]
        bounded_end = part.endswith("\\b") and not part.endswith("\\\\b")
        if bounded_end:
            part = part[:-2]
        if not part:
            if bounded_start or bounded_end:
                return None
            continue  # a gap at either end, or two in a row: nothing to find
        forms = literal_forms(part, limit)
        if forms is None or "" in forms or any("\n" in form for form in forms):
            return None
        pieces.append((forms, bounded_start, bounded_end))
    return tuple(pieces) or None


def _top_level_gaps(pattern: str) -> list[str] | None:
    """`pattern` split at its `.*`s outside groups and classes; None for a `.*` inside one."""
    parts: list[str] = []
    depth = 0
    start = at = 0
    while at < len(pattern):
        char = pattern[at]
        if char == "\\":
            at += 2
            continue
        if char == "[":
            end = pattern.find("]", at + 2)
            if end < 0:
                return None
            at = end + 1
            continue
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "." and pattern.startswith(".*", at):
            if depth:
                return None
            parts.append(pattern[start:at])
            start = at = at + 2
            continue
        at += 1
    parts.append(pattern[start:])
    return parts


def found_in_pieces(text: str, pieces: tuple[Piece, ...]) -> bool:
    """Whether `text` holds `pieces` in order on one line, as `re.search` finds the pattern
    `literal_pieces` split: on each line the earliest-ending occurrence of a piece
    leaves the most room for the next one."""
    first, rest = pieces[0], pieces[1:]
    at = 0
    while True:
        end = _earliest_end(text, first, at, len(text))
        if end < 0:
            return False
        line_end = text.find("\n", end)
        if line_end < 0:
            line_end = len(text)
        for piece in rest:
            end = _earliest_end(text, piece, end, line_end)
            if end < 0:
                break
        else:
            return True
        at = line_end + 1


def _earliest_end(text: str, piece: Piece, start: int, stop: int) -> int:
    """Where the earliest-ending occurrence of `piece` within text[start:stop] ends, or -1."""
    forms, bounded_start, bounded_end = piece
    earliest = -1
    for form in forms:
        at = text.find(form, start, stop)
        while at >= 0:
            end = at + len(form)
            if (not bounded_start or _word_boundary(text, at)) and (
                not bounded_end or _word_boundary(text, end)
            ):
                if earliest < 0 or end < earliest:
                    earliest = end
                break
            at = text.find(form, at + 1, stop)
    return earliest


def _word_boundary(text: str, at: int) -> bool:
    r"""Whether `\b` matches at `at`: a word character on one side only (`\w` is
    a Unicode letter, digit or "_" for str patterns)."""
    before = at > 0 and (text[at - 1].isalnum() or text[at - 1] == "_")
    after = at < len(text) and (text[at].isalnum() or text[at] == "_")
    return before != after


def _alternatives(pattern: str, at: int, limit: int) -> tuple[list[str], int]:
    """`seq ("|" seq)*` from `at` up to a ")" or the end: the forms, and where it stopped."""
    forms: list[str] = []
    while True:
        sequence, at = _sequence(pattern, at, limit)
        forms.extend(sequence)
        if len(forms) > limit:
            raise _NotFinite
        if at < len(pattern) and pattern[at] == "|":
            at += 1
            continue
        return forms, at


def _sequence(pattern: str, at: int, limit: int) -> tuple[list[str], int]:
    """A sequence up to "|", ")" or the end, expanded into at most `limit` forms."""
    segments, at = _segments(pattern, at, limit)
    if len(segments) > 1:
        raise _NotFinite
    return segments[0], at


def _segments(pattern: str, at: int, limit: int) -> tuple[list[list[str]], int]:
    """A sequence up to "|", ")" or the end as consecutive choices of at most `limit` forms.

    A part is appended to the current choice while the product stays within
    `limit`, and starts the next choice otherwise.
    """
    segments: list[list[str]] = []
    forms = [""]
    while at < len(pattern) and pattern[at] not in "|)":
        if pattern[at] not in REGEX_SYNTAX:
            # A run of plain characters is appended whole (all but its last
            # character when a quantifier follows: that one is an atom of its own).
            end = at + 1
            while end < len(pattern) and pattern[end] not in REGEX_SYNTAX:
                end += 1
            if end < len(pattern) and pattern[end] in "?*+{":
                end -= 1
            if end > at:
                run = pattern[at:end]
                forms = [form + run for form in forms]
                at = end
                continue
        choices, at = _atom(pattern, at, limit)
        if at < len(pattern) and pattern[at] == "?":
            at += 1
            if at < len(pattern) and pattern[at] in "?+":
                raise _NotFinite  # lazy or possessive: not worth expanding
            choices = [*choices, ""]
        if at < len(pattern) and pattern[at] in "*+{":
            raise _NotFinite
        if len(choices) > limit:
            raise _NotFinite
        if len(forms) * len(choices) > limit:
            segments.append(forms)
            forms = choices
        else:
            forms = [form + choice for form in forms for choice in choices]
    segments.append(forms)
    return segments, at


def _atom(pattern: str, at: int, limit: int) -> tuple[list[str], int]:
    char = pattern[at]
    if char == "(":
        if pattern.startswith("(?:", at):
            at += 3
        elif pattern.startswith("(?", at):
            raise _NotFinite  # look-around, named group, inline flags
        else:
            at += 1
        forms, at = _alternatives(pattern, at, limit)
        if at >= len(pattern) or pattern[at] != ")":
            raise _NotFinite
        return forms, at + 1
    if char == "[":
        end = pattern.find("]", at + 2)  # a "]" right after "[" would be literal
        members = pattern[at + 1 : end] if end > 0 else ""
        if not members or members[0] == "^" or "\\" in members or "[" in members:
            raise _NotFinite
        if "-" in members.strip("-"):
            raise _NotFinite  # a range
        return list(dict.fromkeys(members)), end + 1
    if char == "\\":
        if at + 1 >= len(pattern) or pattern[at + 1].isalnum():
            raise _NotFinite  # \b, \d, \s, back-references
        return [pattern[at + 1]], at + 2
    if char in ".^$*+?{}":
        raise _NotFinite
    return [char], at + 1


def lowered(text: str) -> str:
    """`text.lower()` with every character still at its offset, so match positions carry over.

    "İ" (U+0130) is the one character whose lower case is two characters long; it becomes "i".
    """
    result = text.lower()
    if len(result) != len(text):
        result = text.replace("\u0130", "i").lower()
    return result


class LazyPattern:
    """`re.compile(source, flags)`, deferred until the first search."""

    __slots__ = ("_compiled", "flags", "source")

    def __init__(self, source: str, flags: int = 0) -> None:
        self.source = source
        self.flags = flags
        self._compiled: re.Pattern[str] | None = None

    @property
    def compiled(self) -> re.Pattern[str]:
        """The compiled pattern (compiled now if this is its first use)."""
        compiled = self._compiled
        if compiled is None:
            compiled = self._compiled = re.compile(self.source, self.flags)
        return compiled

    def search(self, text: str, pos: int = 0) -> re.Match[str] | None:
        """As `re.Pattern.search`."""
        return self.compiled.search(text, pos)

    def match(self, text: str, pos: int = 0) -> re.Match[str] | None:
        """As `re.Pattern.match`."""
        return self.compiled.match(text, pos)

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        """As `re.Pattern.finditer`."""
        return self.compiled.finditer(text)

    def split(self, text: str) -> list[str | Any]:
        """As `re.Pattern.split`."""
        return self.compiled.split(text)

    def sub(
        self, replacement: str | Callable[[re.Match[str]], str], text: str, count: int = 0
    ) -> str:
        """As `re.Pattern.sub`."""
        return self.compiled.sub(replacement, text, count)


class Phrase:
    """A wording found in a text as `re.search(pattern, text)` would find it, the cheapest
    way its syntax allows: as plain strings (`literal_forms`), as consecutive choices of
    plain strings (`literal_segments`), as pieces with gaps or word boundaries
    (`literal_pieces`), or compiled. Decided on first use."""

    __slots__ = ("_found_in", "pattern")

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self._found_in: Callable[[str], bool] | None = None

    def found_in(self, text: str) -> bool:
        """Whether the wording occurs in `text`."""
        found_in = self._found_in
        if found_in is None:
            found_in = self._found_in = _finder(self.pattern)
        return found_in(text)


def _finder(pattern: str) -> Callable[[str], bool]:
    forms = literal_forms(pattern)
    if forms is not None:
        return lambda text: any(form in text for form in forms)
    segments = literal_segments(pattern)
    if segments is not None:
        return lambda text: found_in_sequence(text, segments)
    pieces = literal_pieces(pattern)
    if pieces is not None:
        return lambda text: found_in_pieces(text, pieces)
    compiled = re.compile(pattern)
    return lambda text: compiled.search(text) is not None


class AnyWording:
    """Whether a text holds any of several wordings, as one alternation `a|b|c` would find.

    Wordings with a few plain forms (`literal_forms`) are looked up as substrings
    first; the others are `Phrase`s, tried only when no plain form was found. Both
    are prepared on the first search: many of these are declared at import and
    never searched in a short run.
    """

    __slots__ = ("_phrases", "_plain", "wordings")

    def __init__(self, *wordings: str) -> None:
        self.wordings = wordings
        self._plain: tuple[str, ...] | None = None
        self._phrases: list[Phrase] = []

    @property
    def plain(self) -> tuple[str, ...]:
        """The plain strings of the wordings that are small finite languages."""
        plain = self._plain
        if plain is None:
            forms: list[str] = []
            for word in self.wordings:
                expanded = literal_forms(word)
                if expanded is None:
                    self._phrases.append(Phrase(word))
                else:
                    forms.extend(expanded)
            plain = self._plain = tuple(forms)
        return plain

    @property
    def pattern(self) -> str:
        """The wordings as one regular expression."""
        return "|".join(self.wordings)

    def found_in(self, text: str) -> bool:
        """Whether any wording occurs in `text`."""
        for word in self.plain:
            if word in text:
                return True
        return any(phrase.found_in(text) for phrase in self._phrases)
