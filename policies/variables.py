"""Policy variables: ``${key}``, ``${key, 'default'}`` and the escapes ``${*}``, ``${?}``, ``${$}``.

Variables exist only in ``Version`` 2012-10-17 policies; under 2008-10-17 (or with no
``Version``) ``${`` is ordinary text. They are substituted in the resource part of
``Resource``/``NotResource`` and in the values of String and ARN condition operators;
everywhere else they are literal text.

Decisions taken here (the reference leaves them open):

* Substitution is single-pass and its result is always literal. An encryption-context
  value of ``*`` substituted into a ``StringLike`` pattern matches only ``*``.
* A key is looked up case-insensitively. Only a single-valued key resolves; a key
  supplied as a list (a multi-valued key) never does, as AWS documents.
* An unresolved variable with a default takes the default, which is literal too. A
  default is a single-quoted string with no quotes inside; there is no escape for a
  quote, because AWS documents none.
* A malformed ``${`` (no closing brace, an empty or ill-formed key, a bad default) is
  a validation error in a 2012-10-17 policy rather than silently literal text; write
  ``${$}{`` for a literal ``${``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from policies.matching import GlobToken, PatternTokens, Wildcard, tokens_from_text

#: ``${*}``, ``${?}`` and ``${$}`` stand for these characters, always literally.
_ESCAPES = {"*": "*", "?": "?", "$": "$"}
_VARIABLE = re.compile(
    r"(?P<key>[A-Za-z0-9.-]+:[A-Za-z0-9 _.:/=+@-]+?)\s*(?:,\s*'(?P<default>[^']*)')?\s*"
)


class VariableSyntaxError(ValueError):
    """A ``${...}`` that is neither a well-formed variable nor an escape."""


@dataclass(frozen=True, slots=True)
class Variable:
    """A reference to a request-context key inside a policy string."""

    name: str
    key: str
    default: str | None

    def render(self) -> str:
        if self.default is None:
            return f"${{{self.name}}}"
        return f"${{{self.name}, '{self.default}'}}"


TemplatePart = GlobToken | Variable
Template = tuple[TemplatePart, ...]

#: How a template looks up a variable: lower-case key → its single string value.
Resolver = Callable[[str], str | None]


def has_variables(template: Sequence[TemplatePart]) -> bool:
    return any(isinstance(part, Variable) for part in template)


def parse_template(text: str, *, wildcards: bool) -> Template:
    """Split ``text`` into literal text, wildcards (if ``wildcards``) and variables.

    Escapes become literal text, never wildcards, so ``${*}`` is a literal ``*``.
    """
    parts: list[TemplatePart] = []
    cursor = 0
    while True:
        start = text.find("${", cursor)
        if start < 0:
            break
        _append_text(parts, text[cursor:start], wildcards)
        close = text.find("}", start + 2)
        if close < 0:
            raise VariableSyntaxError(
                f"'${{' at offset {start} has no closing '}}' (write ${{$}} for a literal '$')"
            )
        body = text[start + 2 : close]
        escaped = _ESCAPES.get(body)
        if escaped is not None:
            parts.append(escaped)
        else:
            parts.append(_parse_variable(body))
        cursor = close + 1
    _append_text(parts, text[cursor:], wildcards)
    return _merge_literals(parts)


def literal_template(text: str, *, wildcards: bool) -> Template:
    """A template without variables (2008-10-17 semantics: ``${`` is plain text)."""
    return tokens_from_text(text) if wildcards else ((text,) if text else ())


def substitute(template: Sequence[TemplatePart], resolve: Resolver) -> PatternTokens | None:
    """Replace every variable by its (literal) value; ``None`` if one cannot be resolved."""
    tokens: list[GlobToken] = []
    for part in template:
        if isinstance(part, Variable):
            value = resolve(part.key)
            if value is None:
                value = part.default
            if value is None:
                return None
            part = value
        if isinstance(part, str) and tokens and isinstance(tokens[-1], str):
            tokens[-1] += part
        elif part != "":
            tokens.append(part)
    return tuple(tokens)


def template_text(template: Sequence[TemplatePart]) -> str:
    """The template as text: wildcards as ``*``/``?``, variables as ``${...}``."""
    return "".join(
        part.value
        if isinstance(part, Wildcard)
        else part.render()
        if isinstance(part, Variable)
        else part
        for part in template
    )


def _parse_variable(body: str) -> Variable:
    match = _VARIABLE.fullmatch(body)
    if match is None:
        raise VariableSyntaxError(
            f"'${{{body}}}' is not a policy variable: expected ${{vendor:key}} or "
            "${vendor:key, 'default'}"
        )
    name = match.group("key")
    return Variable(name=name, key=name.lower(), default=match.group("default"))


def _append_text(parts: list[TemplatePart], text: str, wildcards: bool) -> None:
    if not text:
        return
    if wildcards:
        parts.extend(tokens_from_text(text))
    else:
        parts.append(text)


def _merge_literals(parts: Sequence[TemplatePart]) -> Template:
    merged: list[TemplatePart] = []
    for part in parts:
        if isinstance(part, str):
            if not part:
                continue
            if merged and isinstance(merged[-1], str):
                merged[-1] = merged[-1] + part
                continue
        merged.append(part)
    return tuple(merged)
