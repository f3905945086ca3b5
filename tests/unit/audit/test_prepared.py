"""A prepared event's body, completed by the writer, is exactly the canonical
encoding of the whole body: what the MAC and the hash chain cover does not
depend on where the encoding was done."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from app.audit.canonical import canonical_json, canonical_split

_scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=8)
_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
# Member names around "recordedAt" in code-point order, and names that share its prefix.
_names = st.sampled_from(
    ["", "a", "recordedA", "recordedAt0", "recordedAu", "recordedB", "r", "s", "Z", "é", "v"]
) | st.text(max_size=12).filter(lambda name: name != "recordedAt")


def _split_encoding(members: dict[str, Any]) -> tuple[bytes, bytes]:
    # What AuditLog.prepare does with an event body.
    _, head, tail = canonical_split(members, "recordedAt")
    return head, tail


@given(st.dictionaries(_names, _values, max_size=6), st.integers(min_value=0, max_value=2**62))
def test_head_time_tail_is_the_canonical_body(members: dict[str, Any], recorded_at: int) -> None:
    head, tail = _split_encoding(members)
    assert head + str(recorded_at).encode() + tail == canonical_json(
        {**members, "recordedAt": recorded_at}
    )


def test_the_body_of_an_event_alone_and_of_an_empty_body() -> None:
    head, tail = _split_encoding({})
    assert head + b"7" + tail == b'{"recordedAt":7}'
    head, tail = _split_encoding({"a": 1, "z": "\u2028"})
    assert json.loads(head + b"7" + tail) == {"a": 1, "recordedAt": 7, "z": "\u2028"}


def test_a_lone_surrogate_is_replaced_as_the_canonical_encoding_does() -> None:
    body = {"userAgent": "bad \ud800 agent", "nested": {"k\udfff": ["\ud800"]}}
    head, tail = _split_encoding(body)
    encoded = head + b"5" + tail
    assert encoded == canonical_json({**body, "recordedAt": 5})
    assert json.loads(encoded)["userAgent"] == "bad \ufffd agent"


def test_a_value_that_holds_the_placeholder_is_still_split_canonically() -> None:
    # The placeholder is random per process; were it found in a value all the
    # same, the body is encoded in two parts rather than cut in the wrong place.
    from app.audit.canonical import _PLACEHOLDER

    body = {"a": _PLACEHOLDER, "z": [_PLACEHOLDER]}
    head, tail = _split_encoding(body)
    assert head + b"9" + tail == canonical_json({**body, "recordedAt": 9})
