"""Condition values: parsing the policy side, coercing the request side, comparing.

Every operand answers ``compare(request_value)`` with ``True``, ``False`` or ``None``
for *indeterminate*: the request value has a type the operator cannot compare (a
non-numeric string under ``NumericLessThan``, bytes under ``IpAddress``...). The
reference marks this as observed-false for positive operators and open for negated
ones; :mod:`policies.conditions` resolves indeterminate results towards denial (see
there), which is the safe answer for both.

Request values are coerced per family:

* String: ``str`` as is; ``bool`` as ``true``/``false``; numbers in decimal; aware
  datetimes in ISO 8601; bytes in base64; IP addresses in their compressed form.
* Numeric: ``int``/``float`` (not ``bool``) or a decimal string. ``1`` equals ``1.0``.
* Date: aware ``datetime``, epoch seconds (number or numeric string) or ISO 8601.
  A date without a zone is UTC, both in policies and in requests.
* Bool: ``bool`` or the strings ``true``/``false`` in any case (the reference reports
  case-insensitive matching against AWS; it only ever widens what a Deny catches
  because the service itself always supplies real booleans).
* Binary: ``bytes`` only; the policy side is base64.
* IP: ``IPv4Address``/``IPv6Address`` or a string address.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from typing import Protocol

from policies.matching import ArnPattern, Glob, PatternTokens
from policies.operators import Comparison, Family

IpAddressValue = IPv4Address | IPv6Address
ContextScalar = str | bool | int | float | datetime | bytes | IpAddressValue

_EPOCH = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")


class Operand(Protocol):
    def compare(self, value: ContextScalar) -> bool | None: ...


def display_value(value: ContextScalar) -> str:
    """A request value as text, for explanations."""
    text = as_string(value)
    return text if text is not None else repr(value)


def as_string(value: ContextScalar) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return str(value)


def as_decimal(value: ContextScalar) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float | str):
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            return None
        return number if number.is_finite() else None
    return None


def as_datetime(value: ContextScalar) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float | str):
        try:
            return parse_date(str(value))
        except ValueError:
            return None
    return None


def as_bool(value: ContextScalar) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return parse_bool_text(value)
    return None


def as_ip(value: ContextScalar) -> IpAddressValue | None:
    if isinstance(value, IPv4Address | IPv6Address):
        return value
    if isinstance(value, str):
        try:
            return ip_address(value.strip())
        except ValueError:
            return None
    return None


def parse_bool_text(text: str) -> bool | None:
    lowered = text.lower()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    return None


def parse_date(text: str) -> datetime:
    """ISO 8601 (W3C profile) or epoch seconds; raise ValueError otherwise."""
    text = text.strip()
    if _EPOCH.fullmatch(text):
        try:
            return datetime.fromtimestamp(float(text), tz=UTC)
        except (OverflowError, OSError, ValueError) as error:
            raise ValueError(f"epoch seconds out of range: {text}") from error
    if not text[:4].isdigit() or len(text) < 10 or text[4] != "-":
        raise ValueError(f"not an ISO 8601 date or epoch seconds: {text!r}")
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def parse_decimal(text: str) -> Decimal:
    try:
        number = Decimal(text.strip())
    except InvalidOperation as error:
        raise ValueError(f"not a number: {text!r}") from error
    if not number.is_finite():
        raise ValueError(f"not a finite number: {text!r}")
    return number


def parse_binary(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as error:
        raise ValueError(f"not base64: {text!r}") from error


def parse_network(text: str) -> IPv4Network | IPv6Network:
    """CIDR (IPv4 or IPv6); a bare address is a /32 or /128; host bits are ignored."""
    try:
        return ip_network(text.strip(), strict=False)
    except ValueError as error:
        raise ValueError(f"not an IP address or CIDR block: {text!r}") from error


def _ordered(comparison: Comparison, left: Decimal | datetime, right: Decimal | datetime) -> bool:
    # Both sides are of one type; the operand classes guarantee it.
    if comparison is Comparison.EQUALS:
        return left == right
    if comparison is Comparison.LESS_THAN:
        return left < right  # type: ignore[operator]
    if comparison is Comparison.LESS_THAN_EQUALS:
        return left <= right  # type: ignore[operator]
    if comparison is Comparison.GREATER_THAN:
        return left > right  # type: ignore[operator]
    return left >= right  # type: ignore[operator]


class StringEquals:
    __slots__ = ("expected",)

    def __init__(self, expected: str) -> None:
        self.expected = expected

    def compare(self, value: ContextScalar) -> bool | None:
        text = as_string(value)
        return None if text is None else text == self.expected


class StringEqualsIgnoreCase:
    __slots__ = ("expected",)

    def __init__(self, expected: str) -> None:
        # Per-character lower-casing, not Unicode normalisation: AWS does not equate
        # composed and decomposed forms either.
        self.expected = expected.lower()

    def compare(self, value: ContextScalar) -> bool | None:
        text = as_string(value)
        return None if text is None else text.lower() == self.expected


class StringLike:
    __slots__ = ("glob",)

    def __init__(self, tokens: PatternTokens) -> None:
        self.glob = Glob(tokens)

    def compare(self, value: ContextScalar) -> bool | None:
        text = as_string(value)
        return None if text is None else self.glob.matches(text)


class ArnLike:
    __slots__ = ("pattern",)

    def __init__(self, tokens: PatternTokens) -> None:
        # A policy value that is not six colon-separated parts matches nothing.
        self.pattern = ArnPattern.from_tokens(tokens)

    def compare(self, value: ContextScalar) -> bool | None:
        if not isinstance(value, str):
            return None
        return self.pattern is not None and self.pattern.matches(value)


class NumericCompare:
    __slots__ = ("expected", "comparison")

    def __init__(self, expected: Decimal, comparison: Comparison) -> None:
        self.expected = expected
        self.comparison = comparison

    def compare(self, value: ContextScalar) -> bool | None:
        number = as_decimal(value)
        return None if number is None else _ordered(self.comparison, number, self.expected)


class DateCompare:
    __slots__ = ("expected", "comparison")

    def __init__(self, expected: datetime, comparison: Comparison) -> None:
        self.expected = expected
        self.comparison = comparison

    def compare(self, value: ContextScalar) -> bool | None:
        moment = as_datetime(value)
        return None if moment is None else _ordered(self.comparison, moment, self.expected)


class BoolEquals:
    __slots__ = ("expected",)

    def __init__(self, expected: bool) -> None:
        self.expected = expected

    def compare(self, value: ContextScalar) -> bool | None:
        flag = as_bool(value)
        return None if flag is None else flag is self.expected


class BinaryEquals:
    __slots__ = ("expected",)

    def __init__(self, expected: bytes) -> None:
        self.expected = expected

    def compare(self, value: ContextScalar) -> bool | None:
        if not isinstance(value, bytes):
            return None
        return value == self.expected


class InNetwork:
    __slots__ = ("network",)

    def __init__(self, network: IPv4Network | IPv6Network) -> None:
        self.network = network

    def compare(self, value: ContextScalar) -> bool | None:
        address = as_ip(value)
        if address is None:
            return None
        return address.version == self.network.version and address in self.network


def textual_operand(family: Family, comparison: Comparison, tokens: PatternTokens) -> Operand:
    """The operand of a String or ARN operator from (substituted) pattern tokens."""
    if family is Family.ARN:
        return ArnLike(tokens)
    if comparison is Comparison.LIKE:
        return StringLike(tokens)
    text = "".join(token if isinstance(token, str) else token.value for token in tokens)
    if comparison is Comparison.EQUALS_IGNORE_CASE:
        return StringEqualsIgnoreCase(text)
    return StringEquals(text)
