"""Paging markers: the one codec every list uses to hand out and take back its place.

A marker is ``base64url("<kind>:<position>")``, padded. It is opaque to
callers and checked on the way back in: :func:`decode` and
:func:`decode_position` accept only what :func:`encode` itself could have
produced for that kind, and refuse anything else with
:class:`~app.errors.InvalidMarkerError` (a 400). In particular a marker never
reaches a query with a value the database cannot hold: no integer outside a
64-bit column, no NUL or other control character in a text comparison.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Final

from app.errors import InvalidMarkerError

KEYS: Final = "k"
ALIASES: Final = "a"
TAGS: Final = "t"
ROTATIONS: Final = "v"
POLICIES: Final = "p"
GRANTS: Final = "g"
CUSTOM_KEY_STORES: Final = "s"
AUDIT_EVENTS: Final = "audit-seq"

#: Longest marker taken back (AWS's Marker is 1-1024 characters).
MAX_MARKER_LENGTH: Final = 1024
#: The largest position a 64-bit signed database integer holds.
MAX_POSITION: Final = 2**63 - 1

_KINDS = frozenset(
    {KEYS, ALIASES, TAGS, ROTATIONS, POLICIES, GRANTS, CUSTOM_KEY_STORES, AUDIT_EVENTS}
)
_ALPHABET = re.compile(r"^[A-Za-z0-9_-]+={0,2}$")
_POSITION = re.compile(r"^[1-9][0-9]{0,18}$")
#: What no stored name, id or tag key contains (and PostgreSQL refuses NUL).
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def encode(kind: str, position: str | int) -> str:
    """The marker for the place after ``position`` in a list of ``kind``."""
    if kind not in _KINDS:
        raise ValueError(f"unknown marker kind {kind!r}")
    if isinstance(position, int):
        if isinstance(position, bool) or not 1 <= position <= MAX_POSITION:
            raise ValueError("a marker position must be a positive 64-bit integer")
        position = str(position)
    elif not position or _CONTROL.search(position):
        raise ValueError("a marker position must be non-empty text without control characters")
    return base64.urlsafe_b64encode(f"{kind}:{position}".encode()).decode("ascii")


def decode(marker: str, kind: str) -> str:
    """The text position a marker of ``kind`` stands for."""
    if kind not in _KINDS:
        raise ValueError(f"unknown marker kind {kind!r}")
    if (
        not isinstance(marker, str)
        or len(marker) > MAX_MARKER_LENGTH
        or not marker.isascii()
        or not _ALPHABET.match(marker)
    ):
        raise InvalidMarkerError()
    try:
        text = base64.urlsafe_b64decode(marker.encode("ascii")).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        raise InvalidMarkerError() from None
    prefix, sep, position = text.partition(":")
    if prefix != kind or not sep or not position or _CONTROL.search(position):
        raise InvalidMarkerError()
    # Only the one spelling encode() gives (no stray padding or trailing bits).
    if encode(kind, position) != marker:
        raise InvalidMarkerError()
    return position


def decode_position(marker: str, kind: str) -> int:
    """The integer position (1 to 2**63-1) a marker of ``kind`` stands for."""
    position = decode(marker, kind)
    if not _POSITION.match(position):
        raise InvalidMarkerError()
    value = int(position)
    if value > MAX_POSITION:
        raise InvalidMarkerError()
    return value
