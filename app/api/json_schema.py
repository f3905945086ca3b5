"""Request schemas as JSON Schema, for the OpenAPI document (:mod:`app.api.openapi`).

Every length, range, enum, pattern, byte count, required member and refused
unknown member of a field is translated here; a field whose constraints this
module cannot express raises :class:`UnexpressedConstraint` rather than be
dropped.

Python's regular expressions are not JSON Schema's (ECMA-262): a pattern is
parsed with Python's own parser and written out again in ECMA-262 syntax
(:func:`ecma_pattern`), anchored, because the server matches whole values.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from re import _constants as _sre_constants  # type: ignore[attr-defined]
from re import _parser as _sre_parser  # type: ignore[attr-defined]
from typing import Any

from marshmallow import RAISE, Schema, fields

from app.schemas.base import PRINTABLE, Blob, Flag, Int, StringMap, Text, TextList

_MAXREPEAT = _sre_constants.MAXREPEAT


class UnexpressedConstraint(Exception):
    """A field enforces something the document generator cannot say."""


# Regular expressions: Python's syntax and semantics, written out as ECMA-262.

_SPECIAL = set("^$\\.*+?()[]{}|/")
_CLASS_SPECIAL = set("\\]-[^")
# Python's \w on str patterns: str.isalnum() or "_"; \d: Unicode decimal digits;
# \s: str.isspace(). The same sets in ECMA-262 (with the u flag).
_CATEGORIES = {
    "CATEGORY_WORD": r"\p{L}\p{N}_",
    "CATEGORY_DIGIT": r"\p{Nd}",
    "CATEGORY_SPACE": (
        r"\t\n\v\f\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
    ),
}
_ASCII_CATEGORIES = {
    "CATEGORY_WORD": r"A-Za-z0-9_",
    "CATEGORY_DIGIT": r"0-9",
    "CATEGORY_SPACE": r"\t\n\v\f\r ",
}
_NEGATED = {
    "CATEGORY_NOT_WORD": "CATEGORY_WORD",
    "CATEGORY_NOT_DIGIT": "CATEGORY_DIGIT",
    "CATEGORY_NOT_SPACE": "CATEGORY_SPACE",
}


def _char(code: int, *, in_class: bool) -> str:
    char = chr(code)
    special = _CLASS_SPECIAL if in_class else _SPECIAL
    if char in special:
        return "\\" + char
    if 0x20 <= code < 0x7F:
        return char
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\u{{{code:x}}}"


class _Emitter:
    def __init__(self, pattern: str, flags: int) -> None:
        self.pattern = pattern
        self.categories = _ASCII_CATEGORIES if flags & re.ASCII else _CATEGORIES

    def fail(self, what: str) -> UnexpressedConstraint:
        return UnexpressedConstraint(f"pattern {self.pattern!r}: {what} has no ECMA-262 form")

    def category(self, name: str, *, in_class: bool) -> str:
        if name in self.categories:
            body = self.categories[name]
            return body if in_class else f"[{body}]"
        if name in _NEGATED and not in_class:
            return f"[^{self.categories[_NEGATED[name]]}]"
        raise self.fail(f"the category {name}")

    def items(self, items: Any) -> str:
        return "".join(self.item(op, av) for op, av in items)

    def item(self, op: Any, av: Any) -> str:
        name = str(op)
        if name == "LITERAL":
            return _char(av, in_class=False)
        if name == "NOT_LITERAL":
            return f"[^{_char(av, in_class=True)}]"
        if name == "ANY":
            return "[^\\n]"  # Python's "." without DOTALL; ECMA's also refuses \r, \u2028…
        if name == "IN":
            return self.char_class(av)
        if name == "BRANCH":
            return "(?:" + "|".join(self.items(branch) for branch in av[1]) + ")"
        if name == "SUBPATTERN":
            group, add_flags, del_flags, inner = av
            if add_flags or del_flags:
                raise self.fail("an inline flag")
            return ("(" if group is not None else "(?:") + self.items(inner) + ")"
        if name in ("MAX_REPEAT", "MIN_REPEAT"):
            low, high, inner = av
            body = self.items(inner)
            if len(inner) != 1 or str(inner[0][0]) not in ("LITERAL", "IN", "ANY", "SUBPATTERN"):
                body = f"(?:{body})"
            if (low, high) == (0, _MAXREPEAT):
                quantifier = "*"
            elif (low, high) == (1, _MAXREPEAT):
                quantifier = "+"
            elif (low, high) == (0, 1):
                quantifier = "?"
            elif high == _MAXREPEAT:
                quantifier = f"{{{low},}}"
            elif low == high:
                quantifier = f"{{{low}}}"
            else:
                quantifier = f"{{{low},{high}}}"
            return body + quantifier + ("?" if name == "MIN_REPEAT" else "")
        if name == "AT":
            where = str(av)
            if where in ("AT_BEGINNING", "AT_BEGINNING_STRING"):
                return "^"
            if where == "AT_END_STRING":
                return "$"
            if where == "AT_END":
                return "(?=\\n?$)"  # Python's "$" also matches before a final newline
            raise self.fail(f"the anchor {where}")
        if name == "CATEGORY":
            return self.category(str(av), in_class=False)
        if name == "GROUPREF":
            return f"\\{av}"
        if name in ("ASSERT", "ASSERT_NOT"):
            direction, inner = av
            kind = ("=" if name == "ASSERT" else "!") if direction == 1 else None
            if kind is None:
                kind = "<=" if name == "ASSERT" else "<!"
            return f"(?{kind}{self.items(inner)})"
        raise self.fail(f"the construct {name}")

    def char_class(self, members: Any) -> str:
        negate = ""
        parts = []
        for op, av in members:
            name = str(op)
            if name == "NEGATE":
                negate = "^"
            elif name == "LITERAL":
                parts.append(_char(av, in_class=True))
            elif name == "RANGE":
                parts.append(f"{_char(av[0], in_class=True)}-{_char(av[1], in_class=True)}")
            elif name == "CATEGORY" and str(av) in _NEGATED and len(members) == 1:
                return self.category(str(av), in_class=False)
            elif name == "CATEGORY":
                parts.append(self.category(str(av), in_class=True))
            else:
                raise self.fail(f"{name} in a character class")
        return f"[{negate}{''.join(parts)}]"


def ecma_pattern(pattern: str) -> str:
    """``pattern`` (Python syntax, matched with ``fullmatch``) as an anchored
    ECMA-262 pattern that accepts exactly the same strings."""
    parsed = _sre_parser.parse(pattern, 0)
    flags = int(parsed.state.flags)
    if flags & ~(re.UNICODE | re.ASCII):
        raise UnexpressedConstraint(f"pattern {pattern!r}: its flags have no ECMA-262 form")
    items = list(parsed)
    # Anchors at the very start or end add nothing to a match of the whole value.
    while items and str(items[0][0]) == "AT" and str(items[0][1]).startswith("AT_BEGINNING"):
        items = items[1:]
    while items and str(items[-1][0]) == "AT" and str(items[-1][1]).startswith("AT_END"):
        items = items[:-1]
    emitter = _Emitter(pattern, flags)
    return f"^{emitter.items(items)}$"


# Fields.

_B64 = "[A-Za-z0-9+/]"


def _base64_length(count: int) -> int:
    return (count + 2) // 3 * 4


def _base64_pattern(min_bytes: int, max_bytes: int) -> str:
    """Padded standard base64 of ``min_bytes`` to ``max_bytes`` bytes, exactly."""
    alternatives = []
    for tail, tail_bytes in (("", 0), (f"{_B64}{{2}}==", 1), (f"{_B64}{{3}}=", 2)):
        low = max(0, -(-(min_bytes - tail_bytes) // 3))
        high = (max_bytes - tail_bytes) // 3
        if high < low:
            continue
        if high == 0:
            groups = ""
        elif low == high:
            groups = f"(?:{_B64}{{4}}){{{low}}}"
        else:
            groups = f"(?:{_B64}{{4}}){{{low},{high}}}"
        alternatives.append(groups + tail)
    return "^(?:" + "|".join(alternatives) + ")$"


def _text(field: Text) -> dict[str, Any]:
    document: dict[str, Any] = {"type": "string"}
    if field.choices is not None:
        document["enum"] = list(field.choices)
    if field.min_length:
        document["minLength"] = field.min_length
    if field.max_length is not None:
        document["maxLength"] = field.max_length
    if field.pattern is not None:
        document["pattern"] = ecma_pattern(field.pattern.pattern)
        if field.pattern.flags & ~(re.UNICODE | re.ASCII):
            raise UnexpressedConstraint(f"pattern {field.pattern.pattern!r}: flags")
    return document


def _blob(field: Blob) -> dict[str, Any]:
    return {
        "type": "string",
        "format": "byte",
        "contentEncoding": "base64",
        "minLength": _base64_length(field.min_bytes),
        "maxLength": _base64_length(field.max_bytes),
        "pattern": _base64_pattern(field.min_bytes, field.max_bytes),
        "x-minBytes": field.min_bytes,
        "x-maxBytes": field.max_bytes,
        "description": (
            f"Standard base64 with padding of {field.min_bytes} to {field.max_bytes} bytes."
        ),
    }


def _known_field_schema(field: fields.Field[Any]) -> dict[str, Any]:
    if isinstance(field, Text):
        return _text(field)
    if isinstance(field, Int):
        return {
            "type": "integer",
            "minimum": field.minimum,
            "maximum": field.maximum,
            "description": "A JSON integer: no fraction, no exponent, not a string.",
        }
    if isinstance(field, Flag):
        return {"type": "boolean"}
    if isinstance(field, Blob):
        return _blob(field)
    if isinstance(field, StringMap):
        values: dict[str, Any] = {"type": "string"}
        names: dict[str, Any] = {"minLength": 1}
        if field.printable:
            values["pattern"] = names["pattern"] = ecma_pattern(PRINTABLE)
        return {
            "type": "object",
            "additionalProperties": values,
            "propertyNames": names,
            "maxProperties": field.max_entries,
        }
    if isinstance(field, TextList):
        document: dict[str, Any] = {"type": "array", "items": field_schema(field.item)}
        if field.min_items:
            document["minItems"] = field.min_items
        if field.max_items is not None:
            document["maxItems"] = field.max_items
        return document
    if isinstance(field, fields.Nested):
        nested = field.schema
        return schema_object(type(nested))
    if isinstance(field, fields.List):
        return {"type": "array", "items": field_schema(field.inner)}
    declared = getattr(type(field), "json_schema", None)
    if isinstance(declared, dict):
        # A field class of its own says what it accepts (ContextField).
        return dict(declared)
    raise UnexpressedConstraint(
        f"{type(field).__name__} {field.data_key or field.name!r}: the document generator "
        "does not know what it accepts"
    )


def field_schema(field: fields.Field[Any]) -> dict[str, Any]:
    """The JSON Schema of everything ``field`` accepts."""
    if field.validators:
        raise UnexpressedConstraint(
            f"{field.data_key or field.name!r}: validators are not translated into the document"
        )
    document = _known_field_schema(field)
    if field.allow_none:
        document = {"anyOf": [document, {"type": "null"}]}
    return document


def members_of(schema: type[Schema]) -> dict[str, fields.Field[Any]]:
    instance = schema()
    return {(f.data_key or name): f for name, f in sorted(instance.load_fields.items())}


def ruled(document: dict[str, Any], rule: re.Pattern[str] | None) -> dict[str, Any]:
    if rule is None:
        return document
    if rule.flags & ~(re.UNICODE | re.ASCII):
        raise UnexpressedConstraint(f"pattern {rule.pattern!r}: flags")
    pattern = ecma_pattern(rule.pattern)
    if "pattern" in document:
        # The operation's rule is the narrower one (AliasName: the model's
        # characters, then the "alias/" prefix): generators draw from the
        # main pattern and filter by the others, so it goes first.
        return {**document, "pattern": pattern, "allOf": [{"pattern": document["pattern"]}]}
    return {**document, "pattern": pattern}


def schema_object(
    schema: type[Schema],
    *,
    without: Iterable[str] = (),
    rules: Mapping[str, re.Pattern[str]] | None = None,
) -> dict[str, Any]:
    """The JSON Schema of a request object loaded by ``schema`` (less the
    members in ``without``, which come from elsewhere)."""
    skip = set(without)
    members = {key: f for key, f in members_of(schema).items() if key not in skip}
    document: dict[str, Any] = {
        "type": "object",
        "properties": {
            key: ruled(field_schema(f), (rules or {}).get(key)) for key, f in members.items()
        },
    }
    if schema.Meta.unknown == RAISE:
        document["additionalProperties"] = False
    required = sorted(key for key, f in members.items() if f.required)
    if required:
        document["required"] = required
    return document
