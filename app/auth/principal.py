"""Who is calling: a principal ARN, its account and its tags."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

PrincipalType = Literal["user", "role", "root"]
AuthMethod = Literal["jwt", "sigv4"]

ACCOUNT_RE = re.compile(r"^[0-9]{12}$")
#: IAM user and role names: 1-64 characters of ``[\w+=,.@-]``.
NAME_RE = re.compile(r"^[\w+=,.@-]{1,64}$", re.ASCII)


@dataclass(frozen=True)
class Principal:
    """An authenticated caller, as policies see it.

    ``arn`` is ``arn:<partition>:iam::<account>:user/<name>``, ``…:role/<name>``
    or ``…:root``. ``tags`` are the principal tags (``aws:PrincipalTag/*``).
    """

    partition: str
    account: str
    type: PrincipalType
    name: str | None
    tags: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    auth_method: AuthMethod = "jwt"
    #: The token's ``jti`` (or the access key id for SigV4), for the audit log.
    token_id: str | None = None
    issuer: str | None = None

    @property
    def arn(self) -> str:
        base = f"arn:{self.partition}:iam::{self.account}:"
        if self.type == "root":
            return base + "root"
        return f"{base}{self.type}/{self.name}"

    @property
    def root_arn(self) -> str:
        return f"arn:{self.partition}:iam::{self.account}:root"

    @property
    def is_root(self) -> bool:
        return self.type == "root"

    def as_dict(self) -> dict[str, object]:
        return {
            "Arn": self.arn,
            "Account": self.account,
            "Type": self.type,
            "Name": self.name,
            "Tags": dict(sorted(self.tags.items())),
            "AuthMethod": self.auth_method,
        }
