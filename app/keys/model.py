"""The key domain: keys, versions, aliases, and what each key state allows."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from app.errors import DisabledError, InvalidStateError


class KeyState(enum.StrEnum):
    ENABLED = "Enabled"
    DISABLED = "Disabled"
    PENDING_DELETION = "PendingDeletion"
    PENDING_IMPORT = "PendingImport"


SYMMETRIC_DEFAULT = "SYMMETRIC_DEFAULT"
ENCRYPT_DECRYPT = "ENCRYPT_DECRYPT"
ORIGIN_AWS_KMS = "AWS_KMS"
ORIGIN_EXTERNAL = "EXTERNAL"
KEY_MATERIAL_EXPIRES = "KEY_MATERIAL_EXPIRES"
KEY_MATERIAL_DOES_NOT_EXPIRE = "KEY_MATERIAL_DOES_NOT_EXPIRE"


@dataclass(frozen=True)
class Key:
    """A customer master key as the domain sees it (never its material)."""

    key_id: str
    account: str
    arn: str
    description: str
    key_usage: str
    key_spec: str
    origin: str
    state: KeyState
    created_at: float
    policy: str
    current_version: int
    rotation_enabled: bool = False
    rotation_period_days: int | None = None
    next_rotation_at: float | None = None
    on_demand_rotations: int = 0
    deletion_date: float | None = None
    pending_window_days: int | None = None
    current_material_id: str | None = None
    revision: int = 1
    tags: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    #: Imported material only: ``KEY_MATERIAL_EXPIRES`` or ``..._DOES_NOT_EXPIRE``.
    expiration_model: str | None = None
    #: Imported material only: when it expires (epoch seconds), if it does.
    valid_to: float | None = None
    #: Keys in a custom key store (``Origin=AWS_CLOUDHSM``) only.
    custom_key_store_id: str | None = None

    @property
    def enabled(self) -> bool:
        return self.state is KeyState.ENABLED

    def material_expired(self, now: float) -> bool:
        """Imported material past its ``ValidTo``: unusable even before the
        scheduler has deleted it (fail closed)."""
        return self.valid_to is not None and now >= self.valid_to


@dataclass(frozen=True)
class KeyVersionInfo:
    """Metadata of one version of a key's material (no material)."""

    version: int
    material_id: str
    created_at: float
    rotation_type: str | None


@dataclass(frozen=True)
class ImportToken:
    """The server's half of one GetParametersForImport answer: which key and
    algorithm the token is for, and the wrapping private key, sealed. Found by
    the SHA-256 of the token (``digest``); the token itself is never stored."""

    digest: str
    key_id: str
    wrapping_algorithm: str
    wrapping_key_spec: str
    sealed_wrapping_key: bytes = field(repr=False)
    created_at: float
    expires_at: float


@dataclass(frozen=True)
class Alias:
    account: str
    name: str
    key_id: str
    created_at: float
    updated_at: float


class VersionTaken(Exception):
    """The key version being added exists already: another process rotated
    the key at the same moment. Not a :class:`~app.errors.KmsError`: the
    automatic rotation skips the key, and anywhere else it is a fault (500)."""


# What each key state allows, from kms-api.md §3 (the AWS key-state table),
# for the states a key of this service can be in. ``None`` means the operation
# succeeds; otherwise the error class raised, with AWS's message.
StateError = type[DisabledError] | type[InvalidStateError] | None
StateRule = dict[KeyState, StateError]

_OK: StateError = None
_DIS: StateError = DisabledError
_INV: StateError = InvalidStateError

_USE: StateRule = {
    KeyState.ENABLED: _OK,
    KeyState.DISABLED: _DIS,
    KeyState.PENDING_DELETION: _INV,
    KeyState.PENDING_IMPORT: _INV,
}
_ANY: StateRule = {
    KeyState.ENABLED: _OK,
    KeyState.DISABLED: _OK,
    KeyState.PENDING_DELETION: _OK,
    KeyState.PENDING_IMPORT: _OK,
}
_MANAGE: StateRule = {
    KeyState.ENABLED: _OK,
    KeyState.DISABLED: _OK,
    KeyState.PENDING_DELETION: _INV,
    KeyState.PENDING_IMPORT: _OK,
}
#: EnableKey and DisableKey: a key without material can be neither.
_TOGGLE: StateRule = {**_MANAGE, KeyState.PENDING_IMPORT: _INV}

STATE_RULES: dict[str, StateRule] = {
    "Encrypt": _USE,
    "Decrypt": _USE,
    "ReEncrypt": _USE,
    "GenerateDataKey": _USE,
    "GenerateDataKeyWithoutPlaintext": _USE,
    "GenerateDataKeyPair": _USE,
    "GenerateDataKeyPairWithoutPlaintext": _USE,
    "Sign": _USE,
    "Verify": _USE,
    "GenerateMac": _USE,
    "VerifyMac": _USE,
    "GetPublicKey": _USE,
    "CreateGrant": _USE,
    "EnableKeyRotation": _USE,
    "DisableKeyRotation": _USE,
    "RotateKeyOnDemand": _USE,
    "DescribeKey": _ANY,
    "GetKeyPolicy": _ANY,
    "PutKeyPolicy": _ANY,
    "ListKeyPolicies": _ANY,
    "ListResourceTags": _ANY,
    "ListKeyRotations": _ANY,
    "GetKeyRotationStatus": _ANY,
    "ListGrants": _ANY,
    "RevokeGrant": _ANY,
    "RetireGrant": _ANY,
    "DeleteAlias": _ANY,
    "ListAliases": _ANY,
    "CreateAlias": _MANAGE,
    "UpdateAlias": _MANAGE,
    "EnableKey": _TOGGLE,
    "DisableKey": _TOGGLE,
    "TagResource": _MANAGE,
    "UntagResource": _MANAGE,
    "UpdateKeyDescription": _MANAGE,
    "ScheduleKeyDeletion": _MANAGE,
    "CancelKeyDeletion": {
        KeyState.ENABLED: _INV,
        KeyState.DISABLED: _INV,
        KeyState.PENDING_DELETION: _OK,
        KeyState.PENDING_IMPORT: _INV,
    },
    # Imported material (the key's origin is checked first: EXTERNAL only).
    "GetParametersForImport": _MANAGE,
    "ImportKeyMaterial": _MANAGE,
    "DeleteImportedKeyMaterial": _ANY,
}


def state_message(
    key: Key, error: type[DisabledError] | type[InvalidStateError], operation: str = ""
) -> str:
    if error is DisabledError:
        return f"{key.arn} is disabled."
    if operation == "CancelKeyDeletion":
        return f"{key.arn} is not pending deletion."
    if key.state is KeyState.PENDING_DELETION:
        return f"{key.arn} is pending deletion."
    if key.state is KeyState.PENDING_IMPORT:
        return f"{key.arn} is pending import."
    return f"{key.arn} is not pending deletion."


def require_state(operation: str, key: Key) -> None:
    """Raise AWS's error if ``key``'s state does not allow ``operation``."""
    error = STATE_RULES[operation].get(key.state, InvalidStateError)
    if error is not None:
        raise error(state_message(key, error, operation))
