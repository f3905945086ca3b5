"""The KMS operations Trent offers, each with its function and request schema, once.

Both doors serve these: the AWS door by ``X-Amz-Target`` (:mod:`app.awsapi.targets`),
the REST door at a method and path of its own (``KMS[name].at(...)`` in
:mod:`app.api.keys`). An operation is paired with its schema here and nowhere
else, so the doors cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping

from app.operations import (
    aliases,
    encryption,
    grants,
    key_import,
    key_pairs,
    key_stores,
    keys,
    mac,
    policy_documents,
    rotation,
    signing,
    tags,
)
from app.pipeline.route import Route
from app.schemas import grants as g
from app.schemas import key_import as i
from app.schemas import key_stores as ks
from app.schemas import key_types as t
from app.schemas import keys as s

KMS: Mapping[str, Route] = {
    route.name: route
    for route in (
        Route("CreateKey", keys.create_key, s.CreateKeySchema),
        Route("DescribeKey", keys.describe_key, s.DescribeKeySchema),
        Route("ListKeys", keys.list_keys, s.ListKeysSchema),
        Route("UpdateKeyDescription", keys.update_key_description, s.UpdateKeyDescriptionSchema),
        Route("EnableKey", keys.enable_key, s.KeyIdSchema),
        Route("DisableKey", keys.disable_key, s.KeyIdSchema),
        Route("ScheduleKeyDeletion", keys.schedule_key_deletion, s.ScheduleKeyDeletionSchema),
        Route("CancelKeyDeletion", keys.cancel_key_deletion, s.KeyIdSchema),
        Route("GetKeyRotationStatus", rotation.get_key_rotation_status, s.KeyRotationSchema),
        Route("EnableKeyRotation", rotation.enable_key_rotation, s.EnableKeyRotationSchema),
        Route("DisableKeyRotation", rotation.disable_key_rotation, s.KeyRotationSchema),
        Route("RotateKeyOnDemand", rotation.rotate_key_on_demand, s.KeyRotationSchema),
        Route("ListKeyRotations", rotation.list_key_rotations, s.ListKeyRotationsSchema),
        Route("GetKeyPolicy", policy_documents.get_key_policy, s.GetKeyPolicySchema),
        Route("PutKeyPolicy", policy_documents.put_key_policy, s.PutKeyPolicySchema),
        Route("ListKeyPolicies", policy_documents.list_key_policies, s.ListKeyPoliciesSchema),
        Route("ListResourceTags", tags.list_resource_tags, s.ListResourceTagsSchema),
        Route("TagResource", tags.tag_resource, s.TagResourceSchema),
        Route("UntagResource", tags.untag_resource, s.UntagResourceSchema),
        Route("CreateAlias", aliases.create_alias, s.CreateAliasSchema),
        Route("UpdateAlias", aliases.update_alias, s.UpdateAliasSchema),
        Route("DeleteAlias", aliases.delete_alias, s.DeleteAliasSchema),
        Route("ListAliases", aliases.list_aliases, s.ListAliasesSchema),
        Route("Encrypt", encryption.encrypt, s.EncryptSchema),
        Route("Decrypt", encryption.decrypt, s.DecryptSchema),
        Route("ReEncrypt", encryption.re_encrypt, s.ReEncryptSchema),
        Route("GenerateDataKey", encryption.generate_data_key, s.GenerateDataKeySchema),
        Route(
            "GenerateDataKeyWithoutPlaintext",
            encryption.generate_data_key,
            s.GenerateDataKeyWithoutPlaintextSchema,
        ),
        Route("GenerateRandom", encryption.generate_random, s.GenerateRandomSchema),
        Route("CreateGrant", grants.create_grant, g.CreateGrantSchema),
        Route("ListGrants", grants.list_grants, g.ListGrantsSchema),
        Route("ListRetirableGrants", grants.list_retirable_grants, g.ListRetirableGrantsSchema),
        Route("RetireGrant", grants.retire_grant, g.RetireGrantSchema),
        Route("RevokeGrant", grants.revoke_grant, g.RevokeGrantSchema),
        Route("Sign", signing.sign, t.SignSchema),
        Route("Verify", signing.verify, t.VerifySchema),
        Route("GetPublicKey", signing.get_public_key, t.GetPublicKeySchema),
        Route("GenerateMac", mac.generate_mac, t.GenerateMacSchema),
        Route("VerifyMac", mac.verify_mac, t.VerifyMacSchema),
        Route("GenerateDataKeyPair", key_pairs.generate_data_key_pair, t.GenerateDataKeyPairSchema),
        Route(
            "GenerateDataKeyPairWithoutPlaintext",
            key_pairs.generate_data_key_pair,
            t.GenerateDataKeyPairWithoutPlaintextSchema,
        ),
        Route(
            "GetParametersForImport",
            key_import.get_parameters_for_import,
            i.GetParametersForImportSchema,
        ),
        Route("ImportKeyMaterial", key_import.import_key_material, i.ImportKeyMaterialSchema),
        Route(
            "DeleteImportedKeyMaterial",
            key_import.delete_imported_key_material,
            i.DeleteImportedKeyMaterialSchema,
        ),
        Route(
            "CreateCustomKeyStore",
            key_stores.create_custom_key_store,
            ks.CreateCustomKeyStoreSchema,
        ),
        Route(
            "DescribeCustomKeyStores",
            key_stores.describe_custom_key_stores,
            ks.DescribeCustomKeyStoresSchema,
        ),
        Route(
            "UpdateCustomKeyStore",
            key_stores.update_custom_key_store,
            ks.UpdateCustomKeyStoreSchema,
        ),
        Route("ConnectCustomKeyStore", key_stores.connect_custom_key_store, ks.KeyStoreIdSchema),
        Route(
            "DisconnectCustomKeyStore",
            key_stores.disconnect_custom_key_store,
            ks.KeyStoreIdSchema,
        ),
        Route("DeleteCustomKeyStore", key_stores.delete_custom_key_store, ks.KeyStoreIdSchema),
    )
}
