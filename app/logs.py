"""How ``trent serve``'s processes write their log: one line per record on
stderr, as text or JSON (``TRENT_LOG_FORMAT``).

:func:`configure` attaches the handler to the ``trent`` loggers; ``trent
serve`` calls it before it starts its workers (which inherit it) and its
helpers call it themselves. :func:`app.create_app` attaches nothing, so a
test, or an application embedding Trent, sees the records through its own
handlers. gunicorn's own lines go through the same formatter
(:class:`app.serving.logger.TrentLogger`), so that a JSON log is JSON
throughout.

A text line is ``TIME LEVEL [PID] LOGGER MESSAGE``; a JSON line is an
object with ``time``, ``level``, ``pid``, ``logger`` and ``message``, or
instead of the message the fields of a request line
(:mod:`app.pipeline.request_log`) as members of their own. Times are UTC,
ISO 8601, to the millisecond.
"""

from __future__ import annotations

import functools
import json
import logging
import sys
import time
from typing import IO, Any

#: The loggers whose records Trent writes: its own. peewee's statement log
#: is never among them (it prints parameters: sealed material, policies).
TRENT_LOGGER = "trent"


def iso_time(created: float) -> str:
    """``2025-01-31T12:00:00.123Z`` for a record's ``created`` time."""
    return "%s.%03dZ" % (_whole_second(int(created)), created % 1 * 1000)  # noqa: UP031


@functools.lru_cache(maxsize=4)
def _whole_second(second: int) -> str:
    # Every request writes a line: a server writes thousands in one second,
    # and formatting the second once costs less than a microsecond each time.
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))


class TextFormatter(logging.Formatter):
    """``TIME LEVEL [PID] LOGGER MESSAGE`` (and the traceback, if any, below it)."""

    def format(self, record: logging.LogRecord) -> str:
        line = (
            f"{iso_time(record.created)} {record.levelname} [{record.process}] "
            f"{record.name} {record.getMessage()}"
        )
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per record; a request line's fields are members."""

    def format(self, record: logging.LogRecord) -> str:
        document: dict[str, Any] = {
            "time": iso_time(record.created),
            "level": record.levelname,
            "pid": record.process,
            "logger": record.name,
        }
        fields = _request_fields(record)
        if fields is not None:
            document.update(fields)
        else:
            document["message"] = record.getMessage()
        if record.exc_info:
            document["traceback"] = self.formatException(record.exc_info)
        return _JSON.encode(document)


#: ``json.dumps`` with options builds an encoder for every call: one for all.
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str)


def _request_fields(record: logging.LogRecord) -> dict[str, Any] | None:
    """The fields of a request line (the record's message has them), else None."""
    fields = getattr(record.msg, "fields", None)
    return fields if isinstance(fields, dict) and not record.args else None


def formatter(log_format: str) -> logging.Formatter:
    """The formatter of ``TRENT_LOG_FORMAT`` (``text`` or ``json``)."""
    return JsonFormatter() if log_format == "json" else TextFormatter()


def configure(log_format: str, level: str, stream: IO[str] | None = None) -> logging.Handler:
    """Write the ``trent`` loggers' records at ``level`` and above to
    ``stream`` (stderr) in ``log_format``; replaces a handler an earlier
    call attached. Returns the handler."""
    logger = logging.getLogger(TRENT_LOGGER)
    for old in [h for h in logger.handlers if getattr(h, "trent", False)]:
        logger.removeHandler(old)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter(log_format))
    handler.trent = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(level)
    # Written here, once: not again by a handler the root logger may have.
    logger.propagate = False
    return handler
