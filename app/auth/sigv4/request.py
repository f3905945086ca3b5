"""The HTTP request as SigV4 sees it (:class:`SignedRequest`), and how the
AWS door builds one from a WSGI environ without Flask."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit


@dataclass(frozen=True)
class SignedRequest:
    """An HTTP request as SigV4 sees it.

    ``path`` is the raw request path as received (still percent-encoded, no
    query); ``query`` the raw query string (no ``?``); ``headers`` every
    header as ``(name, value)`` pairs in arrival order, repeats kept, values
    as the WSGI server decoded them (ISO-8859-1); ``body`` the raw body.
    """

    method: str
    path: str
    query: str
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def __repr__(self) -> str:
        # Headers carry the Authorization value and the body may carry
        # plaintext: neither belongs in a log line or a traceback.
        return (
            f"SignedRequest({self.method!r}, {self.path[:64]!r}, "
            f"<{len(self.headers)} headers>, <{len(self.body)} bytes>)"
        )


def signed_request_from_wsgi(environ: Mapping[str, Any], body: bytes) -> SignedRequest:
    """A :class:`SignedRequest` from a WSGI environ and the request body.

    The raw path comes from ``RAW_URI`` (gunicorn, Werkzeug) or
    ``REQUEST_URI``; without either, ``SCRIPT_NAME + PATH_INFO`` is
    percent-encoded again, which gives the same result for every path an SDK
    sends. Headers are rebuilt from the ``HTTP_*`` keys plus ``CONTENT_TYPE``
    and ``CONTENT_LENGTH``; a WSGI server has already joined repeated headers
    with ``,``, which is also how SigV4 joins them.
    """
    raw_uri = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if isinstance(raw_uri, str) and raw_uri:
        if not raw_uri.startswith("/"):
            # Absolute form (``http://host/path``): keep only the path.
            raw_uri = urlsplit(raw_uri).path or "/"
        path = raw_uri.split("?", 1)[0]
    else:
        decoded = str(environ.get("SCRIPT_NAME", "")) + str(environ.get("PATH_INFO", ""))
        path = quote(decoded.encode("latin-1", "replace"), safe="/!$&'()*+,;=:@~-._") or "/"
    headers: list[tuple[str, str]] = []
    known = _HEADERS
    for key, value in environ.items():
        try:
            header = known[key]
        except KeyError:
            header = _header(key)
        if header is not None and isinstance(value, str) and (value or not header[1]):
            headers.append((header[0], value))
    return SignedRequest(
        method=str(environ.get("REQUEST_METHOD", "")),
        path=path,
        query=str(environ.get("QUERY_STRING", "")),
        headers=tuple(headers),
        body=body,
    )


def _header(key: object) -> tuple[str, bool] | None:
    """The header an environ key holds, and whether it counts only when not
    empty (``CONTENT_TYPE``, ``CONTENT_LENGTH``); ``None`` for a key that
    holds none. Remembered per key: a server puts the same keys in every
    environ."""
    header: tuple[str, bool] | None = None
    if isinstance(key, str):
        if key.startswith("HTTP_"):
            header = (key[5:].replace("_", "-").lower(), False)
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            header = (key.replace("_", "-").lower(), True)
    if len(_HEADERS) < _MOST_KEYS:
        _HEADERS[key] = header
    return header


#: Environ keys seen, and the header each holds (:func:`_header`); bounded,
#: since a client chooses its header names.
_HEADERS: dict[object, tuple[str, bool] | None] = {}
_MOST_KEYS = 4096
