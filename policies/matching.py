"""Wildcard matching for actions, resources and ``*Like`` / ``Arn*`` condition values.

A pattern is a sequence of tokens: literal text, :data:`ANY_SEQUENCE` (``*``, zero or
more characters) and :data:`ANY_CHARACTER` (``?``, exactly one character). Keeping
wildcards as tokens rather than characters is what makes policy-variable
substitution safe: a substituted value, or an escape such as ``${*}``, becomes
literal text, so a request value of ``*`` can never widen a pattern.

:class:`Glob` compiles a pattern once. Runs of ``*`` split it into fixed-length
chunks (which may contain ``?``); matching anchors the first and last chunk and
finds each middle chunk at its leftmost position. Leftmost placement is always
optimal for fixed-length chunks, so there is no backtracking and the worst case is
O(len(pattern) × len(subject)). No regular expressions and no ``fnmatch``: both
give special meaning to characters (``[``, ``.``, newlines) that policies treat
literally.

ARNs (:class:`ArnPattern`) match segment by segment: partition, service, region
and account are separate globs, so ``*`` cannot cross a colon there; the resource
part after the fifth colon is one glob in which ``*`` may cross ``/`` and ``:``.
Matching is case-sensitive except for actions, whose patterns and names are
lower-cased before they meet.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from enum import Enum


class Wildcard(Enum):
    ANY_SEQUENCE = "*"
    ANY_CHARACTER = "?"


ANY_SEQUENCE = Wildcard.ANY_SEQUENCE
ANY_CHARACTER = Wildcard.ANY_CHARACTER

GlobToken = str | Wildcard
PatternTokens = tuple[GlobToken, ...]

_WILDCARD_CHARACTERS = {"*": ANY_SEQUENCE, "?": ANY_CHARACTER}


def tokens_from_text(text: str) -> PatternTokens:
    """Tokens for policy text in which every ``*`` and ``?`` is a wildcard."""
    tokens: list[GlobToken] = []
    literal_start = 0
    for index, char in enumerate(text):
        wildcard = _WILDCARD_CHARACTERS.get(char)
        if wildcard is not None:
            if literal_start < index:
                tokens.append(text[literal_start:index])
            tokens.append(wildcard)
            literal_start = index + 1
    if literal_start < len(text):
        tokens.append(text[literal_start:])
    return tuple(tokens)


def render(tokens: Iterable[GlobToken]) -> str:
    """The pattern as text (wildcards shown as ``*`` and ``?``)."""
    return "".join(token if isinstance(token, str) else token.value for token in tokens)


def lower_tokens(tokens: Iterable[GlobToken]) -> PatternTokens:
    return tuple(token.lower() if isinstance(token, str) else token for token in tokens)


def split_tokens(tokens: Iterable[GlobToken], separator: str, maxsplit: int) -> list[PatternTokens]:
    """Split on ``separator`` inside literal tokens, at most ``maxsplit`` times."""
    parts: list[list[GlobToken]] = [[]]
    for token in tokens:
        if isinstance(token, Wildcard) or len(parts) > maxsplit:
            parts[-1].append(token)
            continue
        pieces = token.split(separator, maxsplit - (len(parts) - 1))
        for position, piece in enumerate(pieces):
            if position:
                parts.append([])
            if piece:
                parts[-1].append(piece)
    return [tuple(part) for part in parts]


class _Chunk:
    """A fixed-length piece of a pattern; ``holes`` are the ``?`` positions."""

    __slots__ = ("text", "holes", "length")

    def __init__(self, tokens: Sequence[GlobToken]) -> None:
        characters: list[str] = []
        holes: list[int] = []
        for token in tokens:
            if token is ANY_CHARACTER:
                holes.append(len(characters))
                characters.append("?")
            elif isinstance(token, str):
                characters.extend(token)
        self.text = "".join(characters)
        self.holes = frozenset(holes)
        self.length = len(self.text)

    def matches_at(self, subject: str, start: int) -> bool:
        if not self.holes:
            return subject.startswith(self.text, start)
        if start < 0 or start + self.length > len(subject):
            return False
        for offset, char in enumerate(self.text):
            if offset not in self.holes and subject[start + offset] != char:
                return False
        return True

    def find(self, subject: str, start: int, stop: int) -> int:
        """Leftmost index ``i`` in ``[start, stop - length]`` where the chunk matches."""
        if not self.holes:
            return subject.find(self.text, start, stop)
        for index in range(start, stop - self.length + 1):
            if self.matches_at(subject, index):
                return index
        return -1


class Glob:
    """A compiled wildcard pattern."""

    __slots__ = ("source", "_exact", "_any", "_first", "_last", "_middle", "_min_length")

    def __init__(self, tokens: Sequence[GlobToken]) -> None:
        self.source = render(tokens)
        chunks: list[list[GlobToken]] = [[]]
        for token in tokens:
            if token is ANY_SEQUENCE:
                if chunks[-1] or len(chunks) == 1:
                    chunks.append([])
            else:
                chunks[-1].append(token)
        # A pattern with no ``*`` is a single chunk; an exact literal is a plain compare.
        compiled = [_Chunk(chunk) for chunk in chunks]
        self._exact: str | None = None
        if len(compiled) == 1 and not compiled[0].holes:
            self._exact = compiled[0].text
        self._any = len(compiled) == 2 and compiled[0].length == 0 and compiled[1].length == 0
        self._first = compiled[0]
        self._last = compiled[-1] if len(compiled) > 1 else None
        self._middle = tuple(compiled[1:-1])
        self._min_length = sum(chunk.length for chunk in compiled)

    @classmethod
    def from_text(cls, text: str) -> Glob:
        return cls(tokens_from_text(text))

    @property
    def is_literal(self) -> bool:
        return self._exact is not None

    @property
    def matches_everything(self) -> bool:
        return self._any

    def literal_prefix(self) -> str:
        """The literal text every match starts with (up to the first wildcard)."""
        if self._exact is not None:
            return self._exact
        first = self._first
        cut = min(first.holes, default=first.length)
        return first.text[:cut]

    def matches(self, subject: str) -> bool:
        if self._exact is not None:
            return subject == self._exact
        if self._any:
            return True
        size = len(subject)
        if size < self._min_length:
            return False
        first = self._first
        last = self._last
        if last is None:
            return size == first.length and first.matches_at(subject, 0)
        if not first.matches_at(subject, 0):
            return False
        stop = size - last.length
        if not last.matches_at(subject, stop):
            return False
        position = first.length
        for chunk in self._middle:
            found = chunk.find(subject, position, stop)
            if found < 0:
                return False
            position = found + chunk.length
        return True

    def __repr__(self) -> str:
        return f"Glob({self.source!r})"


class ArnPattern:
    """An ARN pattern compared segment by segment (see the module docstring)."""

    __slots__ = ("source", "segments")

    def __init__(self, segments: Sequence[Glob]) -> None:
        if len(segments) != 6:
            raise ValueError("an ARN pattern has exactly six segments")
        self.segments = tuple(segments)
        self.source = ":".join(segment.source for segment in segments)

    @classmethod
    def from_tokens(cls, tokens: Sequence[GlobToken]) -> ArnPattern | None:
        """The pattern, or ``None`` when the text does not have six colon-separated parts."""
        parts = split_tokens(tokens, ":", 5)
        if len(parts) != 6:
            return None
        return cls([Glob(part) for part in parts])

    @classmethod
    def from_text(cls, text: str) -> ArnPattern | None:
        return cls.from_tokens(tokens_from_text(text))

    def matches(self, arn: str) -> bool:
        parts = arn.split(":", 5)
        if len(parts) != 6:
            return False
        for segment, part in zip(self.segments, parts, strict=True):
            if not segment.matches(part):
                return False
        return True

    def __repr__(self) -> str:
        return f"ArnPattern({self.source!r})"
