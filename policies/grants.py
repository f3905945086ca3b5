"""Grants as data: what a grant allows, to whom, under which constraints.

A grant lets one grantee use one key for a listed set of grant operations,
optionally only when the request's encryption context meets the grant's
constraints. Grants can only allow: :func:`~policies.authorize.decide_key_access`
consults them after every Deny, so no grant lifts an explicit Deny.

The rules, from AWS KMS's documentation:

* **Grantee.** A grant to a user or role applies to that principal (and to the
  sessions of the role). A grant to an account (its root ARN) applies to the
  account root, and to the account's other principals only when one of their
  identity policies allows the action too, as a key policy naming the account
  does.
* **Constraints.** ``EncryptionContextEquals`` asks for exactly the constraint's
  pairs; ``EncryptionContextSubset`` for at least them. Keys compare without
  regard to case, values exactly. Constraints are not applied to DescribeKey and
  RetireGrant.
* **Creating a grant through a grant.** A grant that includes CreateGrant lets
  its grantee create grants no wider than itself: a subset of its operations and
  constraints at least as strict (Subset may become Equals; pairs may be added to
  a Subset, never removed; Equals stays the same Equals).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from policies.request import Request

#: Every operation a grant can carry, in AWS's order.
GRANT_OPERATIONS: tuple[str, ...] = (
    "Decrypt",
    "Encrypt",
    "GenerateDataKey",
    "GenerateDataKeyWithoutPlaintext",
    "ReEncryptFrom",
    "ReEncryptTo",
    "Sign",
    "Verify",
    "GetPublicKey",
    "CreateGrant",
    "RetireGrant",
    "DescribeKey",
    "GenerateDataKeyPair",
    "GenerateDataKeyPairWithoutPlaintext",
    "GenerateMac",
    "VerifyMac",
    "DeriveSharedSecret",
)

#: Operations whose requests carry an encryption context a constraint can test.
#: Constraints are only valid on grants for symmetric encryption keys.
_UNCONSTRAINED = frozenset({"DescribeKey", "RetireGrant"})
_CONTEXT_PREFIX = "kms:encryptioncontext:"

ConstraintType = Literal["EncryptionContextEquals", "EncryptionContextSubset"]


def _folded(pairs: Mapping[str, str]) -> dict[str, str]:
    return {key.lower(): value for key, value in pairs.items()}


@dataclass(frozen=True, slots=True)
class GrantConstraints:
    """A grant's encryption-context constraint (AWS allows one kind per grant)."""

    kind: ConstraintType
    pairs: Mapping[str, str]

    def __post_init__(self) -> None:
        if self.kind not in ("EncryptionContextEquals", "EncryptionContextSubset"):
            raise ValueError(f"unknown grant constraint {self.kind!r}")
        folded = _folded(self.pairs)
        if len(folded) != len(self.pairs):
            raise ValueError("grant constraint keys differ only by case")
        object.__setattr__(self, "pairs", MappingProxyType(dict(self.pairs)))

    def satisfied_by(self, context: Mapping[str, str]) -> bool:
        """Whether a request's encryption context meets the constraint."""
        wanted = _folded(self.pairs)
        given = _folded(context)
        if len(given) != len(context):
            return False  # two context keys that differ only by case: fail closed
        if self.kind == "EncryptionContextEquals":
            return given == wanted
        return all(given.get(key) == value for key, value in wanted.items())

    def within(self, parent: GrantConstraints | None) -> bool:
        """Whether this constraint is at least as strict as ``parent``'s."""
        if parent is None:
            return True
        mine, theirs = _folded(self.pairs), _folded(parent.pairs)
        if parent.kind == "EncryptionContextEquals":
            return self.kind == "EncryptionContextEquals" and mine == theirs
        return all(mine.get(key) == value for key, value in theirs.items())


@dataclass(frozen=True, slots=True)
class Grant:
    """One grant on one key. ``operations`` are grant operation names (``Encrypt``)."""

    grant_id: str
    key_arn: str
    grantee_principal: str
    operations: frozenset[str]
    constraints: GrantConstraints | None = None
    retiring_principal: str | None = None
    name: str | None = None
    issuing_account: str | None = None
    #: Facts kept for listings, never used in decisions.
    created_at: float | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.operations) - set(GRANT_OPERATIONS))
        if unknown:
            raise ValueError(f"not grant operations: {', '.join(unknown)}")
        object.__setattr__(self, "operations", frozenset(self.operations))

    def names(self, request: Request) -> bool:
        """Whether the grantee is the caller itself (or the caller's role)."""
        caller = request.caller
        return self.grantee_principal in (caller.arn, caller.role_arn)

    def names_account_of(self, request: Request) -> bool:
        """Whether the grantee is the caller's account (delegation, as in key policies)."""
        caller = request.caller
        return caller.account_root is not None and self.grantee_principal == caller.account_root

    def within(self, parent: Grant) -> bool:
        """Whether this (new) grant is no wider than ``parent``."""
        if not self.operations <= parent.operations:
            return False
        if self.constraints is None:
            return parent.constraints is None
        return self.constraints.within(parent.constraints)

    def covers(self, request: Request, new_grant: Grant | None = None) -> bool:
        """Whether the grant's operations and constraints cover ``request``.

        ``new_grant`` is the grant a CreateGrant request would create; a grant
        allows CreateGrant only for grants no wider than itself.
        """
        if request.action_vendor != "kms" or request.resource != self.key_arn:
            return False
        operation = _operation(request.action_name)
        if operation is None or operation not in self.operations:
            return False
        if operation == "CreateGrant":
            return new_grant is not None and new_grant.within(self)
        if operation in _UNCONSTRAINED or self.constraints is None:
            return True
        return self.constraints.satisfied_by(encryption_context_of(request))


