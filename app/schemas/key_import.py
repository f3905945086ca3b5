"""Request schemas of GetParametersForImport, ImportKeyMaterial and
DeleteImportedKeyMaterial.

Enumerations are AWS's whole enums; the operation refuses the values this
service does not implement (``RSAES_PKCS1_V1_5``, ``SM2PKE``, ``SM2``) with a
clear message rather than the schema's generic one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

from marshmallow import fields

from app.operations import key_import
from app.schemas.base import Blob, RequestSchema, Text, constraint
from app.schemas.plan import plain_field

WRAPPING_ALGORITHMS = (
    "RSAES_PKCS1_V1_5",
    "RSAES_OAEP_SHA_1",
    "RSAES_OAEP_SHA_256",
    "RSA_AES_KEY_WRAP_SHA_1",
    "RSA_AES_KEY_WRAP_SHA_256",
    "SM2PKE",
)
WRAPPING_KEY_SPECS = ("RSA_2048", "RSA_3072", "RSA_4096", "SM2")
EXPIRATION_MODELS = ("KEY_MATERIAL_EXPIRES", "KEY_MATERIAL_DOES_NOT_EXPIRE")
IMPORT_TYPES = ("NEW_KEY_MATERIAL", "EXISTING_KEY_MATERIAL")
KEY_MATERIAL_ID = r"^[a-f0-9]+$"
#: 9999-12-31T23:59:59Z, the last second AWS's timestamps can name.
LAST_TIMESTAMP = 253402300799


@plain_field
class Timestamp(fields.Field[float]):
    """A timestamp as AWS's JSON protocol sends it: epoch seconds, a JSON number."""

    json_schema: ClassVar[dict[str, Any]] = {
        "type": "number",
        "minimum": 0,
        "maximum": LAST_TIMESTAMP,
        "description": "Epoch seconds (a JSON number), as AWS's JSON protocol sends timestamps.",
    }

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise constraint("Member must be a timestamp in epoch seconds (a number)")
        if not math.isfinite(value) or value < 0 or value > LAST_TIMESTAMP:
            raise constraint("Member must be a timestamp between 1970 and 9999", str(value))
        return float(value)

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return value


def _key_id() -> Text:
    return Text(min_length=1, max_length=2048, data_key="KeyId", required=True)


class GetParametersForImportSchema(RequestSchema):
    builds = key_import.GetParametersForImportRequest

    key_id = _key_id()
    wrapping_algorithm = Text(
        required=True, choices=WRAPPING_ALGORITHMS, data_key="WrappingAlgorithm"
    )
    wrapping_key_spec = Text(required=True, choices=WRAPPING_KEY_SPECS, data_key="WrappingKeySpec")


class ImportKeyMaterialSchema(RequestSchema):
    builds = key_import.ImportKeyMaterialRequest

    key_id = _key_id()
    import_token = Blob(required=True, min_bytes=1, max_bytes=6144, data_key="ImportToken")
    encrypted_key_material = Blob(
        required=True, min_bytes=1, max_bytes=6144, data_key="EncryptedKeyMaterial"
    )
    valid_to = Timestamp(data_key="ValidTo")
    expiration_model = Text(choices=EXPIRATION_MODELS, data_key="ExpirationModel")
    import_type = Text(choices=IMPORT_TYPES, data_key="ImportType")
    key_material_description = Text(max_length=256, data_key="KeyMaterialDescription")
    key_material_id = Text(
        min_length=64, max_length=64, pattern=KEY_MATERIAL_ID, data_key="KeyMaterialId"
    )


class DeleteImportedKeyMaterialSchema(RequestSchema):
    builds = key_import.DeleteImportedKeyMaterialRequest

    key_id = _key_id()
    key_material_id = Text(
        min_length=1, max_length=64, pattern=KEY_MATERIAL_ID, data_key="KeyMaterialId"
    )
