"""Request schemas for keys, aliases, tags, rotation and cryptographic operations.

Field names are AWS's (``data_key``); each schema loads into the typed request
its operation takes. The same schemas serve the REST door and the AWS door.
"""

from __future__ import annotations

from typing import Any

from marshmallow import fields

from app.operations import aliases, encryption, keys, policy_documents, rotation
from app.operations import tags as tag_ops
from app.schemas.base import (
    Blob,
    Flag,
    Int,
    RequestSchema,
    StrictSchema,
    StringMap,
    Text,
    TextList,
    policy_document,
)

ARN_PRINCIPAL = (
    r"^arn:aws[a-z-]*:iam::[0-9]{12}:(root|user/[\w+=,.@/-]{1,64}|role/[\w+=,.@/-]{1,64})$"
)
ENCRYPTION_ALGORITHMS = ("SYMMETRIC_DEFAULT", "RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256", "SM2PKE")
KEY_SPECS = (
    "SYMMETRIC_DEFAULT",
    "RSA_2048",
    "RSA_3072",
    "RSA_4096",
    "ECC_NIST_P256",
    "ECC_NIST_P384",
    "ECC_NIST_P521",
    "ECC_SECG_P256K1",
    "ECC_NIST_EDWARDS25519",
    "HMAC_224",
    "HMAC_256",
    "HMAC_384",
    "HMAC_512",
    "SM2",
    "ML_DSA_44",
    "ML_DSA_65",
    "ML_DSA_87",
)
KEY_USAGES = ("SIGN_VERIFY", "ENCRYPT_DECRYPT", "GENERATE_VERIFY_MAC", "KEY_AGREEMENT")
ORIGINS = ("AWS_KMS", "EXTERNAL", "AWS_CLOUDHSM", "EXTERNAL_KEY_STORE")
#: AWS's model pattern for ``AliasName`` (the operation then refuses ``:`` and
#: a missing ``alias/`` prefix with AWS's own messages).
ALIAS_NAME = r"^[a-zA-Z0-9:/_-]+$"


def _key_id(data_key: str, *, required: bool = False) -> Text:
    return Text(min_length=1, max_length=2048, data_key=data_key, required=required)


def grant_tokens_member() -> TextList:
    # Grant tokens are bearer secrets: never quoted in a message.
    item = Text(min_length=1, max_length=8192, quote=False)
    return TextList(item=item, max_items=10, data_key="GrantTokens")


def _alias_name() -> Text:
    return Text(
        required=True, min_length=1, max_length=256, pattern=ALIAS_NAME, data_key="AliasName"
    )


class TagSchema(StrictSchema):
    tag_key = Text(min_length=1, max_length=128, required=True, data_key="TagKey")
    tag_value = Text(min_length=0, max_length=256, required=True, data_key="TagValue")


class CreateKeySchema(RequestSchema):
    builds = keys.CreateKeyRequest

    policy = policy_document("Policy")
    description = Text(max_length=8192, data_key="Description")
    key_usage = Text(choices=KEY_USAGES, data_key="KeyUsage")
    customer_master_key_spec = Text(choices=KEY_SPECS, data_key="CustomerMasterKeySpec")
    key_spec = Text(choices=KEY_SPECS, data_key="KeySpec")
    origin = Text(choices=ORIGINS, data_key="Origin")
    custom_key_store_id = Text(min_length=1, max_length=64, data_key="CustomKeyStoreId")
    bypass_policy_lockout_safety_check = Flag(data_key="BypassPolicyLockoutSafetyCheck")
    bypass_separation_of_duties_check = Flag(data_key="BypassSeparationOfDutiesCheck")
    tags = fields.List(fields.Nested(TagSchema), data_key="Tags")
    multi_region = Flag(data_key="MultiRegion")
    administrators = TextList(
        item=Text(min_length=1, max_length=256, pattern=ARN_PRINCIPAL),
        max_items=100,
        data_key="Administrators",
    )
    users = TextList(
        item=Text(min_length=1, max_length=256, pattern=ARN_PRINCIPAL),
        max_items=100,
        data_key="Users",
    )

    def arguments(self, data: dict[str, Any]) -> dict[str, Any]:
        spec = data.pop("customer_master_key_spec", None)
        if spec is not None and "key_spec" not in data:
            data["key_spec"] = spec
        data["tags"] = [(t["tag_key"], t["tag_value"]) for t in data.get("tags", [])]
        return data


