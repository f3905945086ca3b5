"""REST routes for keys, key policies, tags, rotation, aliases and cryptography.

Each route declares its operation, schema and where its members come from;
the pipeline (:mod:`app.pipeline.pipeline`) does the rest. ``{KeyId}`` and
``{AliasName}`` may contain ``/`` (ARNs, ``alias/…``); clients URL-encode them.
"""

from __future__ import annotations

from werkzeug.routing import Map, PathConverter
from werkzeug.routing import ValidationError as NoMatch

from app.api.schemas import keys as s
from app.api.schemas.base import Text
from app.keys.identifiers import ALIAS_NAME_RE
from app.operations import aliases, encryption, keys, policy_documents, rotation, tags
from app.pipeline.route import QueryChoice, Route

#: The routes of a key's sub-resources (``/v1/keys/{KeyId}/encrypt``, ...).
SUB_RESOURCE = "/v1/keys/<path:key_id>/"


class KeyConverter(PathConverter):
    """``{KeyId}`` in the routes of the key itself (``/v1/keys/{KeyId}``).

    A KeyId may contain ``/`` (``alias/…``, ARNs), so it is a path; but a
    path that ends in the name of one of a key's sub-resources is that
    sub-resource's URL. This rule does not match it, so ``GET
    /v1/keys/{id}/encrypt`` is a 405 with the methods ``…/encrypt`` allows,
    not DescribeKey of the key ``"{id}/encrypt"``. (An alias whose last part
    is such a name, ``alias/tags``, is described by ``alias%2Ftags`` only
    through its ARN or the AWS door.)
    """

    def to_python(self, value: str) -> str:
        if value.rpartition("/")[2] in _sub_resources(self.map):
            raise NoMatch()
        return value


def _sub_resources(url_map: Map) -> frozenset[str]:
    names = getattr(url_map, "_trent_key_sub_resources", None)
    if names is None:
        names = frozenset(
            rule.rule[len(SUB_RESOURCE) :].partition("/")[0]
            for rule in url_map.iter_rules()
            if rule.rule.startswith(SUB_RESOURCE)
        )
        url_map._trent_key_sub_resources = names  # type: ignore[attr-defined]
    return names


#: A key made by CreateKey, for the document's links to the calls that use one.
NEW_KEY = "$response.body#/KeyMetadata/KeyId"
KEY = "/v1/keys/<key:key_id>"
SUB = "/v1/keys/<path:key_id>"
ALIAS = "/v1/aliases/<path:alias_name>"
CIPHERTEXT = {"CiphertextBlob": "$response.body#/CiphertextBlob"}

