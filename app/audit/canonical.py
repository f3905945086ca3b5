"""The one canonical JSON encoding of everything the audit log MACs, hashes or signs.

Rules: keys sorted (by code point), no insignificant whitespace, UTF-8, and
only ``null``, booleans, integers, strings, arrays and objects with string
keys. Floats are refused: their text form differs between encoders and
versions, and a hashed record must have exactly one spelling (times are
integer microseconds instead). Lone surrogates, which UTF-8 cannot encode and
which a client could smuggle into a string, become U+FFFD, so recording an
event can never fail because of what a caller sent.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from typing import Any

_REPLACEMENT = "\ufffd"


class CanonicalEncodingError(TypeError):
    """A value has no canonical encoding (a float, a non-string key, an object)."""


def _clean_text(text: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "".join(_REPLACEMENT if 0xD800 <= ord(c) <= 0xDFFF else c for c in text)
    return text


def canonical_value(value: Any) -> Any:
    """A copy of ``value`` made only of canonical JSON types (or an error)."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, str):
        return _clean_text(value)
    if isinstance(value, float):
        raise CanonicalEncodingError("floats have no canonical encoding; use integers")
    if isinstance(value, Mapping):
        result: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise CanonicalEncodingError(f"object keys must be strings, not {type(key)}")
            result[_clean_text(key)] = canonical_value(item)
        return result
    if isinstance(value, list | tuple):
        return [canonical_value(item) for item in value]
    raise CanonicalEncodingError(f"{type(value).__name__} has no canonical JSON encoding")


def _is_plain(value: Any) -> bool:
    """True if ``value`` is built only of the exact canonical types (then it
    can be encoded as it is); raises at the first float."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return True
    if kind is float:
        raise CanonicalEncodingError("floats have no canonical encoding; use integers")
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str or not _is_plain(item):
                return False
        return True
    if kind is list:
        for item in value:
            if not _is_plain(item):
                return False
        return True
    return False


def canonical_json(value: Any) -> bytes:
    """The canonical UTF-8 JSON bytes of ``value``."""
    if not _is_plain(value):
        value = canonical_value(value)
    try:
        return _encode(value)
    except UnicodeEncodeError:
        # A lone surrogate somewhere: the cleaning copy replaces it.
        return _encode(canonical_value(value))


#: One encoder for every call (``json.dumps`` with options builds one per call).
_ENCODER = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


def _encode(value: Any) -> bytes:
    # Raises UnicodeEncodeError at a lone surrogate.
    return _ENCODER.encode(value).encode("utf-8")


def canonical_split(value: Mapping[str, Any], member: str) -> tuple[dict[str, Any], bytes, bytes]:
    """``(clean, head, tail)`` such that ``head + <v> + tail`` is the canonical
    encoding of ``clean`` with its top-level ``member`` set to the encoding
    ``<v>`` of any value; ``clean`` is ``value`` in canonical types, lone
    surrogates replaced.

    The audit log encodes an event once, before the time it is recorded at is
    known, and fills that time in under the chain-head lock.
    """
    clean: dict[str, Any] = dict(value) if _is_plain(value) else canonical_value(value)
    clean.pop(member, None)
    # One encoding with a placeholder in the member's place, cut around it:
    # every request pays for this, and one encoding of the whole body costs
    # less than one of the members before it and one of those after. The
    # placeholder is random per process, so no caller can put it in a value;
    # should it appear more than once all the same, the body is encoded in
    # two parts instead.
    try:
        whole = _encode({**clean, member: _PLACEHOLDER})
    except UnicodeEncodeError:
        return canonical_split(canonical_value(clean), member)
    at = whole.find(_PLACEHOLDER_BYTES)
    if at < 0 or whole.find(_PLACEHOLDER_BYTES, at + 1) >= 0:
        head, tail = _split_in_two(clean, member)
    else:
        head, tail = whole[:at], whole[at + len(_PLACEHOLDER_BYTES) :]
    return clean, head, tail


#: What :func:`canonical_split` encodes in place of the member it cuts out.
_PLACEHOLDER = "\ue000canonical-split-" + secrets.token_hex(16)
_PLACEHOLDER_BYTES = _encode(_PLACEHOLDER)


def _split_in_two(clean: dict[str, Any], member: str) -> tuple[bytes, bytes]:
    """``(head, tail)`` of :func:`canonical_split` from the members before
    ``member`` and those after it, each encoded on its own."""
    before = _encode({k: v for k, v in clean.items() if k < member})
    after = _encode({k: v for k, v in clean.items() if k > member})
    name = _encode(member) + b":"
    head = before[:-1] + (b"," if len(before) > 2 else b"") + name
    tail = b"," + after[1:] if len(after) > 2 else b"}"
    return head, tail
