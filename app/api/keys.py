"""REST routes for keys, key policies, tags, rotation, aliases and cryptography.

Each route declares its operation, schema and where its members come from;
the pipeline (:mod:`app.pipeline.pipeline`) does the rest. ``{KeyId}`` and
``{AliasName}`` may contain ``/`` (ARNs, ``alias/…``); clients URL-encode them.
"""

from __future__ import annotations

from werkzeug.routing import Map, PathConverter
from werkzeug.routing import ValidationError as NoMatch

from app.catalogue import KMS
from app.keys.identifiers import ALIAS_NAME_RE
from app.pipeline.route import QueryChoice
from app.schemas.base import Text
from app.schemas.key_types import (
    GenerateDataKeyPairSchema,
    GenerateDataKeyPairWithoutPlaintextSchema,
)
from app.schemas.keys import GenerateDataKeySchema, GenerateDataKeyWithoutPlaintextSchema

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
    through its ARN or the AWS door.) The same holds one level down for the
    sub-resources that have items of their own: ``…/grants/{GrantId}``.
    """

    def to_python(self, value: str) -> str:
        names, nested = _sub_resources(self.map)
        parts = value.split("/")
        if parts[-1] in names or (len(parts) > 2 and parts[-2] in nested):
            raise NoMatch()
        return value


def _sub_resources(url_map: Map) -> tuple[frozenset[str], frozenset[str]]:
    """The names of a key's sub-resources, and of those with items below them."""
    found = getattr(url_map, "_trent_key_sub_resources", None)
    if found is None:
        tails = [
            rule.rule[len(SUB_RESOURCE) :]
            for rule in url_map.iter_rules()
            if rule.rule.startswith(SUB_RESOURCE)
        ]
        found = (
            frozenset(tail.partition("/")[0] for tail in tails),
            frozenset(tail.partition("/")[0] for tail in tails if "/" in tail),
        )
        url_map._trent_key_sub_resources = found  # type: ignore[attr-defined]
    return found


#: A key made by CreateKey, for the document's links to the calls that use one.
NEW_KEY = "$response.body#/KeyMetadata/KeyId"
KEY = "/v1/keys/<key:key_id>"
SUB = "/v1/keys/<path:key_id>"
ALIAS = "/v1/aliases/<path:alias_name>"
CIPHERTEXT = {"CiphertextBlob": "$response.body#/CiphertextBlob"}

