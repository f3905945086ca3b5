"""Canonical encoding of an encryption context, the AAD callers control.

KMS matches contexts exactly and case-sensitively, in any order. The encoding
is therefore: pairs sorted by the UTF-8 bytes of their keys, a 2-byte pair
count, then each key and each value as a 2-byte length and its UTF-8 bytes
(all integers big-endian). Length prefixes make it injective: ``{"ab": "c"}``
and ``{"a": "bc"}`` encode differently. Strings are used exactly as given
(no Unicode normalisation), because KMS compares them exactly.

Limits (ours; AWS does not publish one): at most 64 pairs and 8 KiB encoded,
no empty keys, and every string must be encodable as UTF-8 (a lone surrogate
is not).
"""

from __future__ import annotations

import struct
from collections.abc import Mapping

from app.errors import ValidationError

MAX_CONTEXT_PAIRS = 64
MAX_CONTEXT_BYTES = 8192

_FIELD = "EncryptionContext"


def canonical_context(context: Mapping[str, str]) -> bytes:
    """The canonical bytes of ``context``; raises ``ValidationError`` if it is invalid."""
    if len(context) > MAX_CONTEXT_PAIRS:
        raise ValidationError(
            f"EncryptionContext may hold at most {MAX_CONTEXT_PAIRS} pairs", field=_FIELD
        )
    pairs: list[tuple[bytes, bytes]] = []
    for key, value in context.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise ValidationError("EncryptionContext keys and values must be strings", field=_FIELD)
        if not key:
            raise ValidationError("EncryptionContext keys must not be empty", field=_FIELD)
        pairs.append((_utf8(key), _utf8(value)))
    pairs.sort()
    parts = [struct.pack(">H", len(pairs))]
    size = 2
    for key_bytes, value_bytes in pairs:
        # Check before packing so an oversized string cannot overflow the u16.
        size += 4 + len(key_bytes) + len(value_bytes)
        if size > MAX_CONTEXT_BYTES:
            raise ValidationError(
                f"EncryptionContext must be at most {MAX_CONTEXT_BYTES} bytes encoded",
                field=_FIELD,
            )
        parts.append(struct.pack(">H", len(key_bytes)) + key_bytes)
        parts.append(struct.pack(">H", len(value_bytes)) + value_bytes)
    return b"".join(parts)


def _utf8(text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError(
            "EncryptionContext keys and values must be valid Unicode (no lone surrogates)",
            field=_FIELD,
        ) from None
