"""`literal_forms`: a wording expanded into plain strings finds exactly what the regex finds.

The classifier looks most of its wordings up as plain substrings instead of
compiling them. That is only right if the expansion is exactly the wording's
language: every form must match the pattern, and no string the pattern matches
may be missing. These tests check both against the running Python's own regular
expression parser, for every wording the classifier holds.
"""

from __future__ import annotations

import importlib
import itertools
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailroom.bounce.classifier import autoreply, classify, reasons, vendors
from mailroom.bounce.classifier.patterns import (
    MAX_LITERAL_FORMS,
    AnyWording,
    found_in_pieces,
    found_in_sequence,
    literal_forms,
    literal_pieces,
    literal_segments,
)
from mailroom.bounce.classifier.reasons import TEXT_RULES

_parser: Any = importlib.import_module("re._parser")
_c: Any = importlib.import_module("re._constants")


def _language(items: Any) -> set[str] | None:
    """Every string a parsed pattern matches, when that is finite and small; else None."""
    strings = {""}
    for op, av in items:
        if op is _c.LITERAL:
            choices = {chr(av)}
        elif op is _c.SUBPATTERN:
            found = _language(av[3])
            if found is None:
                return None
            choices = found
        elif op is _c.BRANCH:
            choices = set()
            for branch in av[1]:
                found = _language(branch)
                if found is None:
                    return None
                choices |= found
        elif op is _c.IN and all(member_op is _c.LITERAL for member_op, _ in av):
            choices = {chr(value) for _, value in av}
        elif op is _c.MAX_REPEAT and av[0] == 0 and av[1] == 1:
            found = _language(av[2])
            if found is None:
                return None
            choices = found | {""}
        else:
            return None
        strings = {start + choice for start in strings for choice in choices}
        if len(strings) > 10_000:
            return None
    return strings


def _wordings() -> list[str]:
    found = [wording.pattern for rule in TEXT_RULES for wording in rule.wordings]
    for module in (autoreply, classify, reasons, vendors):
        for value in vars(module).values():
            if isinstance(value, AnyWording):
                found.extend(value.wordings)
    return sorted(set(found))


WORDINGS = _wordings()


@pytest.mark.parametrize("pattern", WORDINGS)
def test_forms_are_exactly_the_language_of_the_wording(pattern: str) -> None:
    forms = literal_forms(pattern)
    if forms is None:
        return  # compiled instead: nothing to compare
    assert set(forms) == _language(_parser.parse(pattern))
    assert all(re.fullmatch(pattern, form) for form in forms)


def test_most_wordings_need_no_compiling() -> None:
    expanded = [pattern for pattern in WORDINGS if literal_forms(pattern) is not None]

    assert len(expanded) > 0.8 * len(WORDINGS)


@pytest.mark.parametrize(
    ("pattern", "forms"),
    [
        ("mailbox (?:is )?full", {"mailbox full", "mailbox is full"}),
        ("unauthori[sz]ed", {"unauthorised", "unauthorized"}),
        ("not (?:rfc[- ]?)?compliant",
         {"not compliant", "not rfc compliant", "not rfc-compliant", "not rfccompliant"}),
        (r"pipe to \|", {"pipe to |"}),
        ("time(?:d)? ?out", {"timeout", "timedout", "time out", "timed out"}),
        ("a|b(?:c|)", {"a", "bc", "b"}),
        (r"groups\.google\.com", {"groups.google.com"}),
        (r"1\+1 \$5 \^", {"1+1 $5 ^"}),
    ],
)  # fmt: skip
def test_expansions(pattern: str, forms: set[str]) -> None:
    assert set(literal_forms(pattern) or ()) == forms


@pytest.mark.parametrize(
    "pattern",
    [r"\bspf\b", "domain .* does not", r"exit code \d", "rfc ?822(?! ?;)", "^550", "x+",
     "a{2}", "[a-z]x", "[^@]x", "(?i)x", "a??b", "(?:a", "a)", "colou?r?+", r"x\.*", r"\\.x"],
)  # fmt: skip
def test_what_is_not_a_small_finite_language_is_left_to_the_regex_engine(pattern: str) -> None:
    assert literal_forms(pattern) is None


