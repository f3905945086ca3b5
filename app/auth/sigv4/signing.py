"""From a canonical request to a signature: the string to sign, the derived
signing key and the HMAC over them.

Pure functions, also checked against AWS's published example by the tests.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Final

ALGORITHM: Final = "AWS4-HMAC-SHA256"
SERVICE: Final = "kms"
TERMINATOR: Final = "aws4_request"


def string_to_sign(amz_date: str, scope: str, canonical: str) -> str:
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{amz_date}\n{scope}\n{digest}"


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.digest(key, text.encode("utf-8"), "sha256")


def signing_key(secret: bytes, date_stamp: str, region: str, service: str) -> bytes:
    """kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")."""
    k_date = _hmac(b"AWS4" + secret, date_stamp)
    k_region = _hmac(k_date, region)
    k_service = _hmac(k_region, service)
    return _hmac(k_service, TERMINATOR)


def signature(key: bytes, to_sign: str) -> str:
    return hmac.digest(key, to_sign.encode("utf-8"), "sha256").hex()
