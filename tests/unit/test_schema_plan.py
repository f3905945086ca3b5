"""The field-by-field load of plain schemas gives exactly what marshmallow gives.

:func:`app.schemas.base.load` loads a well-formed request of a plain schema
with its plan (:mod:`app.schemas.plan`) and hands anything else to
marshmallow. Every request schema of the service is found by walking the
schema modules, so a new schema is covered without editing this file; each one
that takes the shortcut is fed the same bodies as marshmallow's own full load,
valid and not, and the plan must give the same typed request or the same error,
and decline only what marshmallow refuses.
"""

from __future__ import annotations

import base64
import importlib
import pkgutil
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import Schema, fields

import app
from app.api import openapi
from app.errors import KmsError
from app.schemas import base, plan
from app.schemas import keys as key_schemas
from app.schemas.key_import import LAST_TIMESTAMP, Timestamp

SCHEMA_PACKAGE = "app.schemas"
#: What every request schema derives from; they build no request themselves.
BUILDING_BLOCKS = {base.StrictSchema, base.RequestSchema}


def _schema_modules() -> list[Any]:
    package = importlib.import_module(SCHEMA_PACKAGE)
    return [
        importlib.import_module(f"{SCHEMA_PACKAGE}.{info.name}")
        for info in pkgutil.iter_modules(package.__path__)
    ]


def _declared(module: Any) -> set[type[Schema]]:
    return {
        cls
        for cls in vars(module).values()
        if isinstance(cls, type) and issubclass(cls, Schema) and cls.__module__ == module.__name__
    }


SCHEMAS = sorted(
    set().union(*(_declared(module) for module in _schema_modules())) - BUILDING_BLOCKS,
    key=lambda cls: f"{cls.__module__}.{cls.__qualname__}",
)


def _takes_the_shortcut(cls: type[Schema]) -> bool:
    try:
        return plan.plan_of(base.schema(cls)) is not None
    except plan.PlanError:
        # Compared all the same, so that the refusal fails the comparison too.
        return True


PLAIN = [cls for cls in SCHEMAS if _takes_the_shortcut(cls)]


def _name(cls: type[Schema]) -> str:
    return f"{cls.__module__.rsplit('.', 1)[-1]}.{cls.__name__}"


def _subclasses(cls: type[Schema]) -> Iterator[type[Schema]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_every_schema_of_the_service_is_walked() -> None:
    for info in pkgutil.walk_packages(app.__path__, "app."):
        importlib.import_module(info.name)
    from app.awsapi.targets import TARGETS

    in_app = {cls for cls in _subclasses(Schema) if cls.__module__.startswith("app.")}
    assert {_name(cls) for cls in in_app - BUILDING_BLOCKS - set(SCHEMAS)} == set(), (
        f"request schemas belong in {SCHEMA_PACKAGE}"
    )
    loaded = {route.schema for route in openapi.ROUTES if route.schema is not None}
    loaded |= {s for route in openapi.ROUTES if route.choice for s in route.choice.schemas.values()}
    loaded |= {target.schema for target in TARGETS.values()}
    assert loaded and loaded <= set(SCHEMAS)


@pytest.mark.parametrize("cls", SCHEMAS, ids=_name)
def test_every_schema_can_be_planned(cls: type[Schema]) -> None:
    # A plain schema the plan cannot load as marshmallow does raises PlanError here.
    plan.plan_of(base.schema(cls))


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


def test_a_subclass_builds_its_own_request() -> None:
    data = {"KeyId": "alias/a", "KeySpec": "AES_256"}
    with_plaintext = base.load(base.schema(key_schemas.GenerateDataKeySchema), data)
    without = base.load(base.schema(key_schemas.GenerateDataKeyWithoutPlaintextSchema), data)
    assert with_plaintext.with_plaintext is True
    assert without.with_plaintext is False


# Values for each kind of plain field: one valid value (``valid``), and a
# strategy for values at and around its limits (``near``).


def _blob(size: int) -> str:
    return base64.b64encode(b"x" * size).decode()


def _text_candidates(field: base.Text) -> list[Any]:
    if field.choices:
        return list(field.choices)
    return ["a" * max(field.min_length, 1), "arn:aws:iam::111122223333:root"]


def _fitted(value: str, field: base.Text) -> str:
    # A value drawn from the pattern, repeated or cut to the length limits.
    if value and len(value) < field.min_length:
        value *= -(-field.min_length // len(value))
    return value[: field.max_length] if field.max_length is not None else value


def _near_text(field: base.Text) -> st.SearchStrategy[Any]:
    if field.choices:
        return st.one_of(st.sampled_from(field.choices), st.text(max_size=4))
    drawn = st.from_regex(field.pattern, fullmatch=True) if field.pattern else st.text()
    return st.one_of(drawn, drawn.map(lambda value: _fitted(value, field)))


def _near_int(field: base.Int) -> st.SearchStrategy[Any]:
    edges = [field.minimum - 1, field.minimum, field.maximum, field.maximum + 1]
    return st.one_of(st.sampled_from(edges), st.integers(field.minimum - 1, field.maximum + 1))


def _near_blob(field: base.Blob) -> st.SearchStrategy[Any]:
    sizes = st.one_of(
        st.integers(max(field.min_bytes - 1, 0), field.min_bytes + 48),
        st.sampled_from([field.max_bytes, field.max_bytes + 1]),
    )
    return st.one_of(sizes.map(_blob), st.sampled_from(["not base64!", "QQ", "QQ=", ""]))


def _near_map(field: base.StringMap) -> st.SearchStrategy[Any]:
    full = {f"k{i}": "v" for i in range(field.max_entries)}
    return st.one_of(
        st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=4),
        st.sampled_from([full, {**full, "more": "v"}]),
    )


def _near_list(field: base.TextList) -> st.SearchStrategy[Any]:
    item = valid(field.item)
    edges = [field.min_items - 1, field.min_items, field.max_items or 0, (field.max_items or 0) + 1]
    return st.one_of(
        st.lists(near(field.item), max_size=min(field.max_items or 12, 12)),
        st.sampled_from([n for n in edges if n >= 0]).map(lambda n: [item] * n),
    )


def _near_timestamp(field: Timestamp) -> st.SearchStrategy[Any]:
    edges = [-1, 0, 1.5, LAST_TIMESTAMP, LAST_TIMESTAMP + 1, True, "1700000000"]
    return st.one_of(st.sampled_from(edges), st.floats(allow_nan=True), st.integers())


KINDS: dict[type[Any], tuple[Callable[[Any], list[Any]], Callable[[Any], Any]]] = {
    Timestamp: (lambda field: [1_700_000_000], _near_timestamp),
    base.Text: (_text_candidates, _near_text),
    base.Int: (lambda field: [field.minimum], _near_int),
    base.Flag: (lambda field: [True], lambda field: st.booleans()),
    base.Blob: (lambda field: [_blob(field.min_bytes)], _near_blob),
    base.StringMap: (lambda field: [{"a": "b"}], _near_map),
    base.TextList: (
        lambda field: [[valid(field.item)] * max(field.min_items, 1)],
        _near_list,
    ),
}


def _accepts(field: fields.Field[Any], value: Any) -> bool:
    try:
        field.deserialize(value)
    except base.MarshmallowValidationError:
        return False
    return True


def valid(field: fields.Field[Any]) -> Any:
    candidates, _ = KINDS[type(field)]
    for value in candidates(field):
        if _accepts(field, value):
            return value
    raise AssertionError(f"no valid value known for {field!r}: teach KINDS one")


def near(field: fields.Field[Any]) -> st.SearchStrategy[Any]:
    _, strategy = KINDS[type(field)]
    result: st.SearchStrategy[Any] = strategy(field)
    return result


def test_the_test_knows_every_plain_field() -> None:
    assert plan._PLAIN_FIELDS <= set(KINDS)


JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-5, max_value=5000),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.lists(st.integers(), max_size=2),
)


