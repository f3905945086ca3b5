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
    for key, value in environ.items():
        if not isinstance(key, str) or not isinstance(value, str):
            continue
        if key.startswith("HTTP_"):
            headers.append((key[5:].replace("_", "-").lower(), value))
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            headers.append((key.replace("_", "-").lower(), value))
    return SignedRequest(
        method=str(environ.get("REQUEST_METHOD", "")),
        path=path,
        query=str(environ.get("QUERY_STRING", "")),
        headers=tuple(headers),
        body=body,
    )
