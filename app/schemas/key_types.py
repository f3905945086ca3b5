"""Request schemas of the operations on HMAC and asymmetric keys: Sign,
Verify, GetPublicKey, GenerateMac, VerifyMac and GenerateDataKeyPair.

Enumerations are AWS's whole enums (a client may send any of their values);
the operations refuse the values this service does not implement with
AWS's errors for them.
"""

from __future__ import annotations

from typing import Any, ClassVar

from app.operations import key_pairs, mac, signing
from app.schemas.base import Blob, RequestSchema, StringMap, Text
from app.schemas.keys import grant_tokens_member

MESSAGE_TYPES = ("RAW", "DIGEST", "EXTERNAL_MU")
SIGNING_ALGORITHMS = (
    "RSASSA_PSS_SHA_256",
    "RSASSA_PSS_SHA_384",
    "RSASSA_PSS_SHA_512",
    "RSASSA_PKCS1_V1_5_SHA_256",
    "RSASSA_PKCS1_V1_5_SHA_384",
    "RSASSA_PKCS1_V1_5_SHA_512",
    "ECDSA_SHA_256",
    "ECDSA_SHA_384",
    "ECDSA_SHA_512",
    "SM2DSA",
    "ML_DSA_SHAKE_256",
    "ED25519_SHA_512",
    "ED25519_PH_SHA_512",
)
MAC_ALGORITHMS = ("HMAC_SHA_224", "HMAC_SHA_256", "HMAC_SHA_384", "HMAC_SHA_512")
KEY_PAIR_SPECS = (
    "RSA_2048",
    "RSA_3072",
    "RSA_4096",
    "ECC_NIST_P256",
    "ECC_NIST_P384",
    "ECC_NIST_P521",
    "ECC_SECG_P256K1",
    "SM2",
    "ECC_NIST_EDWARDS25519",
)


def _key_id() -> Text:
    return Text(min_length=1, max_length=2048, data_key="KeyId", required=True)


def _message() -> Blob:
    return Blob(required=True, min_bytes=1, max_bytes=4096, data_key="Message")


class SignSchema(RequestSchema):
    builds: ClassVar[type[Any]] = signing.SignRequest

    key_id = _key_id()
    message = _message()
    message_type = Text(choices=MESSAGE_TYPES, data_key="MessageType")
    grant_tokens = grant_tokens_member()
    signing_algorithm = Text(required=True, choices=SIGNING_ALGORITHMS, data_key="SigningAlgorithm")


class VerifySchema(SignSchema):
    builds = signing.VerifyRequest

    signature = Blob(required=True, min_bytes=1, max_bytes=6144, data_key="Signature")


class GetPublicKeySchema(RequestSchema):
    builds = signing.GetPublicKeyRequest

    key_id = _key_id()
    grant_tokens = grant_tokens_member()


class GenerateMacSchema(RequestSchema):
    builds: ClassVar[type[Any]] = mac.GenerateMacRequest

    message = _message()
    key_id = _key_id()
    mac_algorithm = Text(required=True, choices=MAC_ALGORITHMS, data_key="MacAlgorithm")
    grant_tokens = grant_tokens_member()


class VerifyMacSchema(GenerateMacSchema):
    builds = mac.VerifyMacRequest

    mac = Blob(required=True, min_bytes=1, max_bytes=6144, data_key="Mac")


class GenerateDataKeyPairSchema(RequestSchema):
    builds = key_pairs.GenerateDataKeyPairRequest

    encryption_context = StringMap(data_key="EncryptionContext")
    key_id = _key_id()
    key_pair_spec = Text(required=True, choices=KEY_PAIR_SPECS, data_key="KeyPairSpec")
    grant_tokens = grant_tokens_member()


class GenerateDataKeyPairWithoutPlaintextSchema(GenerateDataKeyPairSchema):
    def arguments(self, data: dict[str, Any]) -> dict[str, Any]:
        return {**data, "with_plaintext": False}