class KeyIdSchema(RequestSchema):
    builds = keys.KeyIdRequest

    key_id = _key_id("KeyId", required=True)


class DescribeKeySchema(RequestSchema):
    builds = keys.DescribeKeyRequest

    key_id = _key_id("KeyId", required=True)
    grant_tokens = grant_tokens_member()


class ListKeysSchema(RequestSchema):
    builds = keys.ListRequest

    limit = Int(minimum=1, maximum=1000, data_key="Limit")
    marker = Text(min_length=1, max_length=1024, pattern=r"^[\u0020-\u00FF]*$", data_key="Marker")


class UpdateKeyDescriptionSchema(RequestSchema):
    builds = keys.UpdateKeyDescriptionRequest

    key_id = _key_id("KeyId", required=True)
    description = Text(required=True, max_length=8192, data_key="Description")


class ScheduleKeyDeletionSchema(RequestSchema):
    builds = keys.ScheduleKeyDeletionRequest

    key_id = _key_id("KeyId", required=True)
    pending_window_in_days = Int(minimum=7, maximum=30, data_key="PendingWindowInDays")


class EnableKeyRotationSchema(RequestSchema):
    builds = rotation.EnableKeyRotationRequest

    key_id = _key_id("KeyId", required=True)
    rotation_period_in_days = Int(minimum=90, maximum=2560, data_key="RotationPeriodInDays")


class KeyRotationSchema(RequestSchema):
    builds = rotation.KeyRotationRequest

    key_id = _key_id("KeyId", required=True)


class ListKeyRotationsSchema(RequestSchema):
    builds = rotation.ListKeyRotationsRequest

    key_id = _key_id("KeyId", required=True)
    include_key_material = Text(
        choices=("ALL_KEY_MATERIAL", "ROTATIONS_ONLY"), data_key="IncludeKeyMaterial"
    )
    limit = Int(minimum=1, maximum=1000, data_key="Limit")
    marker = Text(min_length=1, max_length=1024, pattern=r"^[\u0020-\u00FF]*$", data_key="Marker")


class TagResourceSchema(RequestSchema):
    builds = tag_ops.TagResourceRequest

    key_id = _key_id("KeyId", required=True)
    tags = fields.List(fields.Nested(TagSchema), required=True, data_key="Tags")

    def arguments(self, data: dict[str, Any]) -> dict[str, Any]:
        tags = [(t["tag_key"], t["tag_value"]) for t in data["tags"]]
        return {"key_id": data["key_id"], "tags": tags}


class UntagResourceSchema(RequestSchema):
    builds = tag_ops.UntagResourceRequest

    key_id = _key_id("KeyId", required=True)
    tag_keys = TextList(
        item=Text(min_length=1, max_length=128), required=True, max_items=50, data_key="TagKeys"
    )


class ListResourceTagsSchema(RequestSchema):
    builds = tag_ops.ListResourceTagsRequest

    key_id = _key_id("KeyId", required=True)
    limit = Int(minimum=1, maximum=50, data_key="Limit")
    marker = Text(min_length=1, max_length=1024, pattern=r"^[\u0020-\u00FF]*$", data_key="Marker")


class CreateAliasSchema(RequestSchema):
    builds = aliases.CreateAliasRequest

    alias_name = _alias_name()
    target_key_id = _key_id("TargetKeyId", required=True)


class UpdateAliasSchema(RequestSchema):
    builds = aliases.UpdateAliasRequest

    alias_name = _alias_name()
    target_key_id = _key_id("TargetKeyId", required=True)


class DeleteAliasSchema(RequestSchema):
    builds = aliases.DeleteAliasRequest

    alias_name = _alias_name()


class ListAliasesSchema(RequestSchema):
    builds = aliases.ListAliasesRequest

    key_id = _key_id("KeyId")
    limit = Int(minimum=1, maximum=100, data_key="Limit")
    marker = Text(min_length=1, max_length=1024, pattern=r"^[\u0020-\u00FF]*$", data_key="Marker")


