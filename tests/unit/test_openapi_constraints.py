"""The OpenAPI document says what every request field enforces.

Every field of every request schema is tried with values at and around each
of its limits (lengths, ranges, byte counts, enums, patterns, entry and item
counts, required and unknown members); the field's own verdict and the
verdict of the JSON Schema the document generator writes for it must agree.
A field of a kind this test has no values for fails the test: teach the
generator and this test what it accepts first.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from typing import Any

import jsonschema_rs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import RAISE, Schema, fields
from marshmallow import ValidationError as MarshmallowValidationError

from app.api import json_schema, openapi
from app.errors import all_error_classes
from app.schemas.base import Blob, Flag, Int, StrictSchema, StringMap, Text, TextList

ACCOUNT = "111122223333"


def _route_modules() -> None:
    from app.api import access_keys, audit, health, identity, keys, policy  # noqa: F401


def _subclasses(cls: type[Schema]) -> Iterator[type[Schema]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def all_schemas() -> list[type[Schema]]:
    _route_modules()
    found = {cls for cls in _subclasses(StrictSchema) if cls.__module__.startswith("app.")}
    return sorted(found, key=lambda cls: f"{cls.__module__}.{cls.__qualname__}")


def all_fields() -> list[tuple[str, fields.Field[Any]]]:
    return [
        (f"{schema.__name__}.{field.data_key or name}", field)
        for schema in all_schemas()
        for name, field in sorted(schema().load_fields.items())
    ]


def accepts(field: fields.Field[Any], value: Any) -> bool:
    try:
        field.deserialize(value)
    except MarshmallowValidationError:
        return False
    return True


def validator(document: dict[str, Any]) -> Any:
    return jsonschema_rs.Draft202012Validator(document)


# Values at and around the limits a field enforces, from the field itself.

_TEXTS = [
    "",
    "a",
    "A_1",
    "é",
    "ŉ",
    "٣",
    "alias/x",
    "alias/aws/x",
    "x/y",
    "\n",
    "a\n",
    " ",
    "\x00",
    "\x1f",
    "\u0100",
    "\u00ff",
    "😀",
    f"arn:aws:iam::{ACCOUNT}:root",
    f"arn:aws:iam::{ACCOUNT}:user/bob",
    f"arn:aws:iam::{ACCOUNT}:role/app-1",
    f"arn:aws:iam::{ACCOUNT}:user/émile",
    f"arn:aws-cn:iam::{ACCOUNT}:root",
    f"arn:aws:iam::{ACCOUNT}:root\n",
    "AKIAIOSFODNN7EXAMPLE",
    "AKIA-OSFODNN7EXAMPLE",
]
_NOT_TEXT = [1, True, None, [], {}]


def text_probes(field: Text) -> list[Any]:
    probes: list[Any] = [*_TEXTS, *_NOT_TEXT, *(field.choices or ()), "NOT_A_CHOICE"]
    limits = {field.min_length - 1, field.min_length, field.min_length + 1}
    if field.max_length is not None:
        limits |= {field.max_length - 1, field.max_length, field.max_length + 1}
    for length in sorted(n for n in limits if n >= 0):
        probes += ["a" * length, "é" * length, "alias/" + "a" * max(0, length - 6)]
        probes += ["\x00" * length, "😀" * length]
    return probes


def int_probes(field: Int) -> list[Any]:
    # An integer written with a fraction (365.0) is left out: JSON Schema cannot
    # tell it from 365 and the server refuses it (see tests/api/test_openapi_conformance.py).
    limits = [field.minimum - 1, field.minimum, field.maximum, field.maximum + 1, 0, -1]
    return [*limits, 1.5, True, False, "5", None, [], {}]


def flag_probes(field: Flag) -> list[Any]:
    return [True, False, 0, 1, "true", None, []]


def blob_probes(field: Blob) -> list[Any]:
    counts = {0, field.min_bytes - 1, field.min_bytes, field.min_bytes + 1}
    counts |= {field.max_bytes - 1, field.max_bytes, field.max_bytes + 1, field.max_bytes + 2}
    encoded = [base64.b64encode(b"\xfb" * n).decode() for n in sorted(c for c in counts if c >= 0)]
    broken = ["YQ=", "YQ", "Y===", "YQ==YQ==", "YQ==\n", " YQ==", "====", "YR==", "YWI", "é"]
    return [*encoded, *broken, "YWJj" * (field.max_bytes // 3 + 1), 5, None, []]


def string_map_probes(field: StringMap) -> list[Any]:
    return [
        {},
        {"a": "b"},
        {"": "b"},
        {"a": ""},
        {"a": 1},
        {"a": None},
        {"a": ["b"]},
        {"a\x00": "b"},
        {"a": "b\x1b"},
        {"a": "b\x7f"},
        {"é": "😀"},
        {str(n): "v" for n in range(field.max_entries)},
        {str(n): "v" for n in range(field.max_entries + 1)},
        [],
        "x",
        None,
    ]


def list_probes(inner: list[Any], *, min_items: int, max_items: int | None) -> list[Any]:
    probes: list[Any] = [[], "x", None, {}]
    probes += [[value] for value in inner]
    for count in {min_items - 1, min_items, min_items + 1}:
        if count >= 0:
            probes += [[value] * count for value in inner[:3]]
    if max_items is not None:
        probes += [[value] * n for value in inner[:3] for n in (max_items, max_items + 1)]
    return probes


def object_probes(schema: type[Schema]) -> list[Any]:
    members = {(f.data_key or name): f for name, f in schema().load_fields.items()}
    valid = {
        key: next(v for v in probes_for(f) if accepts(f, v))
        for key, f in members.items()
        if f.required
    }
    probes: list[Any] = [{}, valid, {**valid, "Unknown": "x"}, "x", None, []]
    for key, member in members.items():
        probes += [{**valid, key: value} for value in probes_for(member)]
    return probes


def context_probes(field: fields.Field[Any]) -> list[Any]:
    return [
        {},
        {"a": "b"},
        {"": "b"},
        {"a": 1},
        {"a": 1.5},
        {"a": True},
        {"a": [1, "x", False]},
        {"a": []},
        {"a": [[1]]},
        {"a": {"b": 1}},
        {"a": None},
        {"a": [None]},
        {str(n): "v" for n in range(200)},
        {str(n): "v" for n in range(201)},
        [],
        "x",
        None,
    ]


def probes_for(field: fields.Field[Any]) -> list[Any]:
    if isinstance(field, Text):
        return text_probes(field)
    if isinstance(field, Int):
        return int_probes(field)
    if isinstance(field, Flag):
        return flag_probes(field)
    if isinstance(field, Blob):
        return blob_probes(field)
    if isinstance(field, StringMap):
        return string_map_probes(field)
    if isinstance(field, TextList):
        items = [v for v in text_probes(field.item) if accepts(field.item, v)][:3]
        items += [v for v in text_probes(field.item) if not accepts(field.item, v)][:8]
        return list_probes(items, min_items=field.min_items, max_items=field.max_items)
    if isinstance(field, fields.Nested):
        return object_probes(type(field.schema))
    if isinstance(field, fields.List):
        return list_probes(probes_for(field.inner), min_items=0, max_items=None)
    if type(field).__name__ == "ContextField":
        return context_probes(field)
    if type(field).__name__ == "Timestamp":
        return [0, -1, 1.5, 1_700_000_000, 253402300799, 253402300800, True, "1", None, []]
    raise AssertionError(
        f"no probe values for a {type(field).__name__}: teach the OpenAPI generator and "
        "this test what it accepts"
    )


@pytest.mark.parametrize(("name", "field"), all_fields(), ids=[n for n, _ in all_fields()])
def test_the_document_accepts_what_the_field_accepts(name: str, field: fields.Field[Any]) -> None:
    document = json_schema.field_schema(field)
    judge = validator(document)
    disagreements = [
        (value, accepts(field, value))
        for value in probes_for(field)
        if accepts(field, value) != judge.is_valid(value)
    ]
    assert not disagreements, f"{name}: the document says {document}, but the field " + "; ".join(
        f"{'accepts' if ok else 'refuses'} {value!r}"[:160] for value, ok in disagreements[:5]
    )


@pytest.mark.parametrize("schema", all_schemas(), ids=lambda s: s.__name__)
def test_required_and_unknown_members_are_in_the_document(schema: type[Schema]) -> None:
    document = json_schema.schema_object(schema)
    members = {(f.data_key or name): f for name, f in schema().load_fields.items()}
    assert set(document["properties"]) == set(members)
    assert set(document.get("required", [])) == {k for k, f in members.items() if f.required}
    refuses_unknown = schema.Meta.unknown == RAISE
    assert (document.get("additionalProperties") is False) == refuses_unknown


def test_a_field_the_generator_does_not_know_is_not_silently_dropped() -> None:
    class Odd(fields.Field[str]):
        pass

    with pytest.raises(json_schema.UnexpressedConstraint):
        json_schema.field_schema(Odd(data_key="Odd"))
    with pytest.raises(json_schema.UnexpressedConstraint):
        json_schema.field_schema(fields.String(validate=lambda v: v != "x"))


def all_patterns() -> list[str]:
    patterns = {
        f.pattern.pattern
        for _, field in all_fields()
        for f in ([field.item] if isinstance(field, TextList) else [field])
        if isinstance(f, Text) and f.pattern is not None
    }
    patterns |= {rule.pattern for route in openapi.ROUTES for rule in route.rules.values()}
    return sorted(patterns)


@pytest.mark.parametrize("pattern", all_patterns())
def test_each_pattern_means_in_the_document_what_it_means_to_the_server(pattern: str) -> None:
    server = re.compile(pattern)
    document = validator({"type": "string", "pattern": json_schema.ecma_pattern(pattern)})

    @settings(max_examples=150, derandomize=True, database=None, deadline=None)
    @given(
        st.one_of(
            st.from_regex(server, fullmatch=True),
            st.text(),
            st.from_regex(server, fullmatch=True).map(lambda s: s + "\n"),
            st.from_regex(server, fullmatch=True).map(lambda s: "é" + s),
        )
    )
    def agree(value: str) -> None:
        assert bool(server.fullmatch(value)) == document.is_valid(value), value

    agree()


@pytest.mark.parametrize(
    ("python", "ecma"),
    [
        (r"[\w]+", r"^[\p{L}\p{N}_]+$"),
        (r"^[\u0020-\u00FF]*$", r"^[ -\u00ff]*$"),
        (r"a$", r"^a$"),
        (r"a$b", r"^a(?=\n?$)b$"),
        (r"(?:ab|c)\d", r"^(?:ab|c)[\p{Nd}]$"),
        (r"x/y.", r"^x\/y[^\n]$"),
    ],
)
def test_python_regex_syntax_is_written_as_ecma_262(python: str, ecma: str) -> None:
    assert json_schema.ecma_pattern(python) == ecma


@pytest.mark.parametrize("pattern", [r"(?i)abc", r"(?s:.)", r"\bword", r"a++"])
def test_a_pattern_ecma_262_cannot_say_is_refused(pattern: str) -> None:
    with pytest.raises(json_schema.UnexpressedConstraint):
        json_schema.ecma_pattern(pattern)


def document() -> dict[str, Any]:
    _route_modules()
    return openapi.build_document("test")


def operations() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, methods in document()["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


def test_the_document_is_valid_openapi() -> None:
    import schemathesis

    schemathesis.openapi.from_dict(document()).validate()


def test_a_member_in_the_path_is_neither_in_the_query_nor_in_the_body() -> None:
    for path, method, operation in operations():
        in_path = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
        assert in_path == set(re.findall(r"\{(\w+)\}", path)), (method, path)
        in_query = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
        body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
        in_body = set(body.get("schema", {}).get("properties", {}))
        assert not in_path & (in_query | in_body), (method, path)


def test_a_created_key_links_to_every_call_that_takes_a_key_in_its_path() -> None:
    create_key = document()["paths"]["/v1/keys"]["post"]
    links = create_key["responses"]["200"]["links"]
    takes_a_key = {
        operation["operationId"] for path, _, operation in operations() if "{KeyId}" in path
    }
    linked = {
        name
        for name, link in links.items()
        if link.get("parameters", {}).get("path.KeyId") == "$response.body#/KeyMetadata/KeyId"
    }
    assert takes_a_key and takes_a_key == linked
    assert links["CreateAlias"]["requestBody"] == {
        "TargetKeyId": "$response.body#/KeyMetadata/KeyId"
    }


def test_every_error_status_has_the_rest_error_shape() -> None:
    statuses = {str(c.status) for c in all_error_classes()}
    for path, method, operation in operations():
        responses = operation["responses"]
        assert statuses <= set(responses), (method, path)
        for status in statuses:
            assert responses[status] == {"$ref": f"#/components/responses/Error{status}"}
