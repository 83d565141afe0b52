"""The reason rules' keyword pre-filter never hides a match.

A rule's wording is searched only when the text holds one of the keywords that
occur in the wording. That is safe only if every string the wording can match
contains one of them; these tests prove it on the parsed pattern itself, so a
wording edited without its keywords fails here instead of silently losing matches.
"""

from __future__ import annotations

import importlib
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailroom.bounce.classifier import classify, reasons, vendors
from mailroom.bounce.classifier.patterns import literal_forms
from mailroom.bounce.classifier.reasons import TEXT_RULES, TextRule, reason_from_text

from . import samples

# The regular expression parser of the running Python (public as `sre_parse`, deprecated).
_parser: Any = importlib.import_module("re._parser")
_c: Any = importlib.import_module("re._constants")


def _literal(items: Any) -> str | None:
    """The text of a sequence made only of literal characters (and zero-width checks)."""
    out = []
    for op, av in items:
        if op is _c.LITERAL:
            out.append(chr(av))
        elif op not in (_c.AT, _c.ASSERT, _c.ASSERT_NOT):
            return None
    return "".join(out)


def _covered(items: Any, keywords: tuple[str, ...]) -> bool:
    """True when every string matching the parsed sequence contains one of `keywords`.

    Conservative: contiguous literal runs are checked for a keyword, and a group
    counts when each of its alternatives is covered or when it is a mandatory
    repetition of a covered body. Anything else only ends the current run.
    """
    run = ""
    for op, av in items:
        if op is _c.LITERAL:
            run += chr(av)
            continue
        if op in (_c.AT, _c.ASSERT, _c.ASSERT_NOT):
            continue  # zero width: the literal run goes on
        if op is _c.SUBPATTERN:
            _group, add_flags, _del_flags, body = av
            text = _literal(body) if not add_flags else None
            if text is not None:
                run += text
                continue
            if not add_flags and _covered(body, keywords):
                return True
        elif op is _c.BRANCH:
            if all(_covered(alternative, keywords) for alternative in av[1]):
                return True
        elif op in (_c.MAX_REPEAT, _c.MIN_REPEAT, _c.POSSESSIVE_REPEAT):
            low, _high, body = av
            if low >= 1 and _covered(body, keywords):
                return True
        if any(keyword in run for keyword in keywords):
            return True
        run = ""
    return any(keyword in run for keyword in keywords)


@pytest.mark.parametrize("rule", TEXT_RULES, ids=lambda rule: rule.reason)
def test_every_match_of_a_wording_contains_one_of_its_keywords(rule: TextRule) -> None:
    assert all(keyword == keyword.lower() for keyword in rule.keywords), "texts are lower-cased"
    for wording in rule.wordings:
        assert wording.keywords, f"{rule.reason}: no keyword occurs in {wording.pattern!r}"
        parsed = _parser.parse(wording.pattern)

        assert _covered(parsed, wording.keywords), (
            f"{rule.reason}: {wording.pattern!r} can match without any of {wording.keywords}"
        )


def test_the_checker_itself_catches_a_missing_keyword() -> None:
    parsed = _parser.parse(r"mailbox (?:is )?full|over ?quota|no such (?:user|person)")

    assert _covered(parsed, ("full", "quota", "user", "person"))
    assert not _covered(parsed, ("full", "quota", "user"))
    assert not _covered(_parser.parse(r"over ?quota"), ("over quota",))


def _first_rule_by_search(text: str) -> str | None:
    """The decision without keywords: every pattern searched, in order."""
    for rule in TEXT_RULES:
        if re.search(rule.pattern, text):
            return rule.reason
    return None


_WORDS = sorted(
    {word for rule in TEXT_RULES for keyword in rule.keywords for word in keyword.split()}
    | {"5.1.1", "550", "<a@b.example>", "is", "the", "not", "has", "been", "your", "of", "mail"}
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_WORDS), max_size=12))
def test_keywords_never_change_the_decision(words: list[str]) -> None:
    text = " ".join(words)

    assert reason_from_text(text) == _first_rule_by_search(text)


def test_the_decision_on_the_sample_messages_is_the_same_as_searching_every_rule() -> None:
    lines = [
        " ".join(line.split()).lower()
        for value in vars(samples).values()
        if isinstance(value, bytes)
        for line in value.decode("latin-1").splitlines()
    ]
    assert len(lines) > 100

    for line in lines:
        assert reason_from_text(line) == _first_rule_by_search(line), line


_ANY_WORDINGS = {
    "bounce subject": classify._BOUNCE_SUBJECT,
    "failure body": classify._FAILURE_BODY,
    "cjk failure": classify._CJK_FAILURE,
    "directory wording": reasons._DIRECTORY_WORDING,
    "daemon sender": classify._DAEMON_SENDER,
    "temporary": vendors._TEMPORARY,
    "connection stage": classify._CONNECTION_STAGE,
}
_PHRASE_PARTS = sorted(
    {part for found in _ANY_WORDINGS.values() for word in found.plain for part in word.split()}
    | {"delivery", "status", "notification", "failed", "be", "deliver", "non", "remis", "address",
       "recipient", "the", "public", "domino", "found", "couldn't", "550", "a@b.test", "x",
       "mdaemon", "will", "retry", "retr", "helo", "ehlo", "helo.", "ehlo-"}
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(_PHRASE_PARTS), max_size=10), st.sampled_from(sorted(_ANY_WORDINGS))
)
def test_any_wording_finds_what_the_whole_alternation_finds(words: list[str], name: str) -> None:
    wordings = _ANY_WORDINGS[name]
    text = " ".join(words)

    assert wordings.found_in(text) == (re.search(wordings.pattern, text) is not None)


def test_finite_wordings_are_looked_up_as_plain_strings() -> None:
    rule = next(rule for rule in TEXT_RULES if rule.reason == "mailererror")
    forms = {wording.pattern: literal_forms(wording.pattern) for wording in rule.wordings}

    assert forms["mailer error"] == ("mailer error",)
    assert forms[r"pipe to \|"] == ("pipe to |",)
    assert forms[r"\bprocmail: "] is None
    assert "undeliver" in classify._BOUNCE_SUBJECT.plain
