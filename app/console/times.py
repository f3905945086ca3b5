"""Times as people type them into the audit explorer's filters.

ISO 8601 (``2026-12-05``, ``2026-12-05T10:00:00Z``, with an offset) or
relative to now (``15m``, ``1h``, ``24h``, ``7d``: that long ago); answered
as the epoch seconds the audit operations take. A time without a zone is UTC.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from app.errors import ValidationError

_RELATIVE = re.compile(r"^([0-9]{1,6})\s*([smhdw])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_MAX_EPOCH = 253402300799


def epoch_seconds(text: str, now: float, *, member: str) -> int:
    """``text`` (ISO 8601 or relative) as epoch seconds; 400 otherwise."""
    value = text.strip()
    relative = _RELATIVE.fullmatch(value.lower())
    if relative:
        seconds = int(relative.group(1)) * _UNIT_SECONDS[relative.group(2)]
        return max(0, int(now) - seconds)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationError(
            f"{member} must be an ISO 8601 time (2026-12-05T10:00:00Z) or a relative "
            "one (15m, 1h, 24h, 7d).",
            field=member,
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    seconds = int(moment.timestamp())
    if not 0 <= seconds <= _MAX_EPOCH:
        raise ValidationError(f"{member} is out of range.", field=member)
    return seconds


def iso(value: float | str | None) -> str:
    """A time for a page: epoch seconds written as ISO 8601; text (the audit
    search writes ISO 8601 already) as it is."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
