"""REST routes for keys, key policies, tags, rotation, aliases and cryptography.

Each route only gathers its input (path, query, body) and calls one operation
through :func:`app.api.endpoint.call`. ``{KeyId}`` and ``{AliasName}`` may
contain ``/`` (ARNs, ``alias/…``); clients URL-encode them.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response
from flask.blueprints import BlueprintSetupState
from werkzeug.routing import Map, PathConverter
from werkzeug.routing import ValidationError as NoMatch

from app.api.endpoint import call, json_body, query_parameters, require_principal
from app.api.openapi import documented
from app.api.schemas import keys as s
from app.api.schemas.base import Text, schema
from app.errors import ValidationError
from app.keys.identifiers import ALIAS_NAME_RE
from app.operations import aliases, encryption, keys, policy_documents, rotation, tags

blueprint = Blueprint("keys", __name__)
blueprint.before_request(require_principal)

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


@blueprint.record_once
def _register_converter(state: BlueprintSetupState) -> None:
    state.app.url_map.converters["key"] = KeyConverter


def _body(**path: str) -> dict[str, Any]:
    """The JSON body with path parameters merged in; a member given both in
    the path and in the body is refused rather than silently overridden."""
    body = json_body()
    for name, value in path.items():
        if name in body:
            raise ValidationError(f"{name} is given in the path; do not repeat it in the body.")
        body[name] = value
    return body


def _query(*names: str, integers: tuple[str, ...] = ()) -> dict[str, Any]:
    return query_parameters(*names, integers=integers, repeatable=("TagKeys",))


K = "/v1/keys/{KeyId}"
#: A key made by CreateKey, for the document's links to the calls that use one.
NEW_KEY = "$response.body#/KeyMetadata/KeyId"


@blueprint.post("/v1/keys")
@documented(
    "POST",
    "/v1/keys",
    "CreateKey",
    "Create a key (only SYMMETRIC_DEFAULT keys so far; KeyUsage must suit KeySpec; "
    "Administrators/Users build the policy when Policy is absent).",
    s.CreateKeySchema,
    produces={"KeyId": NEW_KEY, "TargetKeyId": NEW_KEY, "DestinationKeyId": NEW_KEY},
)
def create_key() -> Response:
    return call(keys.create_key, schema(s.CreateKeySchema), json_body())


@blueprint.get("/v1/keys")
@documented(
    "GET",
    "/v1/keys",
    "ListKeys",
    "List the keys of the caller's account.",
    s.ListKeysSchema,
    members="query",
)
def list_keys() -> Response:
    return call(
        keys.list_keys, schema(s.ListKeysSchema), _query("Limit", "Marker", integers=("Limit",))
    )


@blueprint.get("/v1/keys/<key:key_id>")
@documented(
    "GET",
    K,
    "DescribeKey",
    "Describe a key (id, ARN, alias name or alias ARN).",
    s.DescribeKeySchema,
    members="none",
)
def describe_key(key_id: str) -> Response:
    _query()
    return call(keys.describe_key, schema(s.DescribeKeySchema), {"KeyId": key_id})


@blueprint.patch("/v1/keys/<key:key_id>")
@documented(
    "PATCH", K, "UpdateKeyDescription", "Change a key's description.", s.UpdateKeyDescriptionSchema
)
def update_key_description(key_id: str) -> Response:
    return call(
        keys.update_key_description, schema(s.UpdateKeyDescriptionSchema), _body(KeyId=key_id)
    )


@blueprint.post("/v1/keys/<path:key_id>/enable")
@documented("POST", K + "/enable", "EnableKey", "Enable a key.", s.KeyIdSchema)
def enable_key(key_id: str) -> Response:
    return call(keys.enable_key, schema(s.KeyIdSchema), _body(KeyId=key_id))


@blueprint.post("/v1/keys/<path:key_id>/disable")
@documented("POST", K + "/disable", "DisableKey", "Disable a key.", s.KeyIdSchema)
def disable_key(key_id: str) -> Response:
    return call(keys.disable_key, schema(s.KeyIdSchema), _body(KeyId=key_id))


@blueprint.post("/v1/keys/<path:key_id>/schedule-deletion")
@documented(
    "POST",
    K + "/schedule-deletion",
    "ScheduleKeyDeletion",
    "Schedule a key's deletion after 7-30 days.",
    s.ScheduleKeyDeletionSchema,
)
def schedule_key_deletion(key_id: str) -> Response:
    return call(
        keys.schedule_key_deletion, schema(s.ScheduleKeyDeletionSchema), _body(KeyId=key_id)
    )


@blueprint.post("/v1/keys/<path:key_id>/cancel-deletion")
@documented(
    "POST",
    K + "/cancel-deletion",
    "CancelKeyDeletion",
    "Cancel a scheduled deletion.",
    s.KeyIdSchema,
)
def cancel_key_deletion(key_id: str) -> Response:
    return call(keys.cancel_key_deletion, schema(s.KeyIdSchema), _body(KeyId=key_id))


@blueprint.get("/v1/keys/<path:key_id>/rotation")
@documented(
    "GET",
    K + "/rotation",
    "GetKeyRotationStatus",
    "Rotation status of a key.",
    s.KeyRotationSchema,
    members="none",
)
def get_key_rotation_status(key_id: str) -> Response:
    _query()
    return call(rotation.get_key_rotation_status, schema(s.KeyRotationSchema), {"KeyId": key_id})


@blueprint.put("/v1/keys/<path:key_id>/rotation")
@documented(
    "PUT",
    K + "/rotation",
    "EnableKeyRotation",
    "Turn on automatic rotation.",
    s.EnableKeyRotationSchema,
)
def enable_key_rotation(key_id: str) -> Response:
    return call(
        rotation.enable_key_rotation, schema(s.EnableKeyRotationSchema), _body(KeyId=key_id)
    )


@blueprint.delete("/v1/keys/<path:key_id>/rotation")
@documented(
    "DELETE",
    K + "/rotation",
    "DisableKeyRotation",
    "Turn off automatic rotation.",
    s.KeyRotationSchema,
    members="none",
)
def disable_key_rotation(key_id: str) -> Response:
    _query()
    return call(rotation.disable_key_rotation, schema(s.KeyRotationSchema), {"KeyId": key_id})


@blueprint.post("/v1/keys/<path:key_id>/rotations")
@documented("POST", K + "/rotations", "RotateKeyOnDemand", "Rotate a key now.", s.KeyRotationSchema)
def rotate_key_on_demand(key_id: str) -> Response:
    return call(rotation.rotate_key_on_demand, schema(s.KeyRotationSchema), _body(KeyId=key_id))


@blueprint.get("/v1/keys/<path:key_id>/rotations")
@documented(
    "GET",
    K + "/rotations",
    "ListKeyRotations",
    "List a key's rotations.",
    s.ListKeyRotationsSchema,
    members="query",
)
def list_key_rotations(key_id: str) -> Response:
    query = _query("IncludeKeyMaterial", "Limit", "Marker", integers=("Limit",))
    return call(
        rotation.list_key_rotations, schema(s.ListKeyRotationsSchema), {**query, "KeyId": key_id}
    )


@blueprint.get("/v1/keys/<path:key_id>/policy")
@documented(
    "GET",
    K + "/policy",
    "GetKeyPolicy",
    "A key's policy document.",
    s.GetKeyPolicySchema,
    members="query",
)
def get_key_policy(key_id: str) -> Response:
    query = _query("PolicyName")
    return call(
        policy_documents.get_key_policy, schema(s.GetKeyPolicySchema), {**query, "KeyId": key_id}
    )


@blueprint.put("/v1/keys/<path:key_id>/policy")
@documented("PUT", K + "/policy", "PutKeyPolicy", "Replace a key's policy.", s.PutKeyPolicySchema)
def put_key_policy(key_id: str) -> Response:
    return call(policy_documents.put_key_policy, schema(s.PutKeyPolicySchema), _body(KeyId=key_id))


@blueprint.get("/v1/keys/<path:key_id>/policies")
@documented(
    "GET",
    K + "/policies",
    "ListKeyPolicies",
    "The names of a key's policies.",
    s.ListKeyPoliciesSchema,
    members="query",
)
def list_key_policies(key_id: str) -> Response:
    query = _query("Limit", "Marker", integers=("Limit",))
    return call(
        policy_documents.list_key_policies,
        schema(s.ListKeyPoliciesSchema),
        {**query, "KeyId": key_id},
    )


@blueprint.get("/v1/keys/<path:key_id>/tags")
@documented(
    "GET",
    K + "/tags",
    "ListResourceTags",
    "A key's tags.",
    s.ListResourceTagsSchema,
    members="query",
)
def list_resource_tags(key_id: str) -> Response:
    query = _query("Limit", "Marker", integers=("Limit",))
    return call(
        tags.list_resource_tags, schema(s.ListResourceTagsSchema), {**query, "KeyId": key_id}
    )


@blueprint.post("/v1/keys/<path:key_id>/tags")
@documented("POST", K + "/tags", "TagResource", "Add or update tags.", s.TagResourceSchema)
def tag_resource(key_id: str) -> Response:
    return call(tags.tag_resource, schema(s.TagResourceSchema), _body(KeyId=key_id))


@blueprint.delete("/v1/keys/<path:key_id>/tags")
@documented(
    "DELETE",
    K + "/tags",
    "UntagResource",
    "Remove tags (?TagKeys=a&TagKeys=b).",
    s.UntagResourceSchema,
    members="query",
    defaulted=("TagKeys",),
)
def untag_resource(key_id: str) -> Response:
    query = _query("TagKeys")
    return call(
        tags.untag_resource,
        schema(s.UntagResourceSchema),
        {"KeyId": key_id, "TagKeys": query.get("TagKeys", [])},
    )


@blueprint.post("/v1/keys/<path:key_id>/encrypt")
@documented(
    "POST",
    K + "/encrypt",
    "Encrypt",
    "Encrypt up to 4096 bytes.",
    s.EncryptSchema,
    produces={"CiphertextBlob": "$response.body#/CiphertextBlob"},
)
def encrypt(key_id: str) -> Response:
    return call(encryption.encrypt, schema(s.EncryptSchema), _body(KeyId=key_id))


@blueprint.post("/v1/decrypt")
@documented("POST", "/v1/decrypt", "Decrypt", "Decrypt a ciphertext.", s.DecryptSchema)
def decrypt() -> Response:
    return call(encryption.decrypt, schema(s.DecryptSchema), json_body())


@blueprint.post("/v1/re-encrypt")
@documented(
    "POST",
    "/v1/re-encrypt",
    "ReEncrypt",
    "Re-encrypt under another key.",
    s.ReEncryptSchema,
    produces={"CiphertextBlob": "$response.body#/CiphertextBlob"},
)
def re_encrypt() -> Response:
    return call(encryption.re_encrypt, schema(s.ReEncryptSchema), json_body())


@blueprint.post("/v1/keys/<path:key_id>/data-key")
@documented(
    "POST",
    K + "/data-key",
    "GenerateDataKey",
    "A data key, in plaintext and encrypted (?plaintext=false: encrypted only); exactly "
    "one of KeySpec and NumberOfBytes.",
    s.GenerateDataKeySchema,
    extra_query=(("plaintext", Text(choices=("true", "false"))),),
    produces={"CiphertextBlob": "$response.body#/CiphertextBlob"},
)
def generate_data_key(key_id: str) -> Response:
    query = _query("plaintext")
    flag = query.get("plaintext", "true")
    if flag not in ("true", "false"):
        raise ValidationError("The query parameter 'plaintext' must be true or false.")
    chosen = (
        schema(s.GenerateDataKeySchema)
        if flag == "true"
        else schema(s.GenerateDataKeyWithoutPlaintextSchema)
    )
    return call(encryption.generate_data_key, chosen, _body(KeyId=key_id))


@blueprint.post("/v1/random")
@documented(
    "POST",
    "/v1/random",
    "GenerateRandom",
    "Random bytes (NumberOfBytes is required).",
    s.GenerateRandomSchema,
)
def generate_random() -> Response:
    return call(encryption.generate_random, schema(s.GenerateRandomSchema), json_body())


@blueprint.get("/v1/aliases")
@documented(
    "GET",
    "/v1/aliases",
    "ListAliases",
    "List aliases, optionally of one key.",
    s.ListAliasesSchema,
    members="query",
)
def list_aliases() -> Response:
    query = _query("KeyId", "Limit", "Marker", integers=("Limit",))
    return call(aliases.list_aliases, schema(s.ListAliasesSchema), query)


@blueprint.post("/v1/aliases")
@documented(
    "POST",
    "/v1/aliases",
    "CreateAlias",
    "Create an alias (AliasName: alias/..., not alias/aws/...).",
    s.CreateAliasSchema,
    produces={"AliasName": "$request.body#/AliasName"},
    rules={"AliasName": ALIAS_NAME_RE},
)
def create_alias() -> Response:
    return call(aliases.create_alias, schema(s.CreateAliasSchema), json_body())


@blueprint.put("/v1/aliases/<path:alias_name>")
@documented(
    "PUT",
    "/v1/aliases/{AliasName}",
    "UpdateAlias",
    "Point an alias at another key.",
    s.UpdateAliasSchema,
    rules={"AliasName": ALIAS_NAME_RE},
)
def update_alias(alias_name: str) -> Response:
    return call(aliases.update_alias, schema(s.UpdateAliasSchema), _body(AliasName=alias_name))


@blueprint.delete("/v1/aliases/<path:alias_name>")
@documented(
    "DELETE",
    "/v1/aliases/{AliasName}",
    "DeleteAlias",
    "Delete an alias.",
    s.DeleteAliasSchema,
    members="none",
    rules={"AliasName": ALIAS_NAME_RE},
)
def delete_alias(alias_name: str) -> Response:
    _query()
    return call(aliases.delete_alias, schema(s.DeleteAliasSchema), {"AliasName": alias_name})
