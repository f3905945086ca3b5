"""An independent SigV4 signer for the tests, written from AWS's specification
("Create a signed AWS API request") and botocore's choices, sharing no code
with :mod:`app.auth.sigv4`.

It signs what botocore signs for KMS: every header except the ones botocore
leaves out (``user-agent`` among them), the path encoded twice, the hex
SHA-256 of the body (or the ``X-Amz-Content-SHA256`` value when one is sent).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import quote

#: Headers botocore never signs (botocore/auth.py, SIGNED_HEADERS_BLACKLIST).
UNSIGNED = frozenset(
    {
        "expect",
        "transfer-encoding",
        "user-agent",
        "x-amzn-trace-id",
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "upgrade",
    }
)
UNRESERVED = "-_.~"


def _h(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()


def derive_key(secret: str, date: str, region: str, service: str) -> bytes:
    k = _h(("AWS4" + secret).encode("utf-8"), date)
    k = _h(k, region)
    k = _h(k, service)
    return _h(k, "aws4_request")


def wire_path(path: str) -> str:
    """The path as an SDK puts it on the wire: each segment percent-encoded once."""
    return "/".join(quote(segment, safe=UNRESERVED) for segment in path.split("/")) or "/"


def _canonical_path(path: str) -> str:
    # Non-S3 services: every segment is encoded twice (once for the wire, once
    # more for the canonical request).
    return (
        "/".join(
            quote(quote(segment, safe=UNRESERVED), safe=UNRESERVED) for segment in path.split("/")
        )
        or "/"
    )


def _canonical_query(params: Sequence[tuple[str, str]]) -> str:
    encoded = sorted((quote(k, safe=UNRESERVED), quote(v, safe=UNRESERVED)) for k, v in params)
    return "&".join(f"{k}={v}" for k, v in encoded)


def _collapse(value: str) -> str:
    return re.sub(r"[ \t]+", " ", value.strip(" \t"))


@dataclass
class Signed:
    """A signed request: the headers to send (Authorization included) and what
    went into the signature, for assertions."""

    headers: list[tuple[str, str]]
    signature: str
    canonical_request: str
    string_to_sign: str
    signed_headers: str
    authorization: str
    extra: dict[str, str] = field(default_factory=dict)


def sign(
    *,
    method: str,
    path: str,
    params: Sequence[tuple[str, str]] = (),
    headers: Sequence[tuple[str, str]],
    body: bytes,
    access_key_id: str,
    secret: str,
    region: str,
    service: str,
    amz_date: str,
    scope_date: str | None = None,
    signed_names: Sequence[str] | None = None,
) -> Signed:
    """Sign like botocore. ``path`` is the logical (decoded) path; ``headers``
    must already include ``host`` and the date header. ``scope_date`` and
    ``signed_names`` override what would normally be signed, to build
    requests that are wrong in exactly one respect."""
    grouped: dict[str, list[str]] = {}
    for name, value in headers:
        grouped.setdefault(name.lower(), []).append(value)
    names = (
        sorted({n for n in grouped if n not in UNSIGNED})
        if signed_names is None
        else list(signed_names)
    )
    signed_headers = ";".join(names)
    canonical_headers = "".join(
        f"{n}:{','.join(_collapse(v) for v in grouped.get(n, []))}\n" for n in sorted(names)
    )
    payload = grouped.get("x-amz-content-sha256", [hashlib.sha256(body).hexdigest()])[0]
    canonical_request = "\n".join(
        [
            method,
            _canonical_path(path),
            _canonical_query(params),
            canonical_headers,
            signed_headers,
            payload,
        ]
    )
    date = scope_date or amz_date[:8]
    scope = f"{date}/{region}/{service}/aws4_request"
    string_to_sign = "\n".join(
        [
            "AWS4-HMAC-SHA256",
            amz_date,
            scope,
            hashlib.sha256(canonical_request.encode("utf-8")).hexdigest(),
        ]
    )
    signature = hmac.new(
        derive_key(secret, date, region, service), string_to_sign.encode("utf-8"), hashlib.sha256
    ).hexdigest()
    authorization = (
        f"AWS4-HMAC-SHA256 Credential={access_key_id}/{scope}, "
        f"SignedHeaders={signed_headers}, Signature={signature}"
    )
    return Signed(
        headers=[*headers, ("Authorization", authorization)],
        signature=signature,
        canonical_request=canonical_request,
        string_to_sign=string_to_sign,
        signed_headers=signed_headers,
        authorization=authorization,
    )
