"""Principals: validating the ones a policy names, and describing the one that calls.

Principals are matched by ARN string, not through a user registry: any well-formed
ARN may be named, whether or not such a user exists. (The reference leaves open
whether to bind by immutable id or by name. The evaluator binds by name because it
has no registry; a service that deletes and recreates a principal must remove it
from key policies first. This is noted in ``policies/README.md``.)

Accepted in a policy:

* ``"*"`` or ``{"AWS": "*"}``: everyone.
* a 12-digit account id, canonicalised to ``arn:<partition>:iam::<id>:root`` (the
  partition of the first ARN elsewhere in the policy is not guessed: ``aws`` is used,
  as AWS does on save);
* ``arn:<p>:iam::<acct>:root``, ``…:user/[path/]name``, ``…:role/[path/]name``;
* ``arn:<p>:sts::<acct>:assumed-role/<role>/<session>`` and
  ``arn:<p>:sts::<acct>:federated-user/<name>``;
* ``{"Service": "name"}`` with a plain service name.

No partial wildcards (``role/*``), no groups; ``Federated`` and ``CanonicalUser`` are
refused because they mean nothing to a key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

PARTITION = re.compile(r"aws(-[a-z]+)*")
ACCOUNT = re.compile(r"[0-9]{12}")
_NAME = r"[\w+=,.@-]{1,64}"
_IAM_ARN = re.compile(
    rf"arn:(?P<partition>aws(?:-[a-z]+)*):iam::(?P<account>[0-9]{{12}}):"
    rf"(?:(?P<root>root)|(?P<type>user|role)/(?:[\w+=,.@-]+/)*(?P<name>{_NAME}))",
    re.ASCII,
)
_STS_ARN = re.compile(
    rf"arn:(?P<partition>aws(?:-[a-z]+)*):sts::(?P<account>[0-9]{{12}}):"
    rf"(?:assumed-role/(?P<role>{_NAME})/(?P<session>[\w+=,.@-]{{2,64}})"
    rf"|federated-user/(?P<federated>[\w+=,.@-]{{2,32}}))",
    re.ASCII,
)
_SERVICE = re.compile(r"[a-z0-9][a-z0-9.-]*[a-z0-9]", re.ASCII)
_GLOB_CHARACTERS = ("*", "?")


class PrincipalKind(StrEnum):
    ROOT = "Account"
    USER = "User"
    ROLE = "Role"
    ASSUMED_ROLE = "AssumedRole"
    FEDERATED_USER = "FederatedUser"
    SERVICE = "Service"


class PrincipalSyntaxError(ValueError):
    """Not a principal a policy may name. ``wildcard`` marks a partial wildcard."""

    def __init__(self, message: str, *, wildcard: bool = False) -> None:
        super().__init__(message)
        self.wildcard = wildcard


def root_arn(partition: str, account: str) -> str:
    return f"arn:{partition}:iam::{account}:root"


def canonical_aws_principal(value: str) -> str:
    """The canonical form of one ``AWS`` principal entry, or raise PrincipalSyntaxError."""
    if value == "*":
        return value
    if any(char in value for char in _GLOB_CHARACTERS):
        raise PrincipalSyntaxError(
            f"Invalid principal in policy: {value!r}. Partial wildcards are not allowed in "
            'principals; use "Principal": "*" with an ArnLike condition on aws:PrincipalArn.',
            wildcard=True,
        )
    if ACCOUNT.fullmatch(value):
        return root_arn("aws", value)
    if _IAM_ARN.fullmatch(value) or _STS_ARN.fullmatch(value):
        return value
    raise PrincipalSyntaxError(f"Invalid principal in policy: {value!r}")


def check_service_principal(value: str) -> str:
    if value == "*":
        return value
    if any(char in value for char in _GLOB_CHARACTERS):
        raise PrincipalSyntaxError(
            f"Invalid principal in policy: {value!r}. Partial wildcards are not allowed.",
            wildcard=True,
        )
    if not _SERVICE.fullmatch(value):
        raise PrincipalSyntaxError(f"Invalid service principal in policy: {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class CallerIdentity:
    """The calling principal, decomposed for matching.

    ``hierarchy`` lists the ARNs a ``NotPrincipal`` must all name to exempt the
    caller: the account root, then the user or role, then the session.
    ``policy_arn`` is what ``aws:PrincipalArn`` holds (the role for a role session).
    """

    arn: str
    kind: PrincipalKind
    partition: str | None
    account: str | None
    policy_arn: str
    role_arn: str | None
    account_root: str | None
    user_name: str | None
    hierarchy: tuple[str, ...]

    @property
    def is_account_root(self) -> bool:
        return self.kind is PrincipalKind.ROOT


# Callers repeat, and the result is immutable: cache it so requests skip the regexes.
@lru_cache(maxsize=4096)
def describe_caller(principal: str) -> CallerIdentity:
    """Decompose the caller's ARN (or service name); raise ValueError if malformed."""
    iam = _IAM_ARN.fullmatch(principal)
    if iam is not None:
        partition, account = iam.group("partition"), iam.group("account")
        root = root_arn(partition, account)
        if iam.group("root"):
            kind = PrincipalKind.ROOT
            hierarchy: tuple[str, ...] = (root,)
        else:
            kind = PrincipalKind.USER if iam.group("type") == "user" else PrincipalKind.ROLE
            hierarchy = (root, principal)
        return CallerIdentity(
            arn=principal,
            kind=kind,
            partition=partition,
            account=account,
            policy_arn=principal,
            role_arn=None,
            account_root=root,
            user_name=iam.group("name") if kind is PrincipalKind.USER else None,
            hierarchy=hierarchy,
        )
    sts = _STS_ARN.fullmatch(principal)
    if sts is not None:
        partition, account = sts.group("partition"), sts.group("account")
        root = root_arn(partition, account)
        role = None
        if sts.group("role"):
            role = f"arn:{partition}:iam::{account}:role/{sts.group('role')}"
        return CallerIdentity(
            arn=principal,
            kind=PrincipalKind.ASSUMED_ROLE if role else PrincipalKind.FEDERATED_USER,
            partition=partition,
            account=account,
            policy_arn=role or principal,
            role_arn=role,
            account_root=root,
            user_name=None,
            hierarchy=(root, role, principal) if role else (root, principal),
        )
    if _SERVICE.fullmatch(principal) and "." in principal:
        return CallerIdentity(
            arn=principal,
            kind=PrincipalKind.SERVICE,
            partition=None,
            account=None,
            policy_arn=principal,
            role_arn=None,
            account_root=None,
            user_name=None,
            hierarchy=(principal,),
        )
    raise ValueError(f"not a principal ARN or service principal: {principal!r}")
