"""What is being decided: who calls, which action, on what, with which context.

The request context maps condition keys to values. Keys are case-insensitive, so
two keys that differ only by case (``kms:EncryptionContext:Dept`` and
``kms:EncryptionContext:dept``) are refused with :class:`ContextError` rather than
letting one silently shadow the other; the service should answer such a request
with a validation error. (The reference leaves this open; AWS says such a condition
"matches both keys but only one value", which no reviewer can predict.)

Some keys follow from the caller and are always filled in from it:
``aws:PrincipalArn`` (the role ARN for a role session), ``aws:PrincipalAccount``,
``aws:PrincipalType``, ``aws:username`` (IAM users only), ``kms:CallerAccount`` and
``aws:PrincipalTag/<k>`` for each principal tag. A context entry may repeat one of
them with the same value but not contradict it: the caller's identity is not
something a request body can override.

A value given as a list or tuple is multi-valued (``aws:TagKeys``,
``kms:EncryptionContextKeys``), even with a single element; an empty list is
"present with no values" and behaves as absent in conditions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from ipaddress import IPv4Address, IPv6Address
from types import MappingProxyType
from typing import NamedTuple, cast

from policies.operands import ContextScalar, as_string
from policies.principals import CallerIdentity, PrincipalKind, describe_caller

ContextValue = ContextScalar | list[ContextScalar] | tuple[ContextScalar, ...]

_SCALAR_TYPES = (str, bool, int, float, datetime, bytes, IPv4Address, IPv6Address)
_PRINCIPAL_TYPE_VALUES = {PrincipalKind.ROLE: "AssumedRole"}


class ContextError(ValueError):
    """The request or its context cannot be evaluated as given."""


class ContextEntry(NamedTuple):
    """One context key: the name as supplied, its values, and whether it was a list."""

    name: str
    values: tuple[ContextScalar, ...]
    is_list: bool


@dataclass(frozen=True, slots=True, eq=False)
class Request:
    """A request to authorize. ``resource`` is the key ARN, or ``*`` for account actions."""

    principal: str
    action: str
    resource: str = "*"
    principal_account: str | None = None
    principal_tags: Mapping[str, str] = field(default_factory=dict)
    context: Mapping[str, ContextValue] = field(default_factory=dict)
    caller: CallerIdentity = field(init=False, repr=False)
    action_vendor: str = field(init=False, repr=False)
    action_name: str = field(init=False, repr=False)
    entries: Mapping[str, ContextEntry] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        try:
            caller = describe_caller(self.principal)
        except ValueError as error:
            raise ContextError(str(error)) from error
        if (
            self.principal_account is not None
            and caller.account is not None
            and self.principal_account != caller.account
        ):
            raise ContextError(
                f"principal_account {self.principal_account} does not match {self.principal}"
            )
        vendor, colon, name = self.action.partition(":")
        if not colon or not vendor or not name or "*" in self.action or "?" in self.action:
            raise ContextError(f"not an action name: {self.action!r}")
        object.__setattr__(self, "caller", caller)
        object.__setattr__(self, "action_vendor", vendor.lower())
        object.__setattr__(self, "action_name", name.lower())
        object.__setattr__(self, "entries", self._entries(caller))

    @property
    def account(self) -> str | None:
        """The caller's account."""
        return self.caller.account or self.principal_account

    def resolve_variable(self, key: str) -> str | None:
        """The single value of a lower-case context key as text, for policy variables."""
        entry = self.entries.get(key)
        if entry is None or entry.is_list or not entry.values:
            return None
        return as_string(entry.values[0])

    def _entries(self, caller: CallerIdentity) -> dict[str, ContextEntry]:
        identity = _identity_entries(caller, caller.account or self.principal_account)
        entries = dict(identity)
        for tag, tag_value in self.principal_tags.items():
            if not isinstance(tag, str) or not isinstance(tag_value, str):
                raise ContextError("principal tags must map strings to strings")
            name = f"aws:PrincipalTag/{tag}"
            key = name.lower()
            if key in entries:
                raise ContextError(f"principal tags {tag!r} differ only by case")
            entries[key] = ContextEntry(name, (tag_value,), False)
        derived = dict(entries)
        for name, raw in self.context.items():
            entry = _context_entry(name, raw)
            key = name.lower()
            fixed = derived.get(key)
            if fixed is not None:
                if entry.is_list or entry.values != fixed.values:
                    raise ContextError(
                        f"context key {name} contradicts the caller's identity "
                        f"({fixed.values[0]!r})"
                    )
                continue
            if key in entries:
                raise ContextError(
                    f"context keys {entries[key].name!r} and {name!r} differ only by case"
                )
            entries[key] = entry
        return entries


@lru_cache(maxsize=4096)
def _identity_entries(caller: CallerIdentity, account: str | None) -> Mapping[str, ContextEntry]:
    """The context keys that follow from who the caller is (cached: callers repeat)."""
    derived = [
        ("aws:PrincipalArn", caller.policy_arn),
        ("aws:PrincipalType", _PRINCIPAL_TYPE_VALUES.get(caller.kind, caller.kind.value)),
    ]
    if account is not None:
        derived += [("aws:PrincipalAccount", account), ("kms:CallerAccount", account)]
    if caller.user_name is not None:
        derived.append(("aws:username", caller.user_name))
    return MappingProxyType(
        {name.lower(): ContextEntry(name, (value,), False) for name, value in derived}
    )


def _context_entry(name: object, raw: object) -> ContextEntry:
    if not isinstance(name, str) or not name:
        raise ContextError(f"context keys must be non-empty strings, not {name!r}")
    if type(raw) in _PLAIN_SCALARS:
        # Most values of a request (the key's spec, usage and origin, the
        # encryption context): checked by one set lookup.
        return ContextEntry(name, (cast(ContextScalar, raw),), False)
    if isinstance(raw, list | tuple):
        return ContextEntry(name, tuple(_scalar(name, item) for item in raw), True)
    return ContextEntry(name, (_scalar(name, raw),), False)


#: Exact types that :func:`_scalar` always accepts as they are.
_PLAIN_SCALARS = frozenset({str, bool, int, float, bytes, IPv4Address, IPv6Address})


def _scalar(name: str, value: object) -> ContextScalar:
    if not isinstance(value, _SCALAR_TYPES):
        raise ContextError(f"context value of {name} has unsupported type {type(value).__name__}")
    if isinstance(value, datetime) and value.tzinfo is None:
        raise ContextError(f"context value of {name} is a datetime without a time zone")
    return value