def test_languages_larger_than_the_limit_are_compiled_instead() -> None:
    pattern = "(?:a|b|c)(?:d|e|f)(?:g|h|i)"

    assert literal_forms(pattern, limit=26) is None
    assert len(literal_forms(pattern, limit=27) or ()) == 27


_FINITE = [pattern for pattern in WORDINGS if literal_forms(pattern) is not None]
_PIECES = sorted(
    {
        piece
        for pattern in _FINITE
        for form in literal_forms(pattern) or ()
        for piece in form.split()
    }
)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(_FINITE), st.lists(st.sampled_from(_PIECES), max_size=8))
def test_substring_search_agrees_with_the_regex(pattern: str, words: list[str]) -> None:
    text = " ".join(words)
    forms = literal_forms(pattern) or ()

    assert any(form in text for form in forms) == (re.search(pattern, text) is not None)


def test_every_form_of_a_wording_is_found_by_its_rule() -> None:
    for rule in TEXT_RULES:
        for wording in rule.wordings:
            for form in itertools.islice(literal_forms(wording.pattern) or (), 5):
                assert rule.matches(f"x {form} y"), (rule.reason, form)


# Wordings too large to list as forms but finite: split into choices and matched piece by piece.
_SEGMENTED = [
    pattern
    for pattern in WORDINGS
    if literal_forms(pattern) is None and literal_segments(pattern) is not None
]


def test_the_large_finite_wordings_are_split_instead_of_compiled() -> None:
    assert len(_SEGMENTED) >= 5


@pytest.mark.parametrize("pattern", _SEGMENTED)
def test_segments_spell_exactly_the_language_of_the_wording(pattern: str) -> None:
    segments = literal_segments(pattern) or ()
    spelled = {"".join(parts) for parts in itertools.product(*segments)}

    assert all(0 < len(choice) <= MAX_LITERAL_FORMS for choice in segments)
    assert spelled == _language(_parser.parse(pattern))


@pytest.mark.parametrize(
    ("pattern", "segments"),
    [
        ("mailbox (?:is )?full", (("mailbox is full", "mailbox full"),)),
        ("(?:a|b)(?:c|d)(?:e|f)", (("ac", "ad", "bc", "bd"), ("e", "f"))),
        ("(?:a|b)?(?:c|d|e)x", (("a", "b", ""), ("cx", "dx", "ex"))),
        ("(?:a|b)(?:c|d)?[xyz]", (("ac", "ad", "a", "bc", "bd", "b"), ("x", "y", "z"))),
    ],
)  # fmt: skip
def test_parts_are_joined_while_the_product_stays_within_the_limit(
    pattern: str, segments: tuple[tuple[str, ...], ...]
) -> None:
    assert literal_segments(pattern, limit=6) == segments


@pytest.mark.parametrize(
    "pattern", [r"\bspf\b", "domain .* does not", "a|b", "(?:a|b)c|d", "(?:a", "a)", "x+"]
)
def test_what_cannot_be_split_is_left_to_the_regex_engine(pattern: str) -> None:
    assert literal_segments(pattern) is None


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("the user is unknown here", True),
        ("mailbox not found", True),
        ("user is here, unknown", False),  # both parts occur, but not next to each other
        ("user user is unknown", True),  # the second occurrence of "user" is the one that continues
        ("unknown", False),
        ("", False),
    ],
)
def test_sequence_search(text: str, found: bool) -> None:
    segments = literal_segments("(?:user|mailbox) (?:is )?(?:unknown|not found)", limit=4)

    assert segments == (("user is ", "user ", "mailbox is ", "mailbox "), ("unknown", "not found"))
    assert found_in_sequence(text, segments) is found


def test_an_optional_first_choice_may_be_absent_from_the_text() -> None:
    segments = literal_segments("(?:a|b)?(?:c|d|e)x", limit=6) or ()

    assert found_in_sequence("-- dx --", segments)
    assert found_in_sequence("-- bdx --", segments)
    assert not found_in_sequence("-- bd x --", segments)


_SEGMENT_PIECES = sorted(
    {
        piece
        for pattern in _SEGMENTED
        for choice in literal_segments(pattern) or ()
        for form in choice
        for piece in form.split()
    }
)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(_SEGMENTED),
    st.lists(st.sampled_from(_SEGMENT_PIECES), max_size=10),
    st.sampled_from([" ", ""]),
)
def test_sequence_search_agrees_with_the_regex(pattern: str, words: list[str], glue: str) -> None:
    text = glue.join(words)
    segments = literal_segments(pattern) or ()

    assert found_in_sequence(text, segments) == (re.search(pattern, text) is not None)


