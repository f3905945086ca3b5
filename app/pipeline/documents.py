"""The JSON the doors answer with."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any


def jsonable(value: Any) -> Any:
    """Blobs become standard base64; everything else is already JSON."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, Mapping):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


#: One encoder for every answer (``json.dumps`` with options builds one per call).
_ENCODER = json.JSONEncoder(separators=(",", ":"))


def json_document(document: Any, *, newline: bool) -> bytes:
    """Compact, ASCII JSON (what Flask's ``jsonify`` writes outside debug mode),
    with a final newline where the door has always sent one (REST)."""
    text = _ENCODER.encode(document)
    return (text + "\n").encode() if newline else text.encode()
