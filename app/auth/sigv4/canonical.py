"""The canonical request: the text a SigV4 signature is computed over.

Pure functions, also checked against AWS's published example by the tests.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Final
from urllib.parse import quote, unquote

_CANONICAL_QUERY_PART_RE: Final = re.compile(r"(?:[A-Za-z0-9_.~-]|%[0-9A-F]{2})*")


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 §5.2.4, and empty segments removed too, as AWS (and botocore) do."""
    if not path:
        return "/"
    output: list[str] = []
    for segment in path.split("/"):
        if not segment or segment == ".":
            continue
        if segment == "..":
            if output:
                output.pop()
        else:
            output.append(segment)
    first = "/" if path.startswith("/") else ""
    last = "/" if path.endswith("/") and output else ""
    return first + "/".join(output) + last


@lru_cache(maxsize=512)
def canonical_uri(raw_path: str) -> str:
    """The normalised path, URI-encoded once more.

    Services other than S3 sign every path segment encoded twice: the path an
    SDK sends is already percent-encoded, and the signer encodes it again
    (``%`` becomes ``%25``). The raw path as received is therefore encoded
    once here. (Remembered per path: an SDK sends the same few, ``/`` for
    every KMS call.)
    """
    return quote(_remove_dot_segments(raw_path), safe="/~")


def _encode_query_part(part: str) -> str:
    if _CANONICAL_QUERY_PART_RE.fullmatch(part):
        return part
    return quote(unquote(part), safe="-_.~")


def canonical_query_string(raw_query: str) -> str:
    """Names and values URI-encoded (RFC 3986 unreserved characters kept),
    sorted by name and then value, joined with ``&``."""
    if not raw_query:
        return ""
    pairs = []
    for item in raw_query.split("&"):
        name, _, value = item.partition("=")
        pairs.append((_encode_query_part(name), _encode_query_part(value)))
    return "&".join(f"{name}={value}" for name, value in sorted(pairs))


def _trim_all(value: str) -> str:
    """Leading and trailing white space removed, inner runs collapsed to one space."""
    return " ".join(value.split())


def canonical_headers(headers: Mapping[str, Sequence[str]], signed: Iterable[str]) -> str:
    """``name:value\\n`` for each signed header in sorted order; repeated
    headers joined with ``,``. ``headers`` maps lower-case names to values."""
    lines = []
    for name in _sorted_names(tuple(signed)):
        values = headers.get(name, ())
        if len(values) == 1:  # nearly always: no generator to run
            lines.append(f"{name}:{_trim_all(values[0])}\n")
        else:
            lines.append(f"{name}:{','.join(_trim_all(v) for v in values)}\n")
    return "".join(lines)


@lru_cache(maxsize=256)
def _sorted_names(signed: tuple[str, ...]) -> tuple[str, ...]:
    # Remembered per list: a client signs the same headers every time.
    return tuple(sorted(set(signed)))


def header_map(headers: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """Header values grouped by lower-case name, in arrival order."""
    grouped: dict[str, list[str]] = {}
    for name, value in headers:
        grouped.setdefault(name.lower(), []).append(value)
    return grouped


def canonical_request(
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Iterable[tuple[str, str]],
    signed_headers: str,
    payload_hash: str,
) -> str:
    """The canonical request: method, URI, query, headers, signed headers, payload hash."""
    return canonical_request_of_map(
        method, raw_path, raw_query, header_map(headers), signed_headers, payload_hash
    )


def canonical_request_of_map(
    method: str,
    raw_path: str,
    raw_query: str,
    grouped: Mapping[str, Sequence[str]],
    signed_headers: str,
    payload_hash: str,
) -> str:
    """:func:`canonical_request` of headers already grouped by :func:`header_map`."""
    return "\n".join(
        (
            method.upper(),
            canonical_uri(raw_path),
            canonical_query_string(raw_query),
            canonical_headers(grouped, signed_headers.split(";")),
            signed_headers,
            payload_hash,
        )
    )
