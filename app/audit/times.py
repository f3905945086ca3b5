"""Times as the audit log's readers give and read them.

A search or export takes its ``since`` and ``until`` bounds as ISO 8601
(``2026-12-05``, ``2026-12-05T10:00Z``, ``2026-12-05T10:00:00+01:00``) or as
epoch seconds, which scripts written before ISO 8601 was accepted still
send. Every time the log hands out is ISO 8601 in UTC, to the second, the
way CloudTrail writes ``eventTime``: search and export show the same event
with the same text, so their outputs can be compared and joined.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, timedelta

from app.audit.record import micros
from app.errors import ValidationError

#: The last second ISO 8601 in four-digit years can write (9999-12-31T23:59:59Z).
MAX_EPOCH = 253402300799
MAX_TIME_TEXT = 64

_EPOCH_RE = re.compile(r"^[0-9]{1,12}(\.[0-9]{1,6})?$")
_DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
#: A time whose offset's ``+`` became a space: an unencoded ``+`` in a query
#: string is a space once decoded (``since=2026-12-05T10:00+01:00``).
_DECODED_PLUS_RE = re.compile(r"^([0-9-]+T[0-9:.]+) ([0-9]{2}(:?[0-9]{2})?)$")
_FORMS = "ISO 8601 (2026-12-05, 2026-12-05T10:00Z, 2026-12-05T10:00:00+01:00) or epoch seconds"


def filter_micros(name: str, value: float | str | None, *, end_of_day: bool = False) -> int | None:
    """A ``since``/``until`` bound as epoch microseconds (``ValidationError`` if not a time).

    A date alone stands for the whole day: its first microsecond as a lower
    bound, its last as an upper one (``end_of_day``), so ``--since D --until
    D`` is the day D. As an upper bound a time covers the whole of the last
    unit it gives, as a date does: ``10:00:59`` reaches to the end of that
    second, ``10:00`` to the end of that minute (the log writes its times to
    the second, so an event shown at ``10:00:59Z`` is found by
    ``until=10:00:59Z``); a time with a fraction, or epoch seconds, is exact.
    A time without an offset is UTC.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValidationError(f"The filter '{name}' must be {_FORMS}.", field=name)
    if isinstance(value, str):
        seconds = _parse_text(name, value, end_of_day=end_of_day)
    elif isinstance(value, int | float) and math.isfinite(value):
        seconds = float(value)
    else:
        raise ValidationError(f"The filter '{name}' must be {_FORMS}.", field=name)
    if seconds < 0 or seconds > MAX_EPOCH + 1:
        raise ValidationError(
            f"The filter '{name}' is out of range (1970-01-01 to 9999-12-31).", field=name
        )
    return micros(seconds)


def _parse_text(name: str, text: str, *, end_of_day: bool) -> float:
    if len(text) > MAX_TIME_TEXT or not text.isascii():
        raise ValidationError(f"The filter '{name}' must be {_FORMS}.", field=name)
    if _EPOCH_RE.match(text):
        return float(text)
    if _DATE_RE.match(text):
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise ValidationError(
                f"The filter '{name}' is not a date: {text!r}.", field=name
            ) from None
        start = datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()
        return start + 86400 - 0.000001 if end_of_day else start
    text = _DECODED_PLUS_RE.sub(r"\1+\2", text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError(
            f"The filter '{name}' must be {_FORMS}; got {text!r}.", field=name
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    seconds = (moment - datetime(1970, 1, 1, tzinfo=UTC)) / timedelta(seconds=1)
    if end_of_day:
        seconds += _unit_seconds(text) - 0.000001
    return seconds


#: The clock part of an ISO 8601 time: hours, then minutes and seconds if given.
_CLOCK_RE = re.compile(r"T(\d{2})(?::?(\d{2})(?::?(\d{2})(\.\d+)?)?)?")


def _unit_seconds(text: str) -> float:
    """How long the last unit a time gives lasts (0 for a fraction: exact)."""
    found = _CLOCK_RE.search(text)
    if found is None:  # pragma: no cover - fromisoformat accepted a time
        return 0.000001
    _, minutes, secs, fraction = found.groups()
    if fraction is not None:
        return 0.000001
    if secs is not None:
        return 1.0
    if minutes is not None:
        return 60.0
    return 3600.0


def iso(micros_value: object) -> str | None:
    """Epoch microseconds as UTC ISO 8601 to the second (``None`` if not a time)."""
    if isinstance(micros_value, bool) or not isinstance(micros_value, int):
        return None
    moment = datetime.fromtimestamp(micros_value // 1_000_000, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
