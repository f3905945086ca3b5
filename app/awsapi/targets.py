"""``X-Amz-Target`` → the operation and the request schema it runs.

The same operations and schemas as the REST door: no operation is written
twice. KMS operations this service does not offer are named here too, so a
client gets ``UnsupportedOperationException`` for them rather than the
"unknown operation" answer reserved for names KMS itself does not have.
"""

from __future__ import annotations

from typing import NamedTuple

from marshmallow import Schema

from app.api.endpoint import Operation
from app.api.schemas import keys as s
from app.operations import aliases, encryption, keys, policy_documents, rotation, tags

TARGET_PREFIX = "TrentService"


class Target(NamedTuple):
    operation: Operation
    schema: type[Schema]


TARGETS: dict[str, Target] = {
    "CreateKey": Target(keys.create_key, s.CreateKeySchema),
    "DescribeKey": Target(keys.describe_key, s.DescribeKeySchema),
    "ListKeys": Target(keys.list_keys, s.ListKeysSchema),
    "UpdateKeyDescription": Target(keys.update_key_description, s.UpdateKeyDescriptionSchema),
    "EnableKey": Target(keys.enable_key, s.KeyIdSchema),
    "DisableKey": Target(keys.disable_key, s.KeyIdSchema),
    "ScheduleKeyDeletion": Target(keys.schedule_key_deletion, s.ScheduleKeyDeletionSchema),
    "CancelKeyDeletion": Target(keys.cancel_key_deletion, s.KeyIdSchema),
    "GetKeyRotationStatus": Target(rotation.get_key_rotation_status, s.KeyRotationSchema),
    "EnableKeyRotation": Target(rotation.enable_key_rotation, s.EnableKeyRotationSchema),
    "DisableKeyRotation": Target(rotation.disable_key_rotation, s.KeyRotationSchema),
    "RotateKeyOnDemand": Target(rotation.rotate_key_on_demand, s.KeyRotationSchema),
    "ListKeyRotations": Target(rotation.list_key_rotations, s.ListKeyRotationsSchema),
    "GetKeyPolicy": Target(policy_documents.get_key_policy, s.GetKeyPolicySchema),
    "PutKeyPolicy": Target(policy_documents.put_key_policy, s.PutKeyPolicySchema),
    "ListKeyPolicies": Target(policy_documents.list_key_policies, s.ListKeyPoliciesSchema),
    "ListResourceTags": Target(tags.list_resource_tags, s.ListResourceTagsSchema),
    "TagResource": Target(tags.tag_resource, s.TagResourceSchema),
    "UntagResource": Target(tags.untag_resource, s.UntagResourceSchema),
    "CreateAlias": Target(aliases.create_alias, s.CreateAliasSchema),
    "UpdateAlias": Target(aliases.update_alias, s.UpdateAliasSchema),
    "DeleteAlias": Target(aliases.delete_alias, s.DeleteAliasSchema),
    "ListAliases": Target(aliases.list_aliases, s.ListAliasesSchema),
    "Encrypt": Target(encryption.encrypt, s.EncryptSchema),
    "Decrypt": Target(encryption.decrypt, s.DecryptSchema),
    "ReEncrypt": Target(encryption.re_encrypt, s.ReEncryptSchema),
    "GenerateDataKey": Target(encryption.generate_data_key, s.GenerateDataKeySchema),
    "GenerateDataKeyWithoutPlaintext": Target(
        encryption.generate_data_key, s.GenerateDataKeyWithoutPlaintextSchema
    ),
    "GenerateRandom": Target(encryption.generate_random, s.GenerateRandomSchema),
}

#: KMS operations (botocore's model) that Trent does not offer (yet).
UNSUPPORTED = frozenset(
    {
        "ConnectCustomKeyStore",
        "CreateCustomKeyStore",
        "CreateGrant",
        "DeleteCustomKeyStore",
        "DeleteImportedKeyMaterial",
        "DeriveSharedSecret",
        "DescribeCustomKeyStores",
        "DisconnectCustomKeyStore",
        "GenerateDataKeyPair",
        "GenerateDataKeyPairWithoutPlaintext",
        "GenerateMac",
        "GetKeyLastUsage",
        "GetParametersForImport",
        "GetPublicKey",
        "ImportKeyMaterial",
        "ListGrants",
        "ListRetirableGrants",
        "ReplicateKey",
        "RetireGrant",
        "RevokeGrant",
        "Sign",
        "UpdateCustomKeyStore",
        "UpdatePrimaryRegion",
        "Verify",
        "VerifyMac",
    }
)