#: Grants for a decision: the grants themselves, or a function that reads them
#: only if the decision comes to them (no Deny, no policy allow).
GrantSource = Sequence[Grant] | Callable[[], Sequence[Grant]]


def grants_from(source: GrantSource) -> Sequence[Grant]:
    return source() if callable(source) else source


def encryption_context_of(request: Request) -> dict[str, str]:
    """The request's encryption context, from its ``kms:EncryptionContext:<key>`` entries."""
    context: dict[str, str] = {}
    for key, entry in request.entries.items():
        if key.startswith(_CONTEXT_PREFIX) and not entry.is_list and entry.values:
            value = entry.values[0]
            if isinstance(value, str):
                context[entry.name[len(_CONTEXT_PREFIX) :]] = value
    return context


_OPERATION_BY_LOWER = {operation.lower(): operation for operation in GRANT_OPERATIONS}


def _operation(action_name: str) -> str | None:
    return _OPERATION_BY_LOWER.get(action_name)


def grant_operation(action: str) -> str | None:
    """The grant operation a ``kms:`` action is (``kms:Encrypt`` → ``Encrypt``), if any."""
    vendor, _, name = action.partition(":")
    return _operation(name.lower()) if vendor.lower() == "kms" else None


class GrantDocumentError(ValueError):
    """A grant given as JSON (to the simulator or a policy test) is not valid."""


def grant_from_json(document: object, key_arn: str, index: int = 0) -> Grant:
    """A grant from AWS's ``GrantListEntry`` shape (``GranteePrincipal``,
    ``Operations``, ``Constraints``, optional ``GrantId``, ``RetiringPrincipal``,
    ``Name``), for the simulator and policy tests."""
    if not isinstance(document, Mapping):
        raise GrantDocumentError(f"grant {index} must be an object")
    unknown = sorted(set(document) - _GRANT_MEMBERS)
    if unknown:
        raise GrantDocumentError(f"grant {index}: unknown member(s) {', '.join(unknown)}")
    grantee = document.get("GranteePrincipal")
    operations = document.get("Operations")
    if not isinstance(grantee, str) or not grantee:
        raise GrantDocumentError(f"grant {index} needs a GranteePrincipal")
    if (
        not isinstance(operations, list)
        or not operations
        or not all(isinstance(item, str) for item in operations)
    ):
        raise GrantDocumentError(f"grant {index} needs Operations, a list of operation names")
    try:
        return Grant(
            grant_id=str(document.get("GrantId", f"grant-{index}")),
            key_arn=str(document.get("KeyId", key_arn)),
            grantee_principal=grantee,
            operations=frozenset(operations),
            constraints=constraints_from_json(document.get("Constraints")),
            retiring_principal=_optional_text(document, "RetiringPrincipal"),
            name=_optional_text(document, "Name"),
        )
    except ValueError as error:
        raise GrantDocumentError(f"grant {index}: {error}") from None


def constraints_from_json(document: object) -> GrantConstraints | None:
    """AWS's ``GrantConstraints``: at most one of the two maps (None when absent)."""
    if document is None:
        return None
    if not isinstance(document, Mapping):
        raise ValueError("Constraints must be an object")
    given = [(kind, pairs) for kind, pairs in document.items() if pairs is not None]
    if len(given) != 1:
        raise ValueError("Constraints take one of EncryptionContextEquals, EncryptionContextSubset")
    kind, pairs = given[0]
    if kind not in ("EncryptionContextEquals", "EncryptionContextSubset"):
        raise ValueError(f"unknown constraint {kind!r}")
    if not isinstance(pairs, Mapping) or not all(
        isinstance(key, str) and isinstance(value, str) for key, value in pairs.items()
    ):
        raise ValueError(f"{kind} must map strings to strings")
    return GrantConstraints(kind, dict(pairs))


def constraints_json(constraints: GrantConstraints | None) -> dict[str, dict[str, str]] | None:
    if constraints is None:
        return None
    return {constraints.kind: dict(constraints.pairs)}


def grant_json(grant: Grant) -> dict[str, object]:
    """A grant in AWS's ``GrantListEntry`` shape (never a token: grants have none)."""
    entry: dict[str, object] = {
        "GrantId": grant.grant_id,
        "KeyId": grant.key_arn,
        "GranteePrincipal": grant.grantee_principal,
        "Operations": [
            operation for operation in GRANT_OPERATIONS if operation in grant.operations
        ],
    }
    if grant.constraints is not None:
        entry["Constraints"] = constraints_json(grant.constraints)
    if grant.retiring_principal is not None:
        entry["RetiringPrincipal"] = grant.retiring_principal
    if grant.name is not None:
        entry["Name"] = grant.name
    if grant.issuing_account is not None:
        entry["IssuingAccount"] = grant.issuing_account
    if grant.created_at is not None:
        entry["CreationDate"] = grant.created_at
    return entry


_GRANT_MEMBERS = frozenset(
    {
        "GrantId",
        "KeyId",
        "GranteePrincipal",
        "Operations",
        "Constraints",
        "RetiringPrincipal",
        "Name",
        "IssuingAccount",
        "CreationDate",
    }
)


def _optional_text(document: Mapping[str, object], member: str) -> str | None:
    value = document.get(member)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{member} must be a string")
    return value
