"""Which request parameters an audit event may record, and in what form.

An allow-list, not a deny-list: a parameter is recorded only if it is named
here, under its CloudTrail-style lowerCamel name, and only if its value has
the expected type. Everything else (``Plaintext``, data keys, ``Message``,
access-key secrets, tokens, and any name added to the API later) is dropped,
so a new secret-bearing field can never leak into the log by default.

A few parameters are recorded as a fingerprint instead of their value:
``CiphertextBlob`` as the SHA-256 of the decoded bytes (enough to correlate
an Encrypt with its Decrypt), ``Policy``/``PolicyDocument`` as the SHA-256 of
the text (policy bodies can be large and are not the log's business), and
``GrantTokens`` as a count (a grant token is a bearer credential).

Input names may be PascalCase (``KeyId``, as both doors receive them),
lowerCamel (``keyId``) or snake_case (``key_id``, a typed request's fields);
the output is always lowerCamel. Sanitising an already sanitised mapping
gives it back unchanged, so the writer re-applies it to every event.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import math
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

_STRING = "string"
_LONG_STRING = "long-string"
_INTEGER = "integer"
_TIME = "time"
_BOOLEAN = "boolean"
_STRING_MAP = "string-map"
_STRING_LIST = "string-list"
_TAGS = "tags"
_COUNT = "count"
_SHA256_OF_BYTES = "sha256-of-bytes"
_SHA256_OF_TEXT = "sha256-of-text"
_SHA256_HEX = "sha256-hex"
_GRANT_CONSTRAINTS = "grant-constraints"

#: PascalCase parameter name -> (recorded lowerCamel name, how its value is recorded).
ALLOWED_PARAMETERS: dict[str, tuple[str, str]] = {
    # Keys and aliases.
    "KeyId": ("keyId", _STRING),
    "TargetKeyId": ("targetKeyId", _STRING),
    "SourceKeyId": ("sourceKeyId", _STRING),
    "DestinationKeyId": ("destinationKeyId", _STRING),
    "AliasName": ("aliasName", _STRING),
    "Description": ("description", _LONG_STRING),
    "KeySpec": ("keySpec", _STRING),
    "CustomerMasterKeySpec": ("customerMasterKeySpec", _STRING),
    "KeyUsage": ("keyUsage", _STRING),
    "Origin": ("origin", _STRING),
    "CustomKeyStoreId": ("customKeyStoreId", _STRING),
    # Custom key stores: never the KeyStorePassword (the token's PIN).
    "CustomKeyStoreName": ("customKeyStoreName", _STRING),
    "NewCustomKeyStoreName": ("newCustomKeyStoreName", _STRING),
    "CustomKeyStoreType": ("customKeyStoreType", _STRING),
    "CloudHsmClusterId": ("cloudHsmClusterId", _STRING),
    "TrustAnchorCertificate": ("trustAnchorCertificateSha256", _SHA256_OF_TEXT),
    "KeyPairSpec": ("keyPairSpec", _STRING),
    "MultiRegion": ("multiRegion", _BOOLEAN),
    "PendingWindowInDays": ("pendingWindowInDays", _INTEGER),
    "RotationPeriodInDays": ("rotationPeriodInDays", _INTEGER),
    "IncludeKeyMaterial": ("includeKeyMaterial", _STRING),
    # Imported material: the choices only (never the token or the wrapped material).
    "WrappingAlgorithm": ("wrappingAlgorithm", _STRING),
    "WrappingKeySpec": ("wrappingKeySpec", _STRING),
    "ExpirationModel": ("expirationModel", _STRING),
    "ValidTo": ("validTo", _TIME),
    "ImportType": ("importType", _STRING),
    "KeyMaterialId": ("keyMaterialId", _STRING),
    "BypassPolicyLockoutSafetyCheck": ("bypassPolicyLockoutSafetyCheck", _BOOLEAN),
    "BypassSeparationOfDutiesCheck": ("bypassSeparationOfDutiesCheck", _BOOLEAN),
    "Administrators": ("administrators", _STRING_LIST),
    "Users": ("users", _STRING_LIST),
    "Tags": ("tags", _TAGS),
    "TagKeys": ("tagKeys", _STRING_LIST),
    "PolicyName": ("policyName", _STRING),
    "Limit": ("limit", _INTEGER),
    "Marker": ("marker", _STRING),
    # Cryptographic operations.
    "EncryptionContext": ("encryptionContext", _STRING_MAP),
    "SourceEncryptionContext": ("sourceEncryptionContext", _STRING_MAP),
    "DestinationEncryptionContext": ("destinationEncryptionContext", _STRING_MAP),
    "EncryptionAlgorithm": ("encryptionAlgorithm", _STRING),
    "SourceEncryptionAlgorithm": ("sourceEncryptionAlgorithm", _STRING),
    "DestinationEncryptionAlgorithm": ("destinationEncryptionAlgorithm", _STRING),
    "SigningAlgorithm": ("signingAlgorithm", _STRING),
    "MacAlgorithm": ("macAlgorithm", _STRING),
    "MessageType": ("messageType", _STRING),
    "KeyAgreementAlgorithm": ("keyAgreementAlgorithm", _STRING),
    "NumberOfBytes": ("numberOfBytes", _INTEGER),
    "DryRun": ("dryRun", _BOOLEAN),
    "CiphertextBlob": ("ciphertextBlobSha256", _SHA256_OF_BYTES),
    "GrantTokens": ("grantTokenCount", _COUNT),
    # Grants.
    "GrantId": ("grantId", _STRING),
    "Name": ("name", _STRING),
    "GranteePrincipal": ("granteePrincipal", _STRING),
    "RetiringPrincipal": ("retiringPrincipal", _STRING),
    "Operations": ("operations", _STRING_LIST),
    "Constraints": ("constraints", _GRANT_CONSTRAINTS),
    # Identity.
    "PrincipalArn": ("principalArn", _STRING),
    "AccessKeyId": ("accessKeyId", _STRING),
    # Policy documents: a fingerprint only.
    "Policy": ("policySha256", _SHA256_OF_TEXT),
    "PolicyDocument": ("policyDocumentSha256", _SHA256_OF_TEXT),
    # Already sanitised values (so that sanitising is idempotent).
    "CiphertextBlobSha256": ("ciphertextBlobSha256", _SHA256_HEX),
    "GrantTokenCount": ("grantTokenCount", _INTEGER),
    "PolicySha256": ("policySha256", _SHA256_HEX),
    "PolicyDocumentSha256": ("policyDocumentSha256", _SHA256_HEX),
    "TrustAnchorCertificateSha256": ("trustAnchorCertificateSha256", _SHA256_HEX),
}

_AUDIT_FILTERS: dict[str, tuple[str, str]] = {
    "Principal": ("principal", _STRING),
    "Operation": ("operation", _STRING),
    "Key": ("key", _STRING),
    "Outcome": ("outcome", _STRING),
    "ErrorCode": ("errorCode", _STRING),
    # ISO 8601 or epoch seconds, as the caller wrote them (text; an integer
    # from callers that pass one).
    "Since": ("since", _TIME),
    "Until": ("until", _TIME),
}

#: Names allowed for one operation only (generic words like ``Key`` must not be
#: recorded for any other operation, where they might one day carry a secret).
OPERATION_PARAMETERS: dict[str, dict[str, tuple[str, str]]] = {
    "SearchAuditEvents": {**_AUDIT_FILTERS, "Cursor": ("cursor", _STRING)},
    "ExportAuditEvents": _AUDIT_FILTERS,
    "GetAuditEvent": {"EventId": ("eventId", _STRING)},
}

#: What CloudTrail records for these operations even when the caller sent nothing.
_DEFAULTS: dict[str, dict[str, str]] = {
    "Encrypt": {"encryptionAlgorithm": "SYMMETRIC_DEFAULT"},
    "Decrypt": {"encryptionAlgorithm": "SYMMETRIC_DEFAULT"},
    "ReEncrypt": {
        "sourceEncryptionAlgorithm": "SYMMETRIC_DEFAULT",
        "destinationEncryptionAlgorithm": "SYMMETRIC_DEFAULT",
    },
    "Sign": {"messageType": "RAW"},
    "Verify": {"messageType": "RAW"},
}

MAX_STRING = 2048
MAX_TIME = 64
MAX_LONG_STRING = 8192
MAX_ITEMS = 100
MAX_MAP_ENTRIES = 64

_SHA256_HEX_RE = re.compile(r"^[0-9a-f]{64}$")
_SNAKE_RE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)+$")


def pascal_name(name: str) -> str:
    """``key_id``, ``keyId`` and ``KeyId`` all become ``KeyId``."""
    # Member names repeat on every request; only short ones are remembered,
    # so a caller's made-up names cannot fill memory.
    return _pascal_name_cached(name) if len(name) <= 64 else _pascal_name(name)


@lru_cache(maxsize=1024)
def _pascal_name_cached(name: str) -> str:
    return _pascal_name(name)


def _pascal_name(name: str) -> str:
    if _SNAKE_RE.match(name):
        return "".join(part[:1].upper() + part[1:] for part in name.split("_"))
    return name[:1].upper() + name[1:]


def _string(value: Any, limit: int) -> str | None:
    return value[:limit] if isinstance(value, str) else None


def _string_list(value: Any) -> list[str] | None:
    if not isinstance(value, list | tuple):
        return None
    return [item[:MAX_STRING] for item in value[:MAX_ITEMS] if isinstance(item, str)]


def _string_map(value: Any) -> dict[str, str] | None:
    if not isinstance(value, Mapping):
        return None
    result: dict[str, str] = {}
    for key, item in list(value.items())[:MAX_MAP_ENTRIES]:
        if isinstance(key, str) and isinstance(item, str):
            result[key[:MAX_STRING]] = item[:MAX_STRING]
    return result


def _tags(value: Any) -> list[dict[str, str]] | None:
    pairs: list[tuple[Any, Any]] = []
    if isinstance(value, Mapping):
        pairs = list(value.items())
    elif isinstance(value, list | tuple):
        for item in value:
            if isinstance(item, Mapping):
                pairs.append(
                    (
                        item.get("TagKey", item.get("tagKey", item.get("tag_key"))),
                        item.get("TagValue", item.get("tagValue", item.get("tag_value"))),
                    )
                )
            elif isinstance(item, list | tuple) and len(item) == 2:
                pairs.append((item[0], item[1]))
    else:
        return None
    return [
        {"tagKey": k[:MAX_STRING], "tagValue": v[:MAX_STRING]}
        for k, v in pairs[:MAX_ITEMS]
        if isinstance(k, str) and isinstance(v, str)
    ]


_CONSTRAINT_NAMES = {
    "EncryptionContextEquals": "encryptionContextEquals",
    "EncryptionContextSubset": "encryptionContextSubset",
}


def _grant_constraints(value: Any) -> dict[str, dict[str, str]] | None:
    """A grant's ``Constraints``: its encryption-context pairs, which the log
    records for every other call too (never a secret)."""
    if not isinstance(value, Mapping):
        return None
    result: dict[str, dict[str, str]] = {}
    for name, pairs in value.items():
        if not isinstance(name, str):
            continue
        recorded = _CONSTRAINT_NAMES.get(pascal_name(name))
        mapped = _string_map(pairs)
        if recorded is not None and mapped is not None:
            result[recorded] = mapped
    return result or None


def _decoded_blob(value: Any) -> bytes | None:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if isinstance(value, str):
        try:
            return base64.b64decode(value.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError, ValueError):
            # Not base64: fingerprint the text as given; still never the value.
            return value.encode("utf-8", "surrogatepass")
    return None


def _iso_time(value: float) -> str | None:
    if not math.isfinite(value):
        return None
    try:
        moment = datetime.datetime.fromtimestamp(value, datetime.UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _recorded(kind: str, value: Any) -> Any:
    """The recorded form of ``value``, or ``None`` to drop the parameter."""
    if kind == _STRING:
        return _string(value, MAX_STRING)
    if kind == _LONG_STRING:
        return _string(value, MAX_LONG_STRING)
    if kind == _INTEGER:
        return value if isinstance(value, int) and not isinstance(value, bool) else None
    if kind == _TIME:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float):
            # The canonical encoding has no floats: epoch seconds with a
            # fraction (ValidTo) are recorded as ISO 8601 text, in UTC.
            return _iso_time(value)
        return _string(value, MAX_TIME)
    if kind == _BOOLEAN:
        return value if isinstance(value, bool) else None
    if kind == _STRING_MAP:
        return _string_map(value)
    if kind == _STRING_LIST:
        return _string_list(value)
    if kind == _TAGS:
        return _tags(value)
    if kind == _COUNT:
        return len(value) if isinstance(value, list | tuple) else None
    if kind == _SHA256_OF_BYTES:
        blob = _decoded_blob(value)
        return None if blob is None else hashlib.sha256(blob).hexdigest()
    if kind == _SHA256_OF_TEXT:
        if not isinstance(value, str):
            return None
        return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()
    if kind == _SHA256_HEX:
        return value if isinstance(value, str) and _SHA256_HEX_RE.match(value) else None
    if kind == _GRANT_CONSTRAINTS:
        return _grant_constraints(value)
    raise AssertionError(f"unknown parameter kind {kind}")


def sanitize_parameters(event_name: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """The request parameters of ``event_name`` that are safe to record."""
    result: dict[str, Any] = {}
    own = OPERATION_PARAMETERS.get(event_name, {})
    for name, value in params.items():
        if not isinstance(name, str) or value is None:
            continue
        pascal = pascal_name(name)
        spec = own.get(pascal) or ALLOWED_PARAMETERS.get(pascal)
        if spec is None:
            continue
        recorded_name, kind = spec
        recorded = _recorded(kind, value)
        if recorded is not None:
            result[recorded_name] = recorded
    for name, default in _DEFAULTS.get(event_name, {}).items():
        result.setdefault(name, default)
    return result
