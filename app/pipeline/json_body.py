"""Strict JSON request bodies, shared by both front doors.

Python's ``json`` silently accepts things a KMS must refuse: duplicate keys
(the reviewer reads one value, the code uses another), ``NaN``/``Infinity``,
a byte-order mark, UTF-16/32 bodies and lone surrogates; and Flask turns very
deep nesting into a 500. Every one of these is a 400 here, before any schema
sees the body.
"""

from __future__ import annotations

import json
from typing import Any

from app.errors import ValidationError


class _DuplicateKey(ValueError):
    pass


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


#: What ``json.loads`` with these options would build for every call, built once.
_DECODER = json.JSONDecoder(
    object_pairs_hook=_object_without_duplicates, parse_constant=_reject_constant
)


def _depth_exceeds(text: str, limit: int) -> bool:
    """Nesting depth of ``text`` outside strings, without recursion."""
    if text.count("{") + text.count("[") <= limit:
        # Too few brackets to nest that deep: skip the character walk (the
        # common case, and the walk is the costly part of parsing a body).
        return False
    depth = 0
    in_string = False
    escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return True
        elif char in "]}":
            depth -= 1
    return False


def _has_lone_surrogate(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


#: The only charset a body may declare (RFC 8259: JSON exchanged between
#: systems is UTF-8), in the spellings clients use.
UTF8_NAMES = frozenset({"utf-8", "utf8"})


def require_utf8(charset: str | None) -> None:
    """Refuse a body whose ``Content-Type`` declares another charset: reading
    latin-1 or UTF-16 as UTF-8 would silently change what the caller meant."""
    if charset is not None and charset.strip().strip('"').lower() not in UTF8_NAMES:
        raise ValidationError(
            "The request body must be UTF-8: a Content-Type may declare charset=utf-8 or none."
        )


def parse_json_object(raw: bytes, *, max_depth: int) -> dict[str, Any]:
    """Parse a request body that must be one JSON object."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raise ValidationError("The request body must not start with a byte-order mark.")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationError("The request body is not valid UTF-8.") from None
    if not text.strip():
        return {}
    if _depth_exceeds(text, max_depth):
        raise ValidationError(f"The request body is nested deeper than {max_depth} levels.")
    try:
        value = _DECODER.decode(text)
    except _DuplicateKey as exc:
        raise ValidationError(f"The request body has the member {exc.args[0]!r} twice.") from None
    except (ValueError, RecursionError) as exc:
        detail = exc.msg if isinstance(exc, json.JSONDecodeError) else "not valid JSON"
        raise ValidationError(f"The request body is not valid JSON: {detail}.") from None
    if not isinstance(value, dict):
        raise ValidationError("The request body must be a JSON object.")
    # A lone surrogate can only come from a ``\u`` escape: valid UTF-8 holds none.
    if "\\u" in text and _has_lone_surrogate(value):
        raise ValidationError("The request body contains a lone surrogate escape.")
    return value
