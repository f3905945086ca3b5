"""The field-by-field load of a plain request schema, without marshmallow's machinery.

A schema is *plain* when every field it loads is of a class marked with
:func:`plain_field` (each does all its checking in ``_deserialize``). For those
:func:`app.schemas.base.load` loads a well-formed request field by field
(a 1 KiB Encrypt: 27 µs through marshmallow, 9 µs so, base64 decoding
included). Anything that is not plainly valid is loaded again by marshmallow
itself, which finds the problem and words the error: the two can only differ
in speed. A schema with any other field (``Nested``, a field class of its own)
is always loaded by marshmallow.

The plan is written against marshmallow 4's internals: the hook registry
``Schema._hooks`` (tag to ``(method name, pass_collection, options)``) and
``Field._deserialize``; setup.cfg bounds marshmallow below 5 for that reason.
Whatever a plain schema declares that this load would not honour exactly as
marshmallow does (a hook other than one ``post_load``, a field default or
validator, ``attribute=``, ``many=True``, an overridden load method, a hook
registry of another shape) is refused when the plan is built, with
:class:`PlanError` naming the schema and the reason, rather than loaded
differently. ``tests/unit/test_schema_plan.py`` builds the plan of every
schema of the service, so a refusal shows there first.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from marshmallow import Schema, fields, missing
from marshmallow import ValidationError as MarshmallowValidationError


class PlanError(TypeError):
    """A plain schema declares something the field-by-field load would not
    honour as marshmallow does; loading it so could give another result."""


FieldClass = TypeVar("FieldClass", bound=type[fields.Field[Any]])

_PLAIN_FIELDS: set[type[fields.Field[Any]]] = set()


def plain_field(cls: FieldClass) -> FieldClass:
    """Mark a field class whose ``_deserialize`` does all its checking, so a
    plan may call it directly. The mark is on the class only: a subclass is
    not plain until it is marked too, as it may check elsewhere."""
    _PLAIN_FIELDS.add(cls)
    return cls


#: Hooks that only run when dumping; a load may ignore them.
_DUMP_HOOKS = frozenset({"pre_dump", "post_dump"})
#: The methods marshmallow's load goes through. A schema that overrides one
#: loads in a way the plan cannot know; one missing from ``Schema`` means a
#: marshmallow the plan was not written for.
_LOAD_METHODS = (
    "load",
    "_do_load",
    "_deserialize",
    "_invoke_load_processors",
    "_invoke_processors",
    "_invoke_field_validators",
    "_invoke_schema_validators",
    "_call_and_store",
)


def _field_refusal(field: fields.Field[Any]) -> str | None:
    """Why a plain field's value could differ from marshmallow's, if it could."""
    if field.load_default is not missing:
        return "has a load_default, which the plan would not fill in"
    if field.validators:
        return "has validators, which the plan would not run"
    if getattr(field, "pre_load", None) or getattr(field, "post_load", None):
        return "has pre_load or post_load functions, which the plan would not run"
    if field.attribute is not None:
        return f"loads into attribute {field.attribute!r}, where the plan would use its name"
    return None


def _post_load(schema: Schema) -> str | None:
    """The name of the schema's one ``post_load`` method (``None``: it has
    none); :class:`PlanError` for any hook the plan would not run as marshmallow does."""
    name = type(schema).__name__
    hooks = getattr(schema, "_hooks", None)
    if not isinstance(hooks, Mapping):
        raise PlanError(f"{name}: marshmallow keeps no Schema._hooks; the plan needs marshmallow 4")
    post_load = []
    for tag, entries in hooks.items():
        for entry in entries:
            if not (
                isinstance(entry, tuple)
                and len(entry) == 3
                and isinstance(entry[0], str)
                and isinstance(entry[2], Mapping)
            ):
                raise PlanError(
                    f"{name}: a {tag} hook registered as {entry!r}, not as marshmallow 4's "
                    "(method name, pass_collection, options)"
                )
            if tag == "post_load":
                post_load.append(entry)
            elif tag not in _DUMP_HOOKS:
                raise PlanError(f"{name}: its {tag} hook {entry[0]} would not run in the plan")
    if not post_load:
        return None
    if len(post_load) > 1:
        names = ", ".join(entry[0] for entry in post_load)
        raise PlanError(f"{name}: several post_load hooks ({names}); the plan calls one")
    # A pass_collection hook is called as any other when one request is loaded.
    method, _, options = post_load[0]
    if any(options.values()):
        raise PlanError(
            f"{name}: post_load {method} is declared with {dict(options)!r}; "
            "the plan calls it with the loaded members only"
        )
    return str(method)


class Plan:
    """How to load one plain schema: its fields by member name, the members
    it requires, and its ``post_load`` method (without one: the members)."""

    def __init__(self, schema: Schema):
        name = type(schema).__name__
        for method in _LOAD_METHODS:
            if not hasattr(Schema, method):
                raise PlanError(f"{name}: Schema.{method} is gone; the plan needs marshmallow 4")
            if getattr(type(schema), method) is not getattr(Schema, method):
                raise PlanError(f"{name}: overrides Schema.{method}, which the plan would bypass")
        if schema.many:
            raise PlanError(f"{name}: a many=True instance loads a list; the plan loads one")
        if schema.dict_class is not dict:
            kind = schema.dict_class.__name__
            raise PlanError(f"{name}: loads into a {kind}, the plan into a dict")
        self.fields_by_key: dict[str, tuple[str, Any]] = {}
        for field_name, field in schema.load_fields.items():
            refusal = _field_refusal(field)
            if refusal is not None:
                raise PlanError(f"{name}.{field_name}: {refusal}")
            # marshmallow itself refuses two fields of one data_key.
            self.fields_by_key[field.data_key or field_name] = (field_name, field)
        self.required = frozenset(
            key for key, (_, field) in self.fields_by_key.items() if field.required
        )
        hook = _post_load(schema)
        self.build = None if hook is None else getattr(schema, hook)
        self.partial = schema.partial

    def load(self, data: Mapping[str, Any], ignore_unknown: bool) -> Any:
        """The typed request, or :data:`UNPLAIN` for marshmallow to load."""
        loaded: dict[str, Any] = {}
        fields_by_key = self.fields_by_key
        for key, value in data.items():
            entry = fields_by_key.get(key)
            if entry is None:
                if ignore_unknown:
                    continue
                return UNPLAIN
            if value is None:
                return UNPLAIN
            try:
                loaded[entry[0]] = entry[1]._deserialize(value, key, data)
            except MarshmallowValidationError:
                return UNPLAIN
        if not self.required.issubset(data.keys()):
            return UNPLAIN
        if self.build is None:
            return loaded
        try:
            # The arguments marshmallow 4 passes to a post_load hook.
            return self.build(
                loaded,
                many=False,
                partial=self.partial,
                unknown="exclude" if ignore_unknown else "raise",
            )
        except MarshmallowValidationError:
            # marshmallow words a hook's own error (as the error of the schema).
            return UNPLAIN


#: What :meth:`Plan.load` returns for a request that marshmallow must load.
UNPLAIN: Any = object()
_NO_PLAN = object()


def plan_of(schema: Schema) -> Plan | None:
    """The schema's plan, or ``None`` if a field of it is not plain (then
    marshmallow loads it). Built once and kept on the instance: loading never
    changes a schema, so neither can its plan."""
    plan = schema.__dict__.get("_trent_plan", _NO_PLAN)
    if plan is _NO_PLAN:
        plain = all(type(field) in _PLAIN_FIELDS for field in schema.load_fields.values())
        plan = schema.__dict__["_trent_plan"] = Plan(schema) if plain else None
    return plan if isinstance(plan, Plan) else None
