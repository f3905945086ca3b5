"""The field-by-field load of plain schemas gives exactly what marshmallow gives.

:func:`app.api.schemas.base.load` loads a well-formed request of a plain schema
without marshmallow and hands anything else to marshmallow. These tests feed
both the same bodies, valid and not, and require the same typed request or the
same error, for every request schema of the service.
"""

from __future__ import annotations

import base64
import inspect
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import Schema

from app.api.schemas import base, plan
from app.api.schemas import keys as key_schemas
from app.errors import KmsError

SCHEMAS = [
    cls
    for _, cls in inspect.getmembers(key_schemas, inspect.isclass)
    if issubclass(cls, Schema) and cls.__module__ == key_schemas.__name__
]
PLAIN = [cls for cls in SCHEMAS if plan.plan_of(base.schema(cls)) is not None]


def _marshmallow(schema: Schema, data: dict[str, Any], ignore_unknown: bool) -> Any:
    """The outcome of marshmallow's own load, errors included."""
    try:
        return ("ok", schema.load(data, unknown="exclude" if ignore_unknown else "raise"))
    except base.MarshmallowValidationError as exc:
        return ("error", base.validation_error(exc).message)
    except KmsError as exc:
        return ("error", exc.message)


def _ours(schema: Schema, data: dict[str, Any], ignore_unknown: bool) -> Any:
    try:
        return ("ok", base.load(schema, data, ignore_unknown=ignore_unknown))
    except KmsError as exc:
        return ("error", exc.message)


def test_the_hot_schemas_are_plain() -> None:
    # Encrypt, Decrypt and GenerateDataKey carry most of the traffic.
    for cls in (
        key_schemas.EncryptSchema,
        key_schemas.DecryptSchema,
        key_schemas.GenerateDataKeySchema,
        key_schemas.GenerateDataKeyWithoutPlaintextSchema,
    ):
        assert cls in PLAIN


def test_schemas_with_nested_fields_are_not_plain() -> None:
    assert key_schemas.CreateKeySchema not in PLAIN
    assert key_schemas.TagResourceSchema not in PLAIN


def test_a_subclass_builds_with_its_own_hook() -> None:
    data = {"KeyId": "alias/a", "KeySpec": "AES_256"}
    with_plaintext = base.load(base.schema(key_schemas.GenerateDataKeySchema), data)
    without = base.load(base.schema(key_schemas.GenerateDataKeyWithoutPlaintextSchema), data)
    assert with_plaintext.with_plaintext is True
    assert without.with_plaintext is False


def _blob(size: int) -> str:
    return base64.b64encode(b"x" * size).decode()


VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-5, max_value=5000),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.sampled_from(
        [
            "",
            "alias/app",
            "AES_256",
            "AES_128",
            "SYMMETRIC_DEFAULT",
            "RSAES_OAEP_SHA_1",
            _blob(1),
            _blob(16),
            _blob(4096),
            _blob(4097),
            "not base64!",
            "QQ",
            "x" * 2049,
        ]
    ),
    st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.lists(st.text(min_size=0, max_size=4), max_size=12),
    st.lists(st.integers(), max_size=2),
)


@st.composite
def bodies(draw: st.DrawFn, cls: type[Schema]) -> dict[str, Any]:
    schema = base.schema(cls)
    keys = [field.data_key or name for name, field in schema.load_fields.items()]
    chosen = draw(st.lists(st.sampled_from(keys), unique=True, max_size=len(keys)))
    body = {key: draw(VALUES) for key in chosen}
    if draw(st.booleans()):
        body[draw(st.sampled_from(["Unknown", "keyId", "Extra"]))] = draw(VALUES)
    return body


@pytest.mark.parametrize("cls", PLAIN, ids=lambda cls: cls.__name__)
@pytest.mark.parametrize("ignore_unknown", [False, True], ids=["rest", "aws"])
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_same_outcome_as_marshmallow(
    cls: type[Schema], ignore_unknown: bool, data: st.DataObject
) -> None:
    body = data.draw(bodies(cls))
    schema = base.schema(cls)
    assert _ours(schema, body, ignore_unknown) == _marshmallow(schema, body, ignore_unknown)


@pytest.mark.parametrize(
    "body",
    [
        {"KeyId": "alias/a", "Plaintext": _blob(1024)},
        {"KeyId": "alias/a", "Plaintext": _blob(1), "EncryptionContext": {"a": "b"}},
        {"KeyId": "k", "Plaintext": _blob(4096), "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"},
        {"KeyId": "k", "Plaintext": _blob(16), "GrantTokens": []},
    ],
)
def test_valid_encrypt_requests_load_without_marshmallow(
    body: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    schema = base.schema(key_schemas.EncryptSchema)
    expected = schema.load(body)

    def refuse(*_: Any, **__: Any) -> Any:
        raise AssertionError("marshmallow was used for a plain request")

    monkeypatch.setattr(schema, "load", refuse)
    assert base.load(schema, body) == expected


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"Plaintext": _blob(1)}, "Value null at 'keyId'"),
        ({"KeyId": "k", "Plaintext": _blob(4097)}, "length less than or equal to 4096"),
        ({"KeyId": "k", "Plaintext": _blob(1), "Bogus": 1}, "'bogus' is not a member"),
        ({"KeyId": None, "Plaintext": _blob(1)}, "keyId"),
        ({"KeyId": "k", "Plaintext": _blob(1), "EncryptionAlgorithm": "X"}, "enum value set"),
    ],
)
def test_invalid_requests_get_marshmallow_s_error(body: dict[str, Any], message: str) -> None:
    with pytest.raises(KmsError) as caught:
        base.load(base.schema(key_schemas.EncryptSchema), body)
    assert message in caught.value.message
