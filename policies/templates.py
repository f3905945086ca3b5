"""Key policy templates (the JSON lives in ``policies/templates/``).

* :func:`default_key_policy` is AWS's default key policy, byte for byte in AWS's own
  pretty-printed layout: it gives the account root ``kms:*`` and so delegates every
  decision to identity policies.
* :func:`administrators_users_policy` is the safer version of the console's policy:
  the root delegation, key administrators with an explicit list of management
  actions (never ``kms:Create*``, which includes ``kms:CreateGrant`` and would let an
  administrator grant themselves Decrypt), and key users with the cryptographic
  actions plus ``kms:DescribeKey``. Its output passes the separation-of-duties check
  and the lint without errors; a principal named both administrator and user is
  refused for that reason.

A principal the administrators/users template cannot use (not a principal ARN or
account id, ``"*"``, another partition than the policy's, or one named in both
roles) raises :class:`TemplatePrincipalError`, which names it: callers answer it as
a client error.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from importlib import resources

from policies.principals import ACCOUNT, PARTITION, PrincipalSyntaxError, canonical_aws_principal

DEFAULT_TEMPLATE = "default-key-policy.json"
ADMINISTRATORS_USERS_TEMPLATE = "administrators-users-policy.json"
_ADMINISTRATORS = "{{ADMINISTRATORS}}"
_USERS = "{{USERS}}"


class TemplatePrincipalError(ValueError):
    """A principal given for ``role`` ("administrators" or "users") cannot be used."""

    def __init__(self, role: str, principal: str, reason: str) -> None:
        super().__init__(f"{role}: {principal!r} {reason}")
        self.role = role
        self.principal = principal
        self.reason = reason


def template_text(name: str) -> str:
    """The raw text of a template file, placeholders included."""
    return resources.files("policies").joinpath("templates", name).read_text(encoding="utf-8")


def default_key_policy(partition: str, account: str) -> str:
    return _fill(template_text(DEFAULT_TEMPLATE), partition, account)


def administrators_users_policy(
    partition: str, account: str, administrators: Sequence[str], users: Sequence[str]
) -> str:
    """Root delegation + administrators + users; a statement with nobody is left out."""
    admins = _principals(administrators, partition, "administrators")
    key_users = _principals(users, partition, "users")
    both = sorted(set(admins) & set(key_users))
    if both:
        raise TemplatePrincipalError(
            "administrators and users",
            both[0],
            "cannot be both key administrator and key user (separation of duties)",
        )
    document = json.loads(_fill(template_text(ADMINISTRATORS_USERS_TEMPLATE), partition, account))
    statements = []
    for statement in document["Statement"]:
        named = statement["Principal"]["AWS"]
        if named == _ADMINISTRATORS:
            named = admins
        elif named == _USERS:
            named = key_users
        if not named:
            continue
        statement["Principal"]["AWS"] = named
        statements.append(statement)
    document["Statement"] = statements
    return json.dumps(document, indent=2) + "\n"


def _fill(text: str, partition: str, account: str) -> str:
    if not PARTITION.fullmatch(partition):
        raise ValueError(f"not a partition: {partition!r}")
    if not ACCOUNT.fullmatch(account):
        raise ValueError(f"not a 12-digit account id: {account!r}")
    return text.replace("{{PARTITION}}", partition).replace("{{ACCOUNT}}", account)


def _principals(values: Sequence[str], partition: str, role: str) -> list[str]:
    if isinstance(values, str):
        raise TypeError(f"{role} must be a list of principal ARNs, not a string")
    result: list[str] = []
    for value in values:
        if not isinstance(value, str):
            raise TypeError(f"{role} must be principal ARNs, not {type(value).__name__}")
        try:
            canonical = canonical_aws_principal(value)
        except PrincipalSyntaxError:
            raise TemplatePrincipalError(
                role, value, "is not a principal ARN or account id"
            ) from None
        if canonical == "*":
            raise TemplatePrincipalError(role, value, "is not allowed in a template")
        if canonical != value:
            canonical = f"arn:{partition}:iam::{value}:root"
        elif canonical.split(":")[1] != partition:
            raise TemplatePrincipalError(
                role, value, f"is not a principal of the {partition!r} partition"
            )
        if canonical not in result:
            result.append(canonical)
    return result
