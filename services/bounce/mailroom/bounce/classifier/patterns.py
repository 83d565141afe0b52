"""Regular expressions compiled on first use.

The classifier holds about a hundred patterns, and compiling them all costs
more than classifying a batch of bounces: a short-lived `mailroom bounce
classify` run would spend most of its time on patterns for formats (HTML
notices, SES JSON, list managers, session transcripts) that its files never
need. A `LazyPattern` is declared like `re.compile(...)` and compiled the first
time it is used; an `AnyWording` splits an alternation into wordings, looks the
plain-text ones up as substrings and compiles the others one by one.

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


class AnyWording:
    """Whether a text holds any of several wordings, as one alternation `a|b|c` would find.

    Plain-text wordings are looked up as substrings; the others are compiled one
    by one, only when no plain wording was found.
    """

    __slots__ = ("_patterns", "plain", "wordings")

    def __init__(self, *wordings: str) -> None:
        self.wordings = wordings
        self.plain = tuple(word for word in wordings if REGEX_SYNTAX.isdisjoint(word))
        self._patterns = [LazyPattern(word) for word in wordings if word not in self.plain]

    @property
    def pattern(self) -> str:
        """The wordings as one regular expression."""
        return "|".join(self.wordings)

    def found_in(self, text: str) -> bool:
        """Whether any wording occurs in `text`."""
        for word in self.plain:
            if word in text:
                return True
        return any(pattern.search(text) is not None for pattern in self._patterns)
