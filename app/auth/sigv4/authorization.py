"""The ``Authorization`` header: ``AWS4-HMAC-SHA256 Credential=…,
SignedHeaders=…, Signature=…``, parsed strictly into :class:`Authorization`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from app.auth.access_keys import ANY_ACCESS_KEY_ID_RE
from app.auth.sigv4.errors import (
    HOST_NOT_SIGNED_MESSAGE,
    SigV4Error,
    incomplete,
    unrecognized,
)
from app.auth.sigv4.signing import ALGORITHM

# Bounds on what the parser reads: well above what botocore sends and below
# what would make parsing a cost worth attacking.
MAX_AUTHORIZATION_CHARS: Final = 4096
MAX_SIGNED_HEADERS: Final = 64

#: An RFC 9110 token in lower case: what a signed header name may be.
_HEADER_NAME_RE: Final = re.compile(r"[a-z0-9!#$%&'*+.^_`|~-]+")
_SIGNATURE_RE: Final = re.compile(r"[0-9a-f]{64}")
_SCOPE_DATE_RE: Final = re.compile(r"[0-9]{8}")
#: Region, service and terminator in a credential: short and safe to echo.
_SCOPE_PART_RE: Final = re.compile(r"[A-Za-z0-9_.-]{1,64}")


@dataclass(frozen=True)
class Authorization:
    """The parsed ``Authorization`` header."""

    access_key_id: str
    date_stamp: str
    region: str
    service: str
    terminator: str
    signed_headers: str
    signature: str = ""

    @property
    def scope(self) -> str:
        return f"{self.date_stamp}/{self.region}/{self.service}/{self.terminator}"

    @property
    def signed_header_names(self) -> list[str]:
        return self.signed_headers.split(";")

    def __repr__(self) -> str:
        return f"Authorization({self.access_key_id!r}, {self.scope!r}, {self.signed_headers!r})"


def parse_authorization(value: str) -> Authorization:
    """Parse ``AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…``."""
    if len(value) > MAX_AUTHORIZATION_CHARS:
        incomplete("The Authorization header is too long.")
    # A client sends the same header all day but for its signature, which
    # SDKs put last: what comes before it is parsed once per text. The result
    # is the one the full parse gives; anything else takes the full parse,
    # which then says what is wrong.
    head, comma, last = value.rpartition(",")
    if comma:
        name, equals, signature = last.strip().partition("=")
        if name == "Signature" and equals and _SIGNATURE_RE.fullmatch(signature):
            unsigned = _unsigned(head)
            if unsigned is not None:
                return Authorization(
                    unsigned.access_key_id,
                    unsigned.date_stamp,
                    unsigned.region,
                    unsigned.service,
                    unsigned.terminator,
                    unsigned.signed_headers,
                    signature,
                )
    return _parse(value)


#: A well-formed signature, to parse what precedes a signature on its own.
_ANY_SIGNATURE: Final = "0" * 64


@lru_cache(maxsize=1024)
def _unsigned(head: str) -> Authorization | None:
    """What :func:`_parse` makes of ``head`` followed by a signature (without
    the signature), or ``None`` if that is not well formed."""
    try:
        return _parse(f"{head}, Signature={_ANY_SIGNATURE}")
    except SigV4Error:
        return None


def _parse(value: str) -> Authorization:
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm != ALGORITHM:
        incomplete(
            f"Unsupported AWS 'algorithm': only {ALGORITHM} is accepted.",
            "the Authorization header does not use AWS4-HMAC-SHA256",
        )
    parts: dict[str, str] = {}
    for item in rest.split(","):
        name, sep, part = item.strip().partition("=")
        if not sep or name not in ("Credential", "SignedHeaders", "Signature"):
            incomplete(
                "Authorization header requires 'Credential', 'SignedHeaders' and "
                "'Signature' parameters, and no others.",
                "the Authorization header has an unknown or malformed part",
            )
        if name in parts:
            incomplete(f"Authorization header has more than one '{name}' parameter.")
        parts[name] = part
    for required in ("Credential", "SignedHeaders", "Signature"):
        if not parts.get(required):
            incomplete(f"Authorization header requires '{required}' parameter.")

    access_key_id, date_stamp, region, service, terminator = _credential(parts["Credential"])
    signed = _signed_headers(parts["SignedHeaders"])

    if not _SIGNATURE_RE.fullmatch(parts["Signature"]):
        incomplete(
            "Signature must be 64 lower-case hexadecimal characters.",
            "the signature is malformed",
        )
    return Authorization(
        access_key_id=access_key_id,
        date_stamp=date_stamp,
        region=region,
        service=service,
        terminator=terminator,
        signed_headers=signed,
        signature=parts["Signature"],
    )


@lru_cache(maxsize=1024)
def _credential(text: str) -> tuple[str, str, str, str, str]:
    """``Credential=``'s five parts, checked (remembered per text: a client
    sends the same one all day, only the signature changes)."""
    credential = text.split("/")
    if len(credential) != 5 or not all(credential):
        incomplete(
            "Credential should have exactly 5 slash-delimited elements, "
            "e.g. keyid/date/region/service/term.",
            "the credential does not have 5 non-empty elements",
        )
    access_key_id, date_stamp, region, service, terminator = credential
    if not ANY_ACCESS_KEY_ID_RE.fullmatch(access_key_id):
        # Not an id at all: refused like an unknown one, without a lookup.
        unrecognized("the credential's access key id is malformed")
    if not _SCOPE_DATE_RE.fullmatch(date_stamp):
        incomplete(
            "The date in the credential scope must be yyyyMMdd.",
            "the credential scope date is malformed",
        )
    if not all(_SCOPE_PART_RE.fullmatch(p) for p in (region, service, terminator)):
        incomplete(
            "The credential scope is malformed.",
            "the credential scope has a malformed region, service or terminator",
        )
    return access_key_id, date_stamp, region, service, terminator


@lru_cache(maxsize=1024)
def _signed_headers(signed: str) -> str:
    """``SignedHeaders=``, checked (remembered per text, as :func:`_credential`)."""
    names = signed.split(";")
    if len(names) > MAX_SIGNED_HEADERS:
        incomplete("Too many SignedHeaders.")
    if not all(_HEADER_NAME_RE.fullmatch(n) for n in names):
        incomplete(
            "SignedHeaders must be lower-case header names separated by ';'.",
            "SignedHeaders is malformed",
        )
    if len(set(names)) != len(names):
        incomplete("SignedHeaders names a header more than once.")
    if "host" not in names:
        incomplete(HOST_NOT_SIGNED_MESSAGE, "the host header is not signed")
    return signed