@st.composite
def bodies(draw: st.DrawFn, cls: type[Schema]) -> dict[str, Any]:
    """A body for ``cls``: valid (each member absent if optional, or a valid
    value), or mixed (members near their limits, junk, missing, unknown)."""
    schema = base.schema(cls)
    well_formed = draw(st.booleans())
    body: dict[str, Any] = {}
    for name, field in schema.load_fields.items():
        key = field.data_key or name
        if well_formed:
            if field.required or draw(st.booleans()):
                value = draw(near(field))
                body[key] = value if _accepts(field, value) else valid(field)
            continue
        source = draw(st.sampled_from(["near", "near", "valid", "junk", "absent"]))
        if source == "near":
            body[key] = draw(near(field))
        elif source == "valid":
            body[key] = valid(field)
        elif source == "junk":
            body[key] = draw(JUNK)
    if not well_formed and draw(st.booleans()):
        body[draw(st.sampled_from(["Unknown", "keyId", "Extra"]))] = draw(JUNK)
    return body


def _outcome(load: Callable[[], Any]) -> tuple[str, Any]:
    try:
        return ("ok", load())
    except base.MarshmallowValidationError as exc:
        return ("error", base.validation_error(exc).message)
    except KmsError as exc:
        return ("error", exc.message)


def _unknown(ignore_unknown: bool) -> str:
    return "exclude" if ignore_unknown else "raise"


@pytest.mark.parametrize("cls", PLAIN, ids=_name)
@pytest.mark.parametrize("ignore_unknown", [False, True], ids=["rest", "aws"])
@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_the_plan_loads_as_marshmallow_does(
    cls: type[Schema], ignore_unknown: bool, data: st.DataObject
) -> None:
    body = data.draw(bodies(cls))
    schema = base.schema(cls)
    planned = plan.plan_of(schema)
    assert planned is not None
    full = _outcome(lambda: schema.load(body, unknown=_unknown(ignore_unknown)))
    fast = _outcome(lambda: planned.load(body, ignore_unknown))
    if fast == ("ok", plan.UNPLAIN):
        assert full[0] == "error", "the plan declined a request marshmallow loads"
    else:
        assert fast == full
    assert _outcome(lambda: base.load(schema, body, ignore_unknown=ignore_unknown)) == full


@pytest.mark.parametrize("cls", PLAIN, ids=_name)
@pytest.mark.parametrize("members", ["required", "all"])
def test_a_valid_request_loads_without_marshmallow(
    cls: type[Schema], members: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    schema = base.schema(cls)
    body = {
        field.data_key or name: valid(field)
        for name, field in schema.load_fields.items()
        if field.required or members == "all"
    }
    expected = _outcome(lambda: schema.load(body))

    def refuse(*_: Any, **__: Any) -> Any:
        raise AssertionError("marshmallow was used for a plain request")

    monkeypatch.setattr(schema, "load", refuse)
    assert _outcome(lambda: base.load(schema, body)) == expected


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