# Wordings with `.*` gaps or `\b` word boundaries: found piece after piece.
_GAPPED = [
    pattern
    for pattern in WORDINGS
    if literal_forms(pattern) is None
    and literal_segments(pattern) is None
    and literal_pieces(pattern) is not None
]


def test_gapped_and_bounded_wordings_are_found_without_compiling() -> None:
    compiled = [
        pattern
        for pattern in WORDINGS
        if literal_forms(pattern) is None
        and literal_segments(pattern) is None
        and literal_pieces(pattern) is None
    ]

    assert len(_GAPPED) >= 15
    assert len(compiled) < len(_GAPPED)


@pytest.mark.parametrize(
    ("pattern", "pieces"),
    [
        (r"\bsender domain .* authenticat",
         ((("sender domain ",), True, False), ((" authenticat",), False, False))),
        (r"\bspf\b", ((("spf",), True, True),)),
        (r"permission denied.*\|",
         ((("permission denied",), False, False), (("|",), False, False))),
        (r"(?:ip|host) .*(?:refused|denied)",
         ((("ip ", "host "), False, False), (("refused", "denied"), False, False))),
        (r".*x.*", ((("x",), False, False),)),
    ],
)  # fmt: skip
def test_pieces(pattern: str, pieces: tuple[object, ...]) -> None:
    assert literal_pieces(pattern) == pieces


@pytest.mark.parametrize(
    "pattern",
    [r"exit code \d", r"\bspam(?!haus|cop)", "a(?:b.*c)", r"a\bb", r"\b(?:x)?", r"\b.*x",
     "x+.*y", "^x.*y", "mailbox (?:is )?full", "(?:a|b)(?:c|d)"],
)  # fmt: skip
def test_what_pieces_cannot_spell_is_left_to_the_others_or_the_regex_engine(pattern: str) -> None:
    assert literal_pieces(pattern) is None


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("the sender domain example.test failed to authenticate", True),
        ("sender domain  authenticat", True),  # the gap holds one space here
        ("our sender domain\nwas not authenticated", False),  # a gap never crosses a line
        ("first line\nsender domain x authenticat", True),  # found on a later line
        ("mysender domain x authenticat", False),  # no word boundary before "sender"
        ("_sender domain x authenticat", False),  # "_" is a word character
        ("-sender domain x authenticat", True),
        ("authenticat sender domain ", False),  # in the wrong order
        ("", False),
    ],
)
def test_piece_search(text: str, found: bool) -> None:
    pieces = literal_pieces(r"\bsender domain .* authenticat") or ()

    assert found_in_pieces(text, pieces) is found
    assert (re.search(r"\bsender domain .* authenticat", text) is not None) is found


def test_a_later_occurrence_of_a_bounded_piece_is_found_past_an_unbounded_one() -> None:
    pieces = literal_pieces(r"\bspf\b") or ()

    assert found_in_pieces("spfx, then spf", pieces)
    assert not found_in_pieces("spfx, xspf, spf_", pieces)
    assert found_in_pieces("é spf é", pieces)


_GAPPED_PIECES = sorted(
    {
        piece
        for pattern in _GAPPED
        for forms, _, _ in literal_pieces(pattern) or ()
        for form in forms
        for piece in [form, *form.split()]
    }
)


# What stands between the pieces: spaces, line breaks, and word and non-word characters.
_GAP_FILLERS = [" ", "\n", "x", "_", "-", "é"]


@settings(max_examples=500, deadline=None)
@given(
    st.sampled_from(_GAPPED),
    st.lists(
        st.one_of(st.sampled_from(_GAPPED_PIECES), st.sampled_from(_GAP_FILLERS)),
        max_size=12,
    ),
)
def test_piece_search_agrees_with_the_regex(pattern: str, chunks: list[str]) -> None:
    text = "".join(chunks)
    pieces = literal_pieces(pattern) or ()

    assert found_in_pieces(text, pieces) == (re.search(pattern, text) is not None)
