"""The time a request claims, from ``X-Amz-Date`` or else ``Date``, parsed
strictly and without the locale-dependent ``strptime``."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Final

from app.auth.sigv4.errors import incomplete

_AMZ_DATE_RE: Final = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})T([0-9]{2})([0-9]{2})([0-9]{2})Z")
_HTTP_DATE_RE: Final = re.compile(
    r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), ([0-9]{2}) "
    r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) ([0-9]{4}) "
    r"([0-9]{2}):([0-9]{2}):([0-9]{2}) GMT"
)
_WEEKDAYS: Final = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS: Final = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()


def amz_date(moment: datetime) -> str:
    """``moment`` as ``yyyymmddTHHMMSSZ``."""
    return moment.strftime("%Y%m%dT%H%M%SZ")


@lru_cache(maxsize=256)
def _parse_amz_date(text: str) -> datetime | None:
    # Remembered per text: a client's requests of one second share it.
    match = _AMZ_DATE_RE.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in match.groups())
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        return None


def _parse_http_date(text: str) -> datetime | None:
    """An RFC 7231 IMF-fixdate, parsed without the locale-dependent ``strptime``."""
    match = _HTTP_DATE_RE.fullmatch(text)
    if match is None:
        return None
    weekday, day, month, year, hour, minute, second = match.groups()
    try:
        moment = datetime(
            int(year),
            _MONTHS.index(month) + 1,
            int(day),
            int(hour),
            int(minute),
            int(second),
            tzinfo=UTC,
        )
    except ValueError:
        return None
    return moment if _WEEKDAYS[moment.weekday()] == weekday else None


def parse_request_time(headers: Mapping[str, Sequence[str]]) -> tuple[datetime, str]:
    """The request time and its ``yyyymmddTHHMMSSZ`` form, from ``X-Amz-Date``
    or, when that is absent, from ``Date``."""
    amz = headers.get("x-amz-date")
    if amz is not None:
        if len(amz) != 1:
            incomplete("The request has more than one X-Amz-Date header.")
        text = amz[0].strip()
        moment = _parse_amz_date(text)
        if moment is None:
            incomplete(
                "X-Amz-Date must be in ISO-8601 'basic format', e.g. 20150830T123600Z.",
                "X-Amz-Date is malformed",
            )
        return moment, text  # the header as sent, which is what the client signed
    date = headers.get("date")
    if date is None:
        incomplete(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
        )
    if len(date) != 1:
        incomplete("The request has more than one Date header.")
    moment = _parse_http_date(date[0].strip())
    if moment is None:
        incomplete(
            "The Date header must be an RFC 7231 date, e.g. Sun, 30 Aug 2015 12:36:00 GMT.",
            "the Date header is malformed",
        )
    return moment, amz_date(moment)
