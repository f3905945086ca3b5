"""Building blocks for request schemas: strict fields with AWS's messages.

Schemas validate at the edge only and hand operations typed values. Every
length, range, enum and pattern is enforced here (clients such as botocore
check almost nothing), with AWS's message form::

    1 validation error detected: Value '1025' at 'numberOfBytes' failed to
    satisfy constraint: Member must have value less than or equal to 1024

Free text refuses control characters (:data:`PRINTABLE`) unless AWS
documents another pattern for the member. The rejected value is quoted as
AWS does, except blobs, maps and members built with ``quote=False``, and
clipped: messages go to the audit log too.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from marshmallow import RAISE, Schema, fields, post_load
from marshmallow import ValidationError as MarshmallowValidationError

from app.errors import ValidationError
from app.schemas.plan import UNPLAIN, plain_field, plan_of


def lower_camel(name: str) -> str:
    return name[:1].lower() + name[1:] if name else name


#: The rule for a free-text member where AWS documents no pattern: no C0
#: control character (NUL, tab, newline, ESC, ...) and no DEL. Stated as a
#: pattern so that the message and the OpenAPI document can show it.
PRINTABLE = r"^[^\u0000-\u001F\u007F]*$"
_PRINTABLE = re.compile(PRINTABLE)
#: AWS's pattern for a key policy document: tab, LF, CR and U+0020 to U+00FF.
POLICY_DOCUMENT = r"[\u0009\u000A\u000D\u0020-\u00FF]+"
#: How much of a rejected value a message quotes.
SHOWN_LENGTH = 512


class ConstraintMessage(str):
    """A constraint a value failed, and the value as the message may quote it
    (``None``: the value is not quoted: blobs, secrets, maps, wrong types)."""

    shown: str | None = None


def shown(value: str) -> str:
    """``value`` as a message may quote it: control characters escaped (a
    message is logged and audited), long values clipped."""
    clipped = value[:SHOWN_LENGTH]
    text = "".join(
        c if c.isprintable() else f"\\u{ord(c):04x}" if ord(c) <= 0xFFFF else f"\\U{ord(c):08x}"
        for c in clipped
    )
    return text + "..." if len(value) > SHOWN_LENGTH else text


def constraint(message: str, value: str | None = None) -> MarshmallowValidationError:
    """The error of a field whose value failed ``message``; ``value``, when
    given, is quoted in the message (AWS's ``Value '<v>' at ...``)."""
    text = ConstraintMessage(f"failed to satisfy constraint: {message}")
    text.shown = None if value is None else shown(value)
    return MarshmallowValidationError(text)


class StrictSchema(Schema):
    """Unknown members are refused (the REST door); the AWS door loads with
    ``unknown=EXCLUDE`` because AWS ignores members it does not know."""

    class Meta:
        unknown = RAISE


class RequestSchema(StrictSchema):
    """A schema that loads into the typed request of its operation: a
    subclass declares its fields and names that type in ``builds``; the
    loaded members are its keyword arguments. A schema whose members are not
    the request's own (a renamed or dropped member, a refusal that needs the
    whole request) overrides :meth:`arguments`."""

    builds: ClassVar[type[Any]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not isinstance(getattr(cls, "builds", None), type):
            raise TypeError(f"{cls.__name__} names no request type in 'builds'")

    def arguments(self, data: dict[str, Any]) -> dict[str, Any]:
        """The request's keyword arguments, from the loaded members."""
        return data

    @post_load
    def build(self, data: dict[str, Any], **_: Any) -> Any:
        return self.builds(**self.arguments(data))


@plain_field
class Text(fields.Field[str]):
    """A string with AWS's length and pattern constraints.

    A member with neither a pattern nor a set of choices gets
    :data:`PRINTABLE`: free text never carries control characters. Where AWS
    documents a pattern (alias names, policy documents, markers) that pattern
    is the rule instead; ``printable=False`` drops the rule, for documents
    that are only diagnosed, never stored (``/v1/policy/validate``), whose
    parser reports bad characters itself. With ``quote=False`` (grant
    tokens, policy documents) an error message never quotes the value."""

    def __init__(
        self,
        *,
        min_length: int = 0,
        max_length: int | None = None,
        pattern: str | None = None,
        choices: Sequence[str] | None = None,
        quote: bool = True,
        printable: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if pattern is None and not choices and printable:
            pattern = PRINTABLE
        self.min_length = min_length
        self.max_length = max_length
        self.pattern = re.compile(pattern) if pattern else None
        self.choices = tuple(choices) if choices else None
        self.quote = quote

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> str:
        if not isinstance(value, str):
            raise constraint("Member must be a string")
        quoted = value if self.quote else None
        if len(value) < self.min_length:
            raise constraint(
                f"Member must have length greater than or equal to {self.min_length}", quoted
            )
        if self.max_length is not None and len(value) > self.max_length:
            raise constraint(
                f"Member must have length less than or equal to {self.max_length}", quoted
            )
        if self.choices is not None and value not in self.choices:
            raise constraint(
                f"Member must satisfy enum value set: [{', '.join(self.choices)}]", quoted
            )
        if self.pattern is not None and not self.pattern.fullmatch(value):
            raise constraint(
                f"Member must satisfy regular expression pattern: {self.pattern.pattern}", quoted
            )
        return value

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return value


@plain_field
class Int(fields.Field[int]):
    """A JSON integer (not a bool, not 1.5, not "32") within a range."""

    def __init__(self, *, minimum: int, maximum: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.minimum = minimum
        self.maximum = maximum

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise constraint("Member must be an integer")
        if value < self.minimum:
            raise constraint(
                f"Member must have value greater than or equal to {self.minimum}", str(value)
            )
        if value > self.maximum:
            raise constraint(
                f"Member must have value less than or equal to {self.maximum}", str(value)
            )
        return value

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return value


@plain_field
class Flag(fields.Field[bool]):
    """A JSON boolean, nothing else."""

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> bool:
        if not isinstance(value, bool):
            raise constraint("Member must be a boolean")
        return value

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return value


@plain_field
class Blob(fields.Field[bytes]):
    """Standard base64 with padding, decoded strictly; limits are on the bytes."""

    def __init__(self, *, min_bytes: int = 1, max_bytes: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.min_bytes = min_bytes
        self.max_bytes = max_bytes

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> bytes:
        if not isinstance(value, str):
            raise constraint("Member must be a base64-encoded string")
        # Reject oversized input before decoding it.
        if len(value) > (self.max_bytes + 2) // 3 * 4 + 4:
            raise constraint(f"Member must have length less than or equal to {self.max_bytes}")
        try:
            decoded = base64.b64decode(value.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError, ValueError):
            raise constraint("Member must be valid base64") from None
        if len(decoded) < self.min_bytes:
            raise constraint(f"Member must have length greater than or equal to {self.min_bytes}")
        if len(decoded) > self.max_bytes:
            raise constraint(f"Member must have length less than or equal to {self.max_bytes}")
        return decoded

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return base64.b64encode(value).decode("ascii") if isinstance(value, bytes) else value


@plain_field
class StringMap(fields.Field[dict[str, str]]):
    """A JSON object of string to string (``EncryptionContext``); keys and
    values are free text (:data:`PRINTABLE`) unless ``printable=False``
    (policy documents that are only diagnosed). A map is never quoted in a
    message."""

    def __init__(self, *, max_entries: int = 64, printable: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_entries = max_entries
        self.printable = printable

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> dict[str, str]:
        if not isinstance(value, dict):
            raise constraint("Member must be a map of string to string")
        if len(value) > self.max_entries:
            raise constraint(f"Member must have at most {self.max_entries} entries")
        for key, item in value.items():
            if not isinstance(key, str) or not isinstance(item, str):
                raise constraint("Member must be a map of string to string")
            if not key:
                raise constraint("Member keys must have length greater than or equal to 1")
            if self.printable and not (_PRINTABLE.fullmatch(key) and _PRINTABLE.fullmatch(item)):
                raise constraint(
                    f"Map keys and values must satisfy regular expression pattern: {PRINTABLE}"
                )
        return dict(value)

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return value


def policy_document(data_key: str, *, required: bool = False, stored: bool = True) -> Text:
    """A policy document member: up to 128 KiB, never quoted in a message.
    A document that is stored follows AWS's policy pattern (tab, LF, CR and
    U+0020 to U+00FF); one that is only diagnosed (``stored=False``) is left
    to the policy parser, which reports a bad character with its position."""
    return Text(
        required=required,
        min_length=1,
        max_length=131072,
        pattern=POLICY_DOCUMENT if stored else None,
        printable=stored,
        quote=False,
        data_key=data_key,
    )


@plain_field
class TextList(fields.Field[list[str]]):
    """A JSON array of constrained strings."""

    def __init__(
        self, *, item: Text, min_items: int = 0, max_items: int | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.item = item
        self.min_items = min_items
        self.max_items = max_items

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> list[str]:
        if not isinstance(value, list):
            raise constraint("Member must be a list")
        if len(value) < self.min_items:
            raise constraint(f"Member must have length greater than or equal to {self.min_items}")
        if self.max_items is not None and len(value) > self.max_items:
            raise constraint(f"Member must have length less than or equal to {self.max_items}")
        items = []
        for index, element in enumerate(value):
            try:
                items.append(str(self.item.deserialize(element)))
            except MarshmallowValidationError as exc:
                # Reported at the item, as AWS does: ``tagKeys.1.member``.
                raise MarshmallowValidationError({index: exc.messages}) from None
        return items

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return value


def _order(key: Any) -> tuple[int, str]:
    # List positions in numeric order, member names in alphabetical order.
    return (key, "") if isinstance(key, int) else (-1, str(key))


def _first_error(messages: Any, path: list[str | int]) -> tuple[list[str | int], Any]:
    if isinstance(messages, dict):
        for key in sorted(messages, key=_order):
            return _first_error(messages[key], [*path, key])
    if isinstance(messages, list) and messages:
        first = messages[0]
        if isinstance(first, (dict, list)):
            return _first_error(first, path)
        return path, first
    return path, messages


def member_path(path: Sequence[str | int]) -> str:
    """AWS's name for where a problem is: lowerCamel members, and list items
    numbered from 1 with ``.member`` (``tags.1.member.tagKey``)."""
    parts = [f"{p + 1}.member" if isinstance(p, int) else lower_camel(p) for p in path]
    return ".".join(parts) or "body"


def validation_error(exc: MarshmallowValidationError) -> ValidationError:
    """AWS's message form for the first problem marshmallow found::

        1 validation error detected: Value 'alias/x!' at 'aliasName' failed to
        satisfy constraint: Member must satisfy regular expression pattern: ...

    The rejected value is quoted only where the field allows it
    (:class:`ConstraintMessage`): never a blob, a map or a secret."""
    path, first = _first_error(exc.messages, [])
    message = str(first)
    member = str(path[0]) if path else None
    where = member_path(path)
    if message == "Unknown field.":
        text = f"1 validation error detected: '{where}' is not a member of this request"
    elif message in ("Missing data for required field.", "Field may not be null."):
        text = (
            f"1 validation error detected: Value null at '{where}' failed to satisfy "
            "constraint: Member must not be null"
        )
    elif message.startswith("failed to satisfy constraint:"):
        value = first.shown if isinstance(first, ConstraintMessage) else None
        quoted = "" if value is None else f" '{value}'"
        text = f"1 validation error detected: Value{quoted} at '{where}' {message}"
    else:
        text = f"1 validation error detected: Value at '{where}' is not valid: {message}"
    return ValidationError(text, field=member)


_INSTANCES: dict[type[Schema], Schema] = {}


def schema(cls: type[Schema]) -> Schema:
    """The one instance of a schema class. Building a marshmallow schema copies
    all its fields, which cost more than loading a request; loading never
    changes the instance, so one per class serves every request and thread."""
    instance = _INSTANCES.get(cls)
    if instance is None:
        instance = _INSTANCES.setdefault(cls, cls())
    return instance


def load(schema: Schema, data: Mapping[str, Any], *, ignore_unknown: bool = False) -> Any:
    """Load ``data`` with ``schema``; any problem is a :class:`ValidationError`.
    A well-formed request of a plain schema is loaded by its plan
    (:mod:`app.schemas.plan`), anything else by marshmallow."""
    plan = plan_of(schema) if type(data) is dict else None
    if plan is not None:
        typed = plan.load(data, ignore_unknown)
        if typed is not UNPLAIN:
            return typed
    try:
        return schema.load(data, unknown="exclude" if ignore_unknown else "raise")
    except MarshmallowValidationError as exc:
        raise validation_error(exc) from None
