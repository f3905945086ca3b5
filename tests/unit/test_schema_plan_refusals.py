"""A plain schema the plan would load differently from marshmallow is refused.

:func:`app.schemas.plan.plan_of` builds a plan only for schemas whose fields
are all plain; whatever else such a schema declares that the field-by-field
load would not honour is refused when the plan is built (``PlanError``), never
loaded otherwise. A schema with a field that is not plain is left to marshmallow.
"""

from __future__ import annotations

from typing import Any

import pytest
from marshmallow import (
    Schema,
    fields,
    post_load,
    pre_dump,
    pre_load,
    validates,
    validates_schema,
)
from marshmallow import ValidationError as MarshmallowValidationError

from app.errors import KmsError
from app.schemas import base, plan


def _text(**kwargs: Any) -> base.Text:
    return base.Text(max_length=8, data_key="Name", **kwargs)


class WithPreLoad(Schema):
    name = _text()

    @pre_load
    def strip(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        return data


class WithSchemaValidator(Schema):
    name = _text()

    @validates_schema
    def check(self, data: dict[str, Any], **_: Any) -> None:
        pass


class WithFieldValidatorHook(Schema):
    name = _text()

    @validates("name")
    def check(self, value: str, **_: Any) -> None:
        pass


class WithTwoPostLoads(Schema):
    name = _text()

    @post_load
    def first(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        return data

    @post_load
    def second(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        return data


class WithOriginal(Schema):
    name = _text()

    @post_load(pass_original=True)
    def build(self, data: dict[str, Any], original: Any, **_: Any) -> dict[str, Any]:
        return data


class WithDefault(Schema):
    name = _text(load_default="x")


class WithValidator(Schema):
    name = _text(validate=lambda value: value != "x")


class WithAttribute(Schema):
    name = _text(attribute="other")


class WithOwnLoad(Schema):
    name = _text()

    def load(self, *args: Any, **kwargs: Any) -> Any:
        return super().load(*args, **kwargs)


class WithOrderedDict(Schema):
    dict_class = type("Ordered", (dict,), {})
    name = _text()


@pytest.mark.parametrize(
    ("schema", "reason"),
    [
        (WithPreLoad(), "pre_load hook strip would not run"),
        (WithSchemaValidator(), "validates_schema hook check would not run"),
        (WithFieldValidatorHook(), "validates hook check would not run"),
        (WithTwoPostLoads(), "several post_load hooks (first, second)"),
        (WithOriginal(), "post_load build is declared with {'pass_original': True}"),
        (WithDefault(), "WithDefault.name: has a load_default"),
        (WithValidator(), "WithValidator.name: has validators"),
        (WithAttribute(), "loads into attribute 'other'"),
        (WithOwnLoad(), "overrides Schema.load"),
        (WithOrderedDict(), "loads into a Ordered, the plan into a dict"),
        (base.StrictSchema(many=True), "many=True"),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Schema) else "",
)
def test_a_shape_the_plan_does_not_honour_is_refused(schema: Schema, reason: str) -> None:
    with pytest.raises(plan.PlanError) as refused:
        plan.plan_of(schema)
    assert reason in str(refused.value)
    assert type(schema).__name__ in str(refused.value)


def test_a_hook_registry_of_another_shape_is_refused() -> None:
    # What a marshmallow that keeps its hooks otherwise would look like.
    schema = base.StrictSchema()
    schema._hooks = {"post_load": [("build",)]}  # type: ignore[dict-item]
    with pytest.raises(plan.PlanError, match="not as marshmallow 4's"):
        plan.plan_of(schema)


def test_a_field_that_is_not_plain_leaves_the_schema_to_marshmallow() -> None:
    class Nested(Schema):
        name = _text()
        items = fields.List(fields.String(), data_key="Items")

        @pre_load
        def strip(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
            return data

    assert plan.plan_of(Nested()) is None


def test_dump_hooks_do_not_matter_to_a_load() -> None:
    class Dumped(Schema):
        name = _text()

        @pre_dump
        def shape(self, data: Any, **_: Any) -> Any:
            return data

    assert plan.plan_of(Dumped()) is not None


def test_a_hook_s_own_validation_error_is_worded_by_marshmallow() -> None:
    class Refusing(Schema):
        name = _text()

        @post_load
        def build(self, data: dict[str, Any], **_: Any) -> Any:
            raise MarshmallowValidationError("refused by the hook", "name")

    schema = Refusing()
    assert plan.plan_of(schema) is not None
    with pytest.raises(KmsError) as caught:
        base.load(schema, {"Name": "a"})
    assert caught.value.message == (
        "1 validation error detected: Value at 'name' is not valid: refused by the hook"
    )


def test_a_request_schema_names_its_request_type() -> None:
    with pytest.raises(TypeError, match="Anonymous names no request type in 'builds'"):

        class Anonymous(base.RequestSchema):
            name = _text()
