"""The action catalogue: every ``kms:`` permission, plus Trent's own.

Policy actions are ``kms:<Operation>`` except that ReEncrypt is authorized as
``kms:ReEncryptFrom`` (source key) and ``kms:ReEncryptTo`` (destination key); there
is no ``kms:ReEncrypt``. Wildcards in policies are matched lazily against request
actions, never pre-expanded, so ``kms:*`` covers actions added later; this catalogue
serves the parser (a ``kms:`` or ``trent:`` pattern that matches none of it is
refused, :mod:`policies.vocabulary`), the simulator (expanding ``kms:Generate*`` into
concrete actions), the lint and the separation-of-duties check.

Classification, for separation of duties:

* **usage** — the cryptographic operations, plus ``kms:CreateGrant``, because a
  grant can hand out any cryptographic operation (even to oneself), and
  ``kms:GetPublicKey``, which hands out the public half of a signing or
  encryption key (so that others can verify or encrypt without Trent) and is
  therefore part of using the key, not of managing it;
* **administrative** — everything that manages a key or the account's keys;
* of the administrative actions, the read-only ones (``Describe*``, ``Get*``,
  ``List*``) are **neutral**: key users may hold them (the console's key-user
  statement includes ``kms:DescribeKey``) without breaking separation of duties;
  except the import actions (``kms:GetParametersForImport`` included): they
  decide a key's material, which is administration.
"""

from __future__ import annotations

from policies.matching import Glob

KMS_OPERATIONS: tuple[str, ...] = (
    "CancelKeyDeletion",
    "ConnectCustomKeyStore",
    "CreateAlias",
    "CreateCustomKeyStore",
    "CreateGrant",
    "CreateKey",
    "Decrypt",
    "DeleteAlias",
    "DeleteCustomKeyStore",
    "DeleteImportedKeyMaterial",
    "DeriveSharedSecret",
    "DescribeCustomKeyStores",
    "DescribeKey",
    "DisableKey",
    "DisableKeyRotation",
    "DisconnectCustomKeyStore",
    "EnableKey",
    "EnableKeyRotation",
    "Encrypt",
    "GenerateDataKey",
    "GenerateDataKeyPair",
    "GenerateDataKeyPairWithoutPlaintext",
    "GenerateDataKeyWithoutPlaintext",
    "GenerateMac",
    "GenerateRandom",
    "GetKeyLastUsage",
    "GetKeyPolicy",
    "GetKeyRotationStatus",
    "GetParametersForImport",
    "GetPublicKey",
    "ImportKeyMaterial",
    "ListAliases",
    "ListGrants",
    "ListKeyPolicies",
    "ListKeyRotations",
    "ListKeys",
    "ListResourceTags",
    "ListRetirableGrants",
    "PutKeyPolicy",
    "ReEncryptFrom",
    "ReEncryptTo",
    "ReplicateKey",
    "RetireGrant",
    "RevokeGrant",
    "RotateKeyOnDemand",
    "ScheduleKeyDeletion",
    "Sign",
    "TagResource",
    "UntagResource",
    "UpdateAlias",
    "UpdateCustomKeyStore",
    "UpdateKeyDescription",
    "UpdatePrimaryRegion",
    "Verify",
    "VerifyMac",
)

READ_AUDIT_LOG = "trent:ReadAuditLog"

#: Every action the service authorizes, in catalogue order.
ALL_ACTIONS: tuple[str, ...] = (*(f"kms:{name}" for name in KMS_OPERATIONS), READ_AUDIT_LOG)

CRYPTOGRAPHIC_ACTIONS: frozenset[str] = frozenset(
    f"kms:{name}"
    for name in (
        "Encrypt",
        "Decrypt",
        "ReEncryptFrom",
        "ReEncryptTo",
        "GenerateDataKey",
        "GenerateDataKeyWithoutPlaintext",
        "GenerateDataKeyPair",
        "GenerateDataKeyPairWithoutPlaintext",
        "Sign",
        "Verify",
        "GenerateMac",
        "VerifyMac",
        "DeriveSharedSecret",
    )
)

#: Actions that count as key *use* for separation of duties.
USAGE_ACTIONS: frozenset[str] = CRYPTOGRAPHIC_ACTIONS | {"kms:CreateGrant", "kms:GetPublicKey"}

#: Actions with no key resource; identity policies alone decide them.
ACCOUNT_ACTIONS: frozenset[str] = frozenset(
    {
        "kms:CreateKey",
        "kms:ListKeys",
        "kms:ListAliases",
        "kms:GenerateRandom",
        "kms:ListRetirableGrants",
        "kms:ConnectCustomKeyStore",
        "kms:CreateCustomKeyStore",
        "kms:DeleteCustomKeyStore",
        "kms:DescribeCustomKeyStores",
        "kms:DisconnectCustomKeyStore",
        "kms:UpdateCustomKeyStore",
        READ_AUDIT_LOG,
    }
)

#: Everything about managing keys: all kms actions that are not usage, minus
#: GenerateRandom (it needs no key) and RetireGrant (it only gives up a grant).
ADMINISTRATIVE_ACTIONS: frozenset[str] = frozenset(
    action
    for action in ALL_ACTIONS
    if action.startswith("kms:")
    and action not in USAGE_ACTIONS
    and action not in ("kms:GenerateRandom", "kms:RetireGrant")
)

_READ_ONLY_PREFIXES = ("kms:Describe", "kms:Get", "kms:List")

#: The actions that bring, or take away, imported key material (administration).
IMPORT_ACTIONS: frozenset[str] = frozenset(
    {"kms:GetParametersForImport", "kms:ImportKeyMaterial", "kms:DeleteImportedKeyMaterial"}
)

#: Read-only administrative actions: neutral for separation of duties.
READ_ONLY_ACTIONS: frozenset[str] = frozenset(
    action
    for action in ADMINISTRATIVE_ACTIONS
    if action.startswith(_READ_ONLY_PREFIXES) and action not in IMPORT_ACTIONS
)

#: Administrative actions that change a key, its policy, aliases, tags or state.
MANAGEMENT_ACTIONS: frozenset[str] = ADMINISTRATIVE_ACTIONS - READ_ONLY_ACTIONS

_LOWER_TO_ACTION = {action.lower(): action for action in ALL_ACTIONS}


def canonical_action(name: str) -> str | None:
    """The catalogue spelling of an action name (case-insensitive), if it is known."""
    return _LOWER_TO_ACTION.get(name.lower())


def expand_action_pattern(pattern: str) -> tuple[str, ...]:
    """The catalogue actions a pattern (``kms:Generate*``, ``*``...) covers, in order."""
    lowered = pattern.lower()
    if lowered == "*":
        return ALL_ACTIONS
    vendor, colon, name = lowered.partition(":")
    if not colon:
        return ()
    glob = Glob.from_text(name)
    return tuple(
        action
        for action in ALL_ACTIONS
        if action.lower().partition(":")[0] == vendor
        and glob.matches(action.lower().partition(":")[2])
    )


def is_account_action(action: str) -> bool:
    canonical = canonical_action(action)
    return canonical is not None and canonical in ACCOUNT_ACTIONS