class EncryptSchema(RequestSchema):
    builds = encryption.EncryptRequest

    key_id = _key_id("KeyId", required=True)
    plaintext = Blob(required=True, min_bytes=1, max_bytes=4096, data_key="Plaintext")
    encryption_context = StringMap(data_key="EncryptionContext")
    grant_tokens = grant_tokens_member()
    encryption_algorithm = Text(choices=ENCRYPTION_ALGORITHMS, data_key="EncryptionAlgorithm")


class DecryptSchema(RequestSchema):
    builds = encryption.DecryptRequest

    ciphertext_blob = Blob(required=True, min_bytes=1, max_bytes=6144, data_key="CiphertextBlob")
    encryption_context = StringMap(data_key="EncryptionContext")
    grant_tokens = grant_tokens_member()
    key_id = _key_id("KeyId")
    encryption_algorithm = Text(choices=ENCRYPTION_ALGORITHMS, data_key="EncryptionAlgorithm")


class ReEncryptSchema(RequestSchema):
    builds = encryption.ReEncryptRequest

    ciphertext_blob = Blob(required=True, min_bytes=1, max_bytes=6144, data_key="CiphertextBlob")
    source_encryption_context = StringMap(data_key="SourceEncryptionContext")
    source_key_id = _key_id("SourceKeyId")
    destination_key_id = _key_id("DestinationKeyId", required=True)
    destination_encryption_context = StringMap(data_key="DestinationEncryptionContext")
    source_encryption_algorithm = Text(
        choices=ENCRYPTION_ALGORITHMS, data_key="SourceEncryptionAlgorithm"
    )
    destination_encryption_algorithm = Text(
        choices=ENCRYPTION_ALGORITHMS, data_key="DestinationEncryptionAlgorithm"
    )
    grant_tokens = grant_tokens_member()


class GenerateDataKeySchema(RequestSchema):
    builds = encryption.GenerateDataKeyRequest

    key_id = _key_id("KeyId", required=True)
    encryption_context = StringMap(data_key="EncryptionContext")
    number_of_bytes = Int(minimum=1, maximum=1024, data_key="NumberOfBytes")
    key_spec = Text(choices=("AES_256", "AES_128"), data_key="KeySpec")
    grant_tokens = grant_tokens_member()


class GenerateDataKeyWithoutPlaintextSchema(GenerateDataKeySchema):
    def arguments(self, data: dict[str, Any]) -> dict[str, Any]:
        return {**data, "with_plaintext": False}


class GenerateRandomSchema(RequestSchema):
    builds = encryption.GenerateRandomRequest

    number_of_bytes = Int(minimum=1, maximum=1024, data_key="NumberOfBytes")
    custom_key_store_id = Text(min_length=1, max_length=64, data_key="CustomKeyStoreId")


class GetKeyPolicySchema(RequestSchema):
    builds = policy_documents.GetKeyPolicyRequest

    key_id = _key_id("KeyId", required=True)
    policy_name = Text(min_length=1, max_length=128, pattern=r"^[\w]+$", data_key="PolicyName")


class PutKeyPolicySchema(RequestSchema):
    builds = policy_documents.PutKeyPolicyRequest

    key_id = _key_id("KeyId", required=True)
    policy_name = Text(min_length=1, max_length=128, pattern=r"^[\w]+$", data_key="PolicyName")
    policy = policy_document("Policy", required=True)
    bypass_policy_lockout_safety_check = Flag(data_key="BypassPolicyLockoutSafetyCheck")
    bypass_separation_of_duties_check = Flag(data_key="BypassSeparationOfDutiesCheck")


class ListKeyPoliciesSchema(RequestSchema):
    builds = policy_documents.ListKeyPoliciesRequest

    key_id = _key_id("KeyId", required=True)
    limit = Int(minimum=1, maximum=1000, data_key="Limit")
    marker = Text(min_length=1, max_length=1024, pattern=r"^[\u0020-\u00FF]*$", data_key="Marker")
