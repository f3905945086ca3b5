"""Policy source text: positions, and a JSON reader that remembers where every value is.

Python's ``json`` module forgets positions, silently keeps the last of duplicate keys
and accepts ``NaN``/``Infinity``. A policy reviewer must see exactly what the
evaluator sees, so this reader refuses duplicate keys and non-finite numbers and
keeps, for every value, its RFC 6901 pointer and its offsets. Strings are decoded
by the standard library's ``json.decoder.scanstring``; numbers keep their source
text so that no precision is lost and no huge integer can trip ``int()`` limits.

Positions are 1-based lines and 1-based columns counted in characters (code
points). Only LF starts a new line; a CR before it is the last character of the
previous line. Spans are inclusive: ``end`` is the position of the last character.
"""

from __future__ import annotations

import bisect
import json
import re
from dataclasses import dataclass
from enum import Enum
from typing import NoReturn

from policies.errors import SYNTAX_ERRORS, Issue, IssueCode, PolicyError

#: Nesting deeper than this is refused; a real policy needs six levels.
MAX_DEPTH = 32

#: The characters a policy may contain: tab, LF, CR and U+0020 to U+00FF.
DISALLOWED_CHARACTER = re.compile(r"[^\t\n\r\x20-\xff]")

_WHITESPACE = frozenset(" \t\n\r")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")
_NON_FINITE = ("NaN", "Infinity", "-Infinity")


@dataclass(frozen=True, slots=True)
class Position:
    """A 1-based line and column in the policy text."""

    line: int
    column: int


@dataclass(frozen=True, slots=True)
class SourceSpan:
    """Where an element starts and ends (inclusive) in the policy text."""

    start: Position
    end: Position


class Locator:
    """Turns character offsets into line/column positions."""

    def __init__(self, text: str) -> None:
        self._line_starts = [0]
        self._line_starts.extend(match.end() for match in re.finditer("\n", text))

    def position(self, offset: int) -> Position:
        line_index = bisect.bisect_right(self._line_starts, offset) - 1
        return Position(line_index + 1, offset - self._line_starts[line_index] + 1)

    def span(self, start: int, end: int) -> SourceSpan:
        return SourceSpan(self.position(start), self.position(end))


def pointer_child(parent: str, token: str | int) -> str:
    """Append one reference token to a JSON pointer, escaped as RFC 6901 requires."""
    text = str(token).replace("~", "~0").replace("/", "~1")
    return f"{parent}/{text}"


class NodeKind(Enum):
    OBJECT = "object"
    ARRAY = "array"
    STRING = "string"
    NUMBER = "number"
    BOOLEAN = "boolean"
    NULL = "null"


@dataclass(frozen=True, slots=True)
class JsonMember:
    key: str
    key_offset: int
    value: JsonNode


@dataclass(frozen=True, slots=True)
class JsonNode:
    """One JSON value with its pointer and inclusive character offsets.

    ``text`` is the decoded string for strings, the source text for numbers,
    ``true``/``false`` for booleans and ``null`` for null.
    """

    kind: NodeKind
    pointer: str
    start: int
    end: int
    text: str = ""
    items: tuple[JsonNode, ...] = ()
    members: tuple[JsonMember, ...] = ()

    def member(self, key: str) -> JsonNode | None:
        for candidate in self.members:
            if candidate.key == key:
                return candidate.value
        return None


def read_json(text: str, locator: Locator) -> tuple[JsonNode, list[Issue]]:
    """Parse ``text``. Fatal syntax errors raise; recoverable issues are returned.

    Duplicate keys and disallowed characters produced by escapes are recoverable:
    the first occurrence of a key is kept so that later checks can still run and
    report everything in one pass.
    """
    reader = _Reader(text, locator)
    node, offset = reader.value(reader.skip(0), "", 0)
    offset = reader.skip(offset)
    if offset != len(text):
        reader.fail(offset, "", "unexpected data after the end of the document")
    return node, reader.issues


