"""The glob matcher: examples, a reference-matcher property test, and no blow-up."""

from __future__ import annotations

import time
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policies.matching import (
    ANY_CHARACTER,
    ANY_SEQUENCE,
    ArnPattern,
    Glob,
    GlobToken,
    split_tokens,
    tokens_from_text,
)


def reference_match(tokens: tuple[GlobToken, ...], subject: str) -> bool:
    """Obviously correct (and exponential without the cache) recursive matcher."""
    units: list[GlobToken] = []
    for token in tokens:
        units.extend(token if isinstance(token, str) else [token])

    @cache
    def match(unit: int, position: int) -> bool:
        if unit == len(units):
            return position == len(subject)
        current = units[unit]
        if current is ANY_SEQUENCE:
            return match(unit + 1, position) or (
                position < len(subject) and match(unit, position + 1)
            )
        if position == len(subject):
            return False
        if current is ANY_CHARACTER or current == subject[position]:
            return match(unit + 1, position + 1)
        return False

    return match(0, 0)


@pytest.mark.parametrize(
    ("pattern", "subject", "expected"),
    [
        ("abc", "abc", True),
        ("abc", "abcd", False),
        ("", "", True),
        ("", "a", False),
        ("*", "", True),
        ("*", "anything at all", True),
        ("**", "x", True),
        ("a*", "a", True),
        ("*c", "abc", True),
        ("*c", "abcd", False),
        ("a*c", "ac", True),
        ("a*b*c", "aXbYbZc", True),
        ("a*b*c", "aXcYb", False),
        ("a?c", "abc", True),
        ("a?c", "ac", False),
        ("?", "", False),
        ("*?", "", False),
        ("*?", "x", True),
        ("a*?b", "ab", False),
        ("a*?b", "axb", True),
        ("[ab]", "a", False),
        ("[ab]", "[ab]", True),
        ("a.c", "abc", False),
        ("a.c", "a.c", True),
        ("a*", "a\nb", True),
        ("a+b", "a+b", True),
        ("^$", "^$", True),
    ],
)
def test_glob_examples(pattern: str, subject: str, expected: bool) -> None:
    assert Glob.from_text(pattern).matches(subject) is expected


def test_literal_tokens_are_never_wildcards() -> None:
    glob = Glob(("a", "*", ANY_SEQUENCE))
    assert glob.matches("a*")
    assert glob.matches("a*anything")
    assert not glob.matches("ab")
    assert Glob(("?",)).matches("?") and not Glob(("?",)).matches("x")


def test_glob_properties() -> None:
    assert Glob.from_text("abc").is_literal
    assert Glob.from_text("***").matches_everything
    assert Glob.from_text("key/*").literal_prefix() == "key/"
    assert Glob.from_text("ke?/*").literal_prefix() == "ke"


def test_split_tokens_respects_maxsplit_and_wildcards() -> None:
    tokens = tokens_from_text("arn:aws:kms:*:1:key/a:b")
    parts = split_tokens(tokens, ":", 5)
    assert len(parts) == 6
    assert parts[3] == (ANY_SEQUENCE,)
    assert parts[5] == ("key/a:b",)


def test_arn_pattern_globs_segment_by_segment() -> None:
    pattern = ArnPattern.from_text("arn:aws:someservice:*:111122223333:finance/*")
    assert pattern is not None
    tricky = "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/doc"
    assert not pattern.matches(tricky)
    assert pattern.matches("arn:aws:someservice:us-east-2:111122223333:finance/a:b/c")
    assert not pattern.matches("arn:aws:someservice")
    assert ArnPattern.from_text("arn:aws:kms") is None


def test_pathological_pattern_has_no_blow_up() -> None:
    pattern = Glob.from_text("a*" * 200 + "b")
    subject = "a" * 20_000
    started = time.perf_counter()
    assert not pattern.matches(subject)
    assert time.perf_counter() - started < 2.0


_ALPHABET = "ab*?"
tokens_strategy = st.lists(
    st.one_of(
        st.text(alphabet=_ALPHABET, min_size=1, max_size=3),
        st.sampled_from([ANY_SEQUENCE, ANY_CHARACTER]),
    ),
    max_size=8,
).map(tuple)


@settings(max_examples=600, deadline=None)
@given(tokens=tokens_strategy, subject=st.text(alphabet=_ALPHABET, max_size=12))
def test_glob_agrees_with_the_reference_matcher(
    tokens: tuple[GlobToken, ...], subject: str
) -> None:
    assert Glob(tokens).matches(subject) is reference_match(tokens, subject)


@settings(max_examples=300, deadline=None)
@given(pattern=st.text(alphabet="ab*?", max_size=10), subject=st.text(alphabet="ab", max_size=10))
def test_text_patterns_agree_with_the_reference_matcher(pattern: str, subject: str) -> None:
    tokens = tokens_from_text(pattern)
    assert Glob.from_text(pattern).matches(subject) is reference_match(tokens, subject)
