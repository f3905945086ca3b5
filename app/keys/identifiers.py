"""Key ids, key ARNs, alias names and alias ARNs: parsing and AWS's errors."""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.errors import InvalidAliasNameError, NotFoundError, ValidationError

KEY_ID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
KEY_ARN_RE = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):kms:(?P<region>[a-z0-9-]+):(?P<account>[0-9]{12}):"
    r"key/(?P<key_id>[^/]+)$"
)
ALIAS_ARN_RE = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):kms:(?P<region>[a-z0-9-]+):(?P<account>[0-9]{12}):"
    r"(?P<name>alias/.+)$"
)
ALIAS_NAME_RE = re.compile(r"^alias/[a-zA-Z0-9/_-]+$")
ALIAS_PREFIX_MESSAGE = (
    'Alias must start with the prefix "alias/". Please see '
    "https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html"
)
RESERVED_ALIAS_PREFIX = "alias/aws/"


@dataclass(frozen=True)
class KeyReference:
    """What a ``KeyId`` parameter named: a key (by id) or an alias (by name),
    and the account it lives in (the caller's unless an ARN says otherwise)."""

    account: str
    key_id: str | None = None
    alias_name: str | None = None

    @property
    def is_alias(self) -> bool:
        return self.alias_name is not None


def key_arn(partition: str, region: str, account: str, key_id: str) -> str:
    return f"arn:{partition}:kms:{region}:{account}:key/{key_id}"


def alias_arn(partition: str, region: str, account: str, name: str) -> str:
    return f"arn:{partition}:kms:{region}:{account}:{name}"


def parse_key_reference(
    value: str,
    *,
    caller_account: str,
    partition: str,
    region: str,
    allow_alias: bool,
) -> KeyReference:
    """Parse a ``KeyId`` parameter as AWS does.

    Management operations take a key id or key ARN only (``allow_alias`` is
    false); cryptographic operations and DescribeKey take alias names and
    alias ARNs too.
    """
    if KEY_ID_RE.match(value):
        return KeyReference(account=caller_account, key_id=value)
    if value.startswith("arn:"):
        match = KEY_ARN_RE.match(value)
        if match:
            _check_arn_place(match, partition, region)
            if not KEY_ID_RE.match(match["key_id"]):
                raise NotFoundError(f"Invalid keyId '{value}'")
            return KeyReference(account=match["account"], key_id=match["key_id"])
        match = ALIAS_ARN_RE.match(value)
        if match and allow_alias:
            _check_arn_place(match, partition, region)
            return KeyReference(account=match["account"], alias_name=match["name"])
        raise NotFoundError(f"Invalid keyId '{value}'")
    if value.startswith("alias/") and allow_alias:
        return KeyReference(account=caller_account, alias_name=value)
    raise NotFoundError(f"Invalid keyId '{value}'")


def _check_arn_place(match: re.Match[str], partition: str, region: str) -> None:
    if match["partition"] != partition or match["region"] != region:
        raise NotFoundError(f"Invalid arn {match['region']}")


def validate_alias_name(name: str) -> None:
    """AWS's rules for ``AliasName``: prefix, characters, the reserved prefix."""
    if not name.startswith("alias/"):
        raise ValidationError(ALIAS_PREFIX_MESSAGE, field="AliasName")
    if not ALIAS_NAME_RE.match(name):
        raise ValidationError(f"{name} contains invalid characters for an alias", field="AliasName")
    if name.startswith(RESERVED_ALIAS_PREFIX) or name == "alias/aws":
        raise InvalidAliasNameError(
            f"Alias {name} cannot begin with alias/aws/: that prefix is reserved."
        )