class _Reader:
    def __init__(self, text: str, locator: Locator) -> None:
        self.text = text
        self.locator = locator
        self.issues: list[Issue] = []

    def issue(self, code: IssueCode, message: str, pointer: str, offset: int) -> Issue:
        position = self.locator.position(offset)
        return Issue(code.value, message, pointer, position.line, position.column)

    def fail(
        self, offset: int, pointer: str, detail: str, code: IssueCode = IssueCode.JSON_SYNTAX
    ) -> NoReturn:
        offset = min(offset, max(len(self.text) - 1, 0))
        raise PolicyError([self.issue(code, f"{SYNTAX_ERRORS} {detail}", pointer, offset)])

    def skip(self, offset: int) -> int:
        text = self.text
        while offset < len(text) and text[offset] in _WHITESPACE:
            offset += 1
        return offset

    def value(self, offset: int, pointer: str, depth: int) -> tuple[JsonNode, int]:
        if depth > MAX_DEPTH:
            self.fail(offset, pointer, f"nesting deeper than {MAX_DEPTH}", IssueCode.TOO_DEEP)
        if offset >= len(self.text):
            self.fail(offset, pointer, "unexpected end of document; expected a value")
        char = self.text[offset]
        if char == "{":
            return self.object(offset, pointer, depth)
        if char == "[":
            return self.array(offset, pointer, depth)
        if char == '"':
            decoded, end = self.string(offset, pointer)
            return JsonNode(NodeKind.STRING, pointer, offset, end - 1, decoded), end
        for literal, kind in (("true", NodeKind.BOOLEAN), ("false", NodeKind.BOOLEAN)):
            if self.text.startswith(literal, offset):
                end = offset + len(literal)
                return JsonNode(kind, pointer, offset, end - 1, literal), end
        if self.text.startswith("null", offset):
            return JsonNode(NodeKind.NULL, pointer, offset, offset + 3, "null"), offset + 4
        for word in _NON_FINITE:
            if self.text.startswith(word, offset):
                self.fail(
                    offset,
                    pointer,
                    f"{word} is not a JSON number",
                    IssueCode.NON_FINITE_NUMBER,
                )
        number = _NUMBER.match(self.text, offset)
        if number is None or number.end() == offset:
            self.fail(offset, pointer, f"unexpected character {char!r}; expected a value")
        end = number.end()
        return JsonNode(NodeKind.NUMBER, pointer, offset, end - 1, number.group()), end

    def string(self, offset: int, pointer: str) -> tuple[str, int]:
        text = self.text
        cursor = offset + 1
        while True:
            quote = text.find('"', cursor)
            if quote < 0:
                self.fail(offset, pointer, "unterminated string")
            backslashes = 0
            while text[quote - 1 - backslashes] == "\\":
                backslashes += 1
            if backslashes % 2 == 0:
                break
            cursor = quote + 1
        end = quote + 1
        try:
            decoded = json.loads(text[offset:end])
        except json.JSONDecodeError as error:
            self.fail(offset + error.pos, pointer, error.msg.lower())
        if not isinstance(decoded, str):
            self.fail(offset, pointer, "malformed string")
        # Escapes can smuggle in characters the raw-text check never saw.
        bad = DISALLOWED_CHARACTER.search(decoded)
        if bad is not None:
            self.issues.append(
                self.issue(
                    IssueCode.INVALID_CHARACTER,
                    f"Policy contains the character U+{ord(bad.group()):04X} (via an escape); "
                    "only tab, LF, CR and U+0020 to U+00FF are allowed.",
                    pointer,
                    offset,
                )
            )
        return decoded, end

    def object(self, offset: int, pointer: str, depth: int) -> tuple[JsonNode, int]:
        members: list[JsonMember] = []
        seen: set[str] = set()
        cursor = self.skip(offset + 1)
        if self.text.startswith("}", cursor):
            return JsonNode(NodeKind.OBJECT, pointer, offset, cursor), cursor + 1
        while True:
            if not self.text.startswith('"', cursor):
                self.fail(cursor, pointer, "expected a member name in double quotes")
            key, cursor_after_key = self.string(cursor, pointer)
            child_pointer = pointer_child(pointer, key)
            key_offset = cursor
            cursor = self.skip(cursor_after_key)
            if not self.text.startswith(":", cursor):
                self.fail(cursor, child_pointer, "expected ':' after a member name")
            cursor = self.skip(cursor + 1)
            child, cursor = self.value(cursor, child_pointer, depth + 1)
            if key in seen:
                self.issues.append(
                    self.issue(
                        IssueCode.DUPLICATE_KEY,
                        f"{SYNTAX_ERRORS} Duplicate member {key!r}: a reviewer and the "
                        "evaluator could read different values.",
                        child_pointer,
                        key_offset,
                    )
                )
            else:
                seen.add(key)
                members.append(JsonMember(key, key_offset, child))
            cursor = self.skip(cursor)
            if self.text.startswith(",", cursor):
                cursor = self.skip(cursor + 1)
                continue
            if self.text.startswith("}", cursor):
                node = JsonNode(NodeKind.OBJECT, pointer, offset, cursor, members=tuple(members))
                return node, cursor + 1
            self.fail(cursor, pointer, "expected ',' or '}' in an object")

    def array(self, offset: int, pointer: str, depth: int) -> tuple[JsonNode, int]:
        items: list[JsonNode] = []
        cursor = self.skip(offset + 1)
        if self.text.startswith("]", cursor):
            return JsonNode(NodeKind.ARRAY, pointer, offset, cursor), cursor + 1
        while True:
            child, cursor = self.value(cursor, pointer_child(pointer, len(items)), depth + 1)
            items.append(child)
            cursor = self.skip(cursor)
            if self.text.startswith(",", cursor):
                cursor = self.skip(cursor + 1)
                continue
            if self.text.startswith("]", cursor):
                node = JsonNode(NodeKind.ARRAY, pointer, offset, cursor, items=tuple(items))
                return node, cursor + 1
            self.fail(cursor, pointer, "expected ',' or ']' in an array")


def pointer_positions(text: str) -> dict[str, Position]:
    """Where each value of a (valid) JSON document starts, by JSON pointer."""
    locator = Locator(text)
    root, _ = read_json(text, locator)
    positions: dict[str, Position] = {}
    pending = [root]
    while pending:
        node = pending.pop()
        positions[node.pointer] = locator.position(node.start)
        pending.extend(node.items)
        pending.extend(member.value for member in node.members)
    return positions