ROUTES = (
    Route(
        "CreateKey",
        keys.create_key,
        s.CreateKeySchema,
        "POST",
        "/v1/keys",
        "Create a key (only SYMMETRIC_DEFAULT keys so far; KeyUsage must suit KeySpec; "
        "Administrators/Users build the policy when Policy is absent).",
        produces={"KeyId": NEW_KEY, "TargetKeyId": NEW_KEY, "DestinationKeyId": NEW_KEY},
    ),
    Route(
        "ListKeys",
        keys.list_keys,
        s.ListKeysSchema,
        "GET",
        "/v1/keys",
        "List the keys of the caller's account.",
        members="query",
    ),
    Route(
        "DescribeKey",
        keys.describe_key,
        s.DescribeKeySchema,
        "GET",
        KEY,
        "Describe a key (id, ARN, alias name or alias ARN).",
        members="none",
    ),
    Route(
        "UpdateKeyDescription",
        keys.update_key_description,
        s.UpdateKeyDescriptionSchema,
        "PATCH",
        KEY,
        "Change a key's description.",
    ),
    Route("EnableKey", keys.enable_key, s.KeyIdSchema, "POST", SUB + "/enable", "Enable a key."),
    Route(
        "DisableKey", keys.disable_key, s.KeyIdSchema, "POST", SUB + "/disable", "Disable a key."
    ),
    Route(
        "ScheduleKeyDeletion",
        keys.schedule_key_deletion,
        s.ScheduleKeyDeletionSchema,
        "POST",
        SUB + "/schedule-deletion",
        "Schedule a key's deletion after 7-30 days.",
    ),
    Route(
        "CancelKeyDeletion",
        keys.cancel_key_deletion,
        s.KeyIdSchema,
        "POST",
        SUB + "/cancel-deletion",
        "Cancel a scheduled deletion.",
    ),
    Route(
        "GetKeyRotationStatus",
        rotation.get_key_rotation_status,
        s.KeyRotationSchema,
        "GET",
        SUB + "/rotation",
        "Rotation status of a key.",
        members="none",
    ),
    Route(
        "EnableKeyRotation",
        rotation.enable_key_rotation,
        s.EnableKeyRotationSchema,
        "PUT",
        SUB + "/rotation",
        "Turn on automatic rotation.",
    ),
    Route(
        "DisableKeyRotation",
        rotation.disable_key_rotation,
        s.KeyRotationSchema,
        "DELETE",
        SUB + "/rotation",
        "Turn off automatic rotation.",
        members="none",
    ),
    Route(
        "RotateKeyOnDemand",
        rotation.rotate_key_on_demand,
        s.KeyRotationSchema,
        "POST",
        SUB + "/rotations",
        "Rotate a key now.",
    ),
    Route(
        "ListKeyRotations",
        rotation.list_key_rotations,
        s.ListKeyRotationsSchema,
        "GET",
        SUB + "/rotations",
        "List a key's rotations.",
        members="query",
    ),
    Route(
        "GetKeyPolicy",
        policy_documents.get_key_policy,
        s.GetKeyPolicySchema,
        "GET",
        SUB + "/policy",
        "A key's policy document.",
        members="query",
    ),
    Route(
        "PutKeyPolicy",
        policy_documents.put_key_policy,
        s.PutKeyPolicySchema,
        "PUT",
        SUB + "/policy",
        "Replace a key's policy.",
    ),
    Route(
        "ListKeyPolicies",
        policy_documents.list_key_policies,
        s.ListKeyPoliciesSchema,
        "GET",
        SUB + "/policies",
        "The names of a key's policies.",
        members="query",
    ),
    Route(
        "ListResourceTags",
        tags.list_resource_tags,
        s.ListResourceTagsSchema,
        "GET",
        SUB + "/tags",
        "A key's tags.",
        members="query",
    ),
    Route(
        "TagResource",
        tags.tag_resource,
        s.TagResourceSchema,
        "POST",
        SUB + "/tags",
        "Add or update tags.",
    ),
    Route(
        "UntagResource",
        tags.untag_resource,
        s.UntagResourceSchema,
        "DELETE",
        SUB + "/tags",
        "Remove tags (?TagKeys=a&TagKeys=b).",
        members="query",
        defaulted={"TagKeys": []},
    ),
    Route(
        "Encrypt",
        encryption.encrypt,
        s.EncryptSchema,
        "POST",
        SUB + "/encrypt",
        "Encrypt up to 4096 bytes.",
        produces=CIPHERTEXT,
    ),
    Route(
        "Decrypt",
        encryption.decrypt,
        s.DecryptSchema,
        "POST",
        "/v1/decrypt",
        "Decrypt a ciphertext.",
    ),
    Route(
        "ReEncrypt",
        encryption.re_encrypt,
        s.ReEncryptSchema,
        "POST",
        "/v1/re-encrypt",
        "Re-encrypt under another key.",
        produces=CIPHERTEXT,
    ),
    Route(
        "GenerateDataKey",
        encryption.generate_data_key,
        s.GenerateDataKeySchema,
        "POST",
        SUB + "/data-key",
        "A data key, in plaintext and encrypted (?plaintext=false: encrypted only); exactly "
        "one of KeySpec and NumberOfBytes.",
        extra_query=(("plaintext", Text(choices=("true", "false"))),),
        choice=QueryChoice(
            "plaintext",
            {"true": s.GenerateDataKeySchema, "false": s.GenerateDataKeyWithoutPlaintextSchema},
            default="true",
        ),
        produces=CIPHERTEXT,
    ),
    Route(
        "GenerateRandom",
        encryption.generate_random,
        s.GenerateRandomSchema,
        "POST",
        "/v1/random",
        "Random bytes (NumberOfBytes is required).",
    ),
    Route(
        "ListAliases",
        aliases.list_aliases,
        s.ListAliasesSchema,
        "GET",
        "/v1/aliases",
        "List aliases, optionally of one key.",
        members="query",
    ),
    Route(
        "CreateAlias",
        aliases.create_alias,
        s.CreateAliasSchema,
        "POST",
        "/v1/aliases",
        "Create an alias (AliasName: alias/..., not alias/aws/...).",
        produces={"AliasName": "$request.body#/AliasName"},
        rules={"AliasName": ALIAS_NAME_RE},
    ),
    Route(
        "UpdateAlias",
        aliases.update_alias,
        s.UpdateAliasSchema,
        "PUT",
        ALIAS,
        "Point an alias at another key.",
        rules={"AliasName": ALIAS_NAME_RE},
    ),
    Route(
        "DeleteAlias",
        aliases.delete_alias,
        s.DeleteAliasSchema,
        "DELETE",
        ALIAS,
        "Delete an alias.",
        members="none",
        rules={"AliasName": ALIAS_NAME_RE},
    ),
)