ROUTES = (
    KMS["CreateKey"].at(
        "POST",
        "/v1/keys",
        "Create a key (symmetric, HMAC, RSA or ECC; KeyUsage must suit KeySpec and is "
        "required for all but symmetric keys; Administrators/Users build the policy when "
        "Policy is absent).",
        produces={"KeyId": NEW_KEY, "TargetKeyId": NEW_KEY, "DestinationKeyId": NEW_KEY},
    ),
    KMS["ListKeys"].at(
        "GET",
        "/v1/keys",
        "List the keys of the caller's account.",
        members="query",
    ),
    KMS["DescribeKey"].at(
        "GET",
        KEY,
        "Describe a key (id, ARN, alias name or alias ARN).",
        members="none",
    ),
    KMS["UpdateKeyDescription"].at(
        "PATCH",
        KEY,
        "Change a key's description.",
    ),
    KMS["EnableKey"].at("POST", SUB + "/enable", "Enable a key."),
    KMS["DisableKey"].at("POST", SUB + "/disable", "Disable a key."),
    KMS["ScheduleKeyDeletion"].at(
        "POST",
        SUB + "/schedule-deletion",
        "Schedule a key's deletion after 7-30 days.",
    ),
    KMS["CancelKeyDeletion"].at(
        "POST",
        SUB + "/cancel-deletion",
        "Cancel a scheduled deletion.",
    ),
    KMS["GetKeyRotationStatus"].at(
        "GET",
        SUB + "/rotation",
        "Rotation status of a key.",
        members="none",
    ),
    KMS["EnableKeyRotation"].at(
        "PUT",
        SUB + "/rotation",
        "Turn on automatic rotation.",
    ),
    KMS["DisableKeyRotation"].at(
        "DELETE",
        SUB + "/rotation",
        "Turn off automatic rotation.",
        members="none",
    ),
    KMS["RotateKeyOnDemand"].at(
        "POST",
        SUB + "/rotations",
        "Rotate a key now.",
    ),
    KMS["ListKeyRotations"].at(
        "GET",
        SUB + "/rotations",
        "List a key's rotations.",
        members="query",
    ),
    KMS["GetKeyPolicy"].at(
        "GET",
        SUB + "/policy",
        "A key's policy document.",
        members="query",
    ),
    KMS["PutKeyPolicy"].at(
        "PUT",
        SUB + "/policy",
        "Replace a key's policy.",
    ),
    KMS["ListKeyPolicies"].at(
        "GET",
        SUB + "/policies",
        "The names of a key's policies.",
        members="query",
    ),
    KMS["ListResourceTags"].at(
        "GET",
        SUB + "/tags",
        "A key's tags.",
        members="query",
    ),
    KMS["TagResource"].at(
        "POST",
        SUB + "/tags",
        "Add or update tags.",
    ),
    KMS["UntagResource"].at(
        "DELETE",
        SUB + "/tags",
        "Remove tags (?TagKeys=a&TagKeys=b).",
        members="query",
        defaulted={"TagKeys": []},
    ),
    KMS["Encrypt"].at(
        "POST",
        SUB + "/encrypt",
        "Encrypt up to 4096 bytes.",
        produces=CIPHERTEXT,
    ),
    KMS["Decrypt"].at(
        "POST",
        "/v1/decrypt",
        "Decrypt a ciphertext.",
    ),
    KMS["ReEncrypt"].at(
        "POST",
        "/v1/re-encrypt",
        "Re-encrypt under another key.",
        produces=CIPHERTEXT,
    ),
    KMS["GenerateDataKey"].at(
        "POST",
        SUB + "/data-key",
        "A data key, in plaintext and encrypted (?plaintext=false: encrypted only); exactly "
        "one of KeySpec and NumberOfBytes.",
        extra_query=(("plaintext", Text(choices=("true", "false"))),),
        choice=QueryChoice(
            "plaintext",
            {
                "true": GenerateDataKeySchema,
                "false": GenerateDataKeyWithoutPlaintextSchema,
            },
            default="true",
        ),
        produces=CIPHERTEXT,
    ),
    KMS["GenerateRandom"].at(
        "POST",
        "/v1/random",
        "Random bytes (NumberOfBytes is required).",
    ),
    KMS["ListAliases"].at(
        "GET",
        "/v1/aliases",
        "List aliases, optionally of one key.",
        members="query",
    ),
    KMS["CreateAlias"].at(
        "POST",
        "/v1/aliases",
        "Create an alias (AliasName: alias/..., not alias/aws/...).",
        produces={"AliasName": "$request.body#/AliasName"},
        rules={"AliasName": ALIAS_NAME_RE},
    ),
    KMS["UpdateAlias"].at(
        "PUT",
        ALIAS,
        "Point an alias at another key.",
        rules={"AliasName": ALIAS_NAME_RE},
    ),
    KMS["DeleteAlias"].at(
        "DELETE",
        ALIAS,
        "Delete an alias.",
        members="none",
        rules={"AliasName": ALIAS_NAME_RE},
    ),
    KMS["GenerateDataKeyPair"].at(
        "POST",
        SUB + "/data-key-pair",
        "A data key pair: the public key, the private key encrypted under a symmetric key and "
        "in plaintext (?plaintext=false: encrypted only).",
        extra_query=(("plaintext", Text(choices=("true", "false"))),),
        choice=QueryChoice(
            "plaintext",
            {
                "true": GenerateDataKeyPairSchema,
                "false": GenerateDataKeyPairWithoutPlaintextSchema,
            },
            default="true",
        ),
        produces={"CiphertextBlob": "$response.body#/PrivateKeyCiphertextBlob"},
    ),
    KMS["Sign"].at(
        "POST",
        SUB + "/sign",
        "Sign a message (RAW, up to 4096 bytes) or a digest (DIGEST) with an asymmetric key.",
    ),
    KMS["Verify"].at(
        "POST",
        SUB + "/verify",
        "Verify a signature (KMSInvalidSignatureException if it is not valid).",
    ),
    KMS["GenerateMac"].at(
        "POST",
        SUB + "/mac",
        "The HMAC of a message (up to 4096 bytes) with an HMAC key.",
    ),
    KMS["VerifyMac"].at(
        "POST",
        SUB + "/verify-mac",
        "Verify an HMAC (KMSInvalidMacException if it does not match).",
    ),
    KMS["GetParametersForImport"].at(
        "POST",
        SUB + "/import-parameters",
        "A wrapping public key and an import token (valid 24 hours) for an EXTERNAL key.",
    ),
    KMS["ImportKeyMaterial"].at(
        "POST",
        SUB + "/key-material",
        "Import wrapped key material into an EXTERNAL key (ValidTo in epoch seconds).",
    ),
    KMS["DeleteImportedKeyMaterial"].at(
        "DELETE",
        SUB + "/key-material",
        "Delete an EXTERNAL key's imported material; the key is PendingImport until the "
        "same material is imported again.",
        members="query",
    ),
    KMS["GetPublicKey"].at(
        "GET",
        SUB + "/public-key",
        "The public key of an asymmetric key (DER SubjectPublicKeyInfo), its usage and algorithms.",
        members="none",
    ),
)
