"""ISO 8601 and epoch seconds as audit filter bounds, and the times the log writes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.audit.times import MAX_EPOCH, filter_micros, iso
from app.errors import ValidationError

DAY = 86_400_000_000
# 2026-12-05T00:00:00Z
MIDNIGHT = 1_796_428_800


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-05", MIDNIGHT * 1_000_000),
        ("2026-12-05T10:00Z", (MIDNIGHT + 36_000) * 1_000_000),
        ("2026-12-05T10:00:00Z", (MIDNIGHT + 36_000) * 1_000_000),
        ("2026-12-05T10:00", (MIDNIGHT + 36_000) * 1_000_000),
        ("2026-12-05T11:00:00+01:00", (MIDNIGHT + 36_000) * 1_000_000),
        # An unencoded + in a query string arrives as a space.
        ("2026-12-05T11:00:00 01:00", (MIDNIGHT + 36_000) * 1_000_000),
        ("2026-12-05T11:00 0100", (MIDNIGHT + 36_000) * 1_000_000),
        ("2026-12-05T09:30-00:30", (MIDNIGHT + 36_000) * 1_000_000),
        ("2026-12-05T10:00:00.250Z", (MIDNIGHT + 36_000) * 1_000_000 + 250_000),
        (str(MIDNIGHT), MIDNIGHT * 1_000_000),
        (f"{MIDNIGHT}.5", MIDNIGHT * 1_000_000 + 500_000),
    ],
)
def test_since_accepts_iso_8601_and_epoch_seconds(text: str, expected: int) -> None:
    assert filter_micros("since", text) == expected


def test_numbers_are_epoch_seconds() -> None:
    assert filter_micros("since", MIDNIGHT) == MIDNIGHT * 1_000_000
    assert filter_micros("since", 0.5) == 500_000
    assert filter_micros("since", None) is None


def test_a_date_alone_is_the_whole_day_as_an_upper_bound() -> None:
    assert filter_micros("until", "2026-12-05", end_of_day=True) == MIDNIGHT * 1_000_000 + DAY - 1
    assert filter_micros("since", "2026-12-05") == MIDNIGHT * 1_000_000


@pytest.mark.parametrize(
    ("text", "lasts"),
    [
        ("2026-12-05T00:00:00Z", 1_000_000),  # to the end of the second
        ("2026-12-05T00:00Z", 60_000_000),  # to the end of the minute
        ("2026-12-05T00Z", 3_600_000_000),  # to the end of the hour
        ("2026-12-05T01:00:00+01:00", 1_000_000),
        ("2026-12-05T00:00:00.000Z", 1),  # a fraction is exact
        (str(MIDNIGHT), 1),  # and so are epoch seconds
    ],
)
def test_an_upper_bound_covers_the_last_unit_it_names(text: str, lasts: int) -> None:
    """The log writes times to the second: an event shown at 10:00:59Z is
    found by until=10:00:59Z, as a day is by until=the date."""
    start = MIDNIGHT * 1_000_000
    assert filter_micros("since", text) == start
    assert filter_micros("until", text, end_of_day=True) == start + lasts - 1


@pytest.mark.parametrize(
    "value",
    [
        "yesterday",
        "",
        "2026-13-01",
        "2026-02-30",
        "2026-12-05T24:01Z",
        "-1",
        "1e9",
        "１７９６４２８８００",
        "2026-12-05T10:00Z" + " " * 64,
        "0001-01-01T00:00Z",
        -1,
        MAX_EPOCH + 2,
        float("nan"),
        float("inf"),
        True,
    ],
)
def test_anything_else_is_a_validation_error_naming_the_forms(value: object) -> None:
    with pytest.raises(ValidationError) as raised:
        filter_micros("since", value)  # type: ignore[arg-type]
    assert "since" in raised.value.message


def test_the_message_names_the_accepted_forms() -> None:
    with pytest.raises(ValidationError, match="ISO 8601 .* or epoch seconds"):
        filter_micros("until", "last tuesday")


def test_iso_writes_utc_to_the_second() -> None:
    assert iso((MIDNIGHT + 36_000) * 1_000_000 + 999_999) == "2026-12-05T10:00:00Z"
    assert iso(None) is None and iso("1") is None and iso(True) is None


@given(st.integers(min_value=0, max_value=MAX_EPOCH))
def test_what_iso_writes_reads_back_as_the_same_second(seconds: int) -> None:
    written = iso(seconds * 1_000_000)
    assert written is not None
    assert filter_micros("since", written) == seconds * 1_000_000
    assert datetime.fromisoformat(written).astimezone(UTC).timestamp() == seconds
