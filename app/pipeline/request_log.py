"""The request log: one line per request, on both doors, probes and refusals included.

Written by the pipeline (:meth:`~app.pipeline.pipeline.Pipeline.serve`)
once a request's answer is ready, to the ``trent.request`` logger at INFO,
with these fields: ``request_id door method path operation principal key
outcome error reason status latency_ms client``.

``key`` is the first key the operation named (its ARN), or the ``KeyId``
given; ``error`` is the error code, ``reason`` why authentication failed
(a fixed text: the token, its claims and the signature are never part of
it). Nothing else of the request is written: no header, no body member but
``KeyId``, so no token, plaintext, ciphertext or data key can reach the log.
The line's time is the record's; how it is written (text or JSON) is the
handler's (:mod:`app.logs`).
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

from app.errors import AccessDeniedError, KmsError, UnauthenticatedError
from app.pipeline.call import Call

log = logging.getLogger("trent.request")

#: Longest text of a field that the caller chose (path, key id), in characters.
LONGEST_FIELD = 256


class RequestLine:
    """The fields of one request's line. Its text (``key=value`` pairs) is
    made when a handler first writes it, once however many handlers do;
    :mod:`app.logs` writes ``fields`` as JSON instead when asked to."""

    __slots__ = ("fields", "_text")

    def __init__(self, fields: dict[str, Any]) -> None:
        self.fields = fields
        self._text: str | None = None

    def __str__(self) -> str:
        text = self._text
        if text is None:
            text = self._text = " ".join(
                [name + "=" + _text(value) for name, value in self.fields.items()]
            )
        return text


def log_request(call: Call, status: int, error: KmsError | None, latency_ms: float) -> None:
    """Write the line of ``call``, answered with ``status`` (and ``error``)."""
    if not log.isEnabledFor(logging.INFO):
        return
    line = RequestLine(_fields(call, status, error, latency_ms, call.principal))
    # What ``log.info(line)`` does, less its search of the stack for the
    # caller, which is always this function: the record is made by the
    # logger (and so by any record factory installed) and handled by it
    # (its filters, its handlers and its parents', as configured). The line
    # is the record's message itself, with no arguments to format it with.
    # (The frame is not kept in a local: a frame that refers to itself would
    # keep this request's objects alive until the cycle collector ran.)
    record = log.makeRecord(
        log.name,
        logging.INFO,
        _FILENAME,
        sys._getframe().f_lineno,
        line,
        (),
        None,
        "log_request",
    )
    log.handle(record)


_FILENAME = log_request.__code__.co_filename


def _fields(
    call: Call, status: int, error: KmsError | None, latency_ms: float, principal: Any
) -> dict[str, Any]:
    reason = getattr(error, "reason", None)
    return {
        "request_id": call.request_id,
        "door": call.door,
        "method": call.method,
        "path": _bounded(call.environ.get("PATH_INFO") or "/"),
        "operation": call.event_name,
        "principal": principal.arn if principal is not None else None,
        "key": _key(call),
        "outcome": outcome_of(status, error),
        "error": error.code if error is not None else None,
        "reason": reason if isinstance(reason, str) else None,
        "status": status,
        "latency_ms": round(latency_ms, 2),
        "client": call.source_ip,
    }


def outcome_of(status: int, error: KmsError | None) -> str:
    """``success``, ``denied`` (authentication or authorization refused the
    caller) or ``failed``: as the request's audit event says."""
    if error is None and status < 400:
        return "success"
    if isinstance(error, AccessDeniedError | UnauthenticatedError):
        return "denied"
    return "failed"


def _key(call: Call) -> str | None:
    notes = call.context.notes if call.context is not None else None
    if notes is not None and notes.resources:
        return _bounded(notes.resources[0])
    given = call.params.get("KeyId")
    return _bounded(given) if isinstance(given, str) else None


def _bounded(text: str) -> str:
    return text if len(text) <= LONGEST_FIELD else text[:LONGEST_FIELD] + "…"


def _text(value: Any) -> str:
    """A value as it is written in a text line: ``-`` for none, bare when it
    is plain, else a JSON string (so that a path or a key id cannot forge a
    field or a line: quotes and control characters are escaped)."""
    if value is None:
        return "-"
    kind = type(value)
    if kind is int or kind is float:
        # Digits, a sign, a point, an exponent, ``inf`` or ``nan``: plain.
        return str(value)
    text = value if kind is str else str(value)
    # Plain: at least one character, all printable, none of them a space, a
    # quote, ``=`` or a backslash (four scans of a short text cost less than
    # a regular expression).
    if (
        text
        and text.isprintable()
        and " " not in text
        and '"' not in text
        and "=" not in text
        and "\\" not in text
    ):
        return text
    return json.dumps(text)
