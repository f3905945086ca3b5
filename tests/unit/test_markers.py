"""The paging-marker codec: it takes back what it hands out, and nothing else."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app import markers
from app.errors import InvalidMarkerError


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode("ascii")


@settings(max_examples=200, derandomize=True, database=None)
@given(
    kind=st.sampled_from([markers.KEYS, markers.ALIASES, markers.TAGS, markers.POLICIES]),
    position=st.text(
        st.characters(blacklist_categories=["Cs"], blacklist_characters="\x7f"), min_size=1
    ).filter(lambda t: not any(ord(c) < 0x20 for c in t)),
)
def test_text_positions_round_trip(kind: str, position: str) -> None:
    assert markers.decode(markers.encode(kind, position), kind) == position


@pytest.mark.parametrize("position", [1, 2, 10**9, markers.MAX_POSITION])
def test_integer_positions_round_trip(position: int) -> None:
    for kind in (markers.ROTATIONS, markers.AUDIT_EVENTS):
        assert markers.decode_position(markers.encode(kind, position), kind) == position


def test_markers_handed_out_before_the_codec_still_decode() -> None:
    # The format is unchanged: base64url("<kind>:<position>"), padded.
    assert markers.decode("azoxMjM0YWJjZC0wMDAwLTAwMDA=", markers.KEYS) == "1234abcd-0000-0000"
    assert markers.decode("YTphbGlhcy9wYXk=", markers.ALIASES) == "alias/pay"
    assert markers.decode_position("djoz", markers.ROTATIONS) == 3
    assert markers.decode_position("YXVkaXQtc2VxOjQy", markers.AUDIT_EVENTS) == 42


@pytest.mark.parametrize(
    "marker",
    [
        "",
        "not base64!",
        "bm9wZQ==",  # "nope": no kind
        _b64("a:alias/x"),  # another list's marker
        _b64("v:"),
        _b64("v:abc"),
        _b64("v:1.5"),
        _b64("v:1e3"),
        _b64("v:-1"),
        _b64("v:0"),
        _b64("v:01"),
        _b64("v:+1"),
        _b64("v: 1"),
        _b64("v:9223372036854775808"),
        _b64("v:99999999999999999999"),
        _b64("v:١"),  # a digit, but not an ASCII one
        _b64("v:3")[:-1],  # padding dropped
        _b64("v:3") + "=",  # padding added
        _b64("v:3") + "\u00e9",  # a non-ASCII character
        _b64("v:3").replace("=", "") + "!!",
        base64.b64encode(b"v:3\xfb").decode(),  # standard alphabet, not url-safe
        base64.urlsafe_b64encode(b"v:\xff").decode(),  # not UTF-8
        _b64("v:3" + "0" * 2000),  # too long
    ],
)
def test_integer_markers_refuse_anything_else(marker: str) -> None:
    with pytest.raises(InvalidMarkerError):
        markers.decode_position(marker, markers.ROTATIONS)


@pytest.mark.parametrize(
    "marker",
    [_b64("t:"), _b64("t:\x00"), _b64("t:a\x1fb"), _b64("t:\x7f"), _b64("k:x"), _b64("t")],
)
def test_text_markers_refuse_anything_else(marker: str) -> None:
    with pytest.raises(InvalidMarkerError):
        markers.decode(marker, markers.TAGS)


def test_positions_no_list_holds_are_not_encoded() -> None:
    for bad in (0, -1, markers.MAX_POSITION + 1, True):
        with pytest.raises(ValueError):
            markers.encode(markers.ROTATIONS, bad)
    with pytest.raises(ValueError):
        markers.encode(markers.TAGS, "a\x00")
    with pytest.raises(ValueError):
        markers.encode("nope", "x")
