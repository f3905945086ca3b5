"""The canonical encoding: one spelling per value, and never a float."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.audit.canonical import CanonicalEncodingError, canonical_json
from app.audit.events import AuditEvent
from app.audit.record import event_body, typed_columns


def test_known_answer() -> None:
    value = {"b": [1, True, None, "x"], "a": {"é": "ü", "A": -5}, "": 0}
    assert canonical_json(value) == '{"":0,"a":{"A":-5,"é":"ü"},"b":[1,true,null,"x"]}'.encode()


def test_sorted_keys_no_whitespace_utf8() -> None:
    encoded = canonical_json({"z": "naïve ✓", "a": [1, 2]})
    assert encoded == '{"a":[1,2],"z":"naïve ✓"}'.encode()
    assert b" " not in encoded.replace("naïve ✓".encode(), b"")
    assert "✓".encode() in encoded  # UTF-8, not \\u escapes


def test_insertion_order_does_not_matter() -> None:
    first = {"one": 1, "two": {"x": 1, "y": 2}, "three": [3]}
    second = {"three": [3], "two": {"y": 2, "x": 1}, "one": 1}
    assert canonical_json(first) == canonical_json(second)


@pytest.mark.parametrize(
    "value",
    [1.0, 0.5, {"t": 1.5}, [1, [2.0]], {"nested": {"deep": [float("nan")]}}, math.inf],
)
def test_floats_are_refused_anywhere(value: object) -> None:
    with pytest.raises(CanonicalEncodingError):
        canonical_json(value)


@pytest.mark.parametrize("value", [{1: "a"}, {("a",): 1}, {"a": object()}, {"a": b"bytes"}])
def test_values_without_a_canonical_form_are_refused(value: object) -> None:
    with pytest.raises(CanonicalEncodingError):
        canonical_json(value)


def test_booleans_stay_booleans_and_tuples_become_lists() -> None:
    assert canonical_json({"t": True, "f": False, "l": (1, 2)}) == b'{"f":false,"l":[1,2],"t":true}'


def test_lone_surrogates_become_replacement_characters() -> None:
    encoded = canonical_json({"ua": "bad\ud800x", "\udfffk": 1})
    assert encoded == '{"ua":"bad\ufffdx","\ufffdk":1}'.encode()
    encoded.decode("utf-8")  # always valid UTF-8


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@given(json_values)
def test_encoding_is_a_fixed_point(value: object) -> None:
    encoded = canonical_json(value)
    assert canonical_json(json.loads(encoded)) == encoded


def _no_floats(text: str) -> object:
    raise AssertionError(f"float {text} in a canonical body")


def test_event_bodies_hold_no_floats() -> None:
    event = AuditEvent(
        event_id="e-1",
        event_time=1_700_000_000.123456,
        request_id="r-1",
        door="rest",
        event_name="Encrypt",
        outcome="success",
        http_status=200,
        latency_ms=12.75,
        key_version=3,
        resources=("arn:aws:kms:us-east-1:111122223333:key/k-1",),
    )
    body = {**event_body(event), "recordedAt": 1_700_000_000_200_000}
    encoded = canonical_json(body)
    parsed = json.loads(encoded, parse_float=_no_floats)
    assert parsed["eventTime"] == 1_700_000_000_123_456
    assert parsed["latencyUs"] == 12_750
    columns = typed_columns(parsed)
    assert columns["occurred_at"] == 1_700_000_000_123_456
    assert columns["recorded_at"] == 1_700_000_000_200_000
    assert columns["key_id"] == "k-1"
    # No caller account, so the key's account is another one's: cross-account.
    assert columns["cross_account"] == "111122223333"
    # The same event encodes to the same bytes every time.
    assert canonical_json({**event_body(event), "recordedAt": 1_700_000_000_200_000}) == encoded


def test_huge_strings_are_clipped_so_columns_always_fit() -> None:
    event = AuditEvent(
        event_id="e-2",
        event_time=1.0,
        request_id="r" * 5000,
        door="rest",
        event_name="Decrypt",
        outcome="failed",
        http_status=400,
        principal_arn="arn:aws:iam::111122223333:user/" + "é" * 3000,
        user_agent="u" * 10_000,
    )
    body = event_body(event)
    assert len(body["requestId"]) == 128
    assert len(body["principal"]["arn"].encode()) <= 1024
    assert len(body["userAgent"]) == 256


def test_an_invalid_outcome_is_refused() -> None:
    event = AuditEvent(
        event_id="e-3",
        event_time=1.0,
        request_id="r",
        door="rest",
        event_name="Decrypt",
        outcome="maybe",  # type: ignore[arg-type]
        http_status=200,
    )
    with pytest.raises(ValueError):
        event_body(event)
