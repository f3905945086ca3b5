"""AWS Signature Version 4 verification for the AWS door (kms-api.md §1.3).

The verifier works on a plain description of the request
(:class:`SignedRequest`) and a lookup callback, so it needs neither Flask nor
the database: the AWS door builds the description (see
:func:`signed_request_from_wsgi`), the operations layer supplies the lookup.

Checks, cheapest first, so that nothing is looked up or hashed for a request
that can be refused from its headers alone:

1. sizes: header count and bytes, path, query, body;
2. exactly one ``Authorization`` header (none at all is
   ``MissingAuthenticationTokenException``); it is
   ``AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`` in any order
   with optional spaces after the commas; another algorithm, a missing,
   repeated or unknown part, a malformed credential, signed-header list or
   signature is ``IncompleteSignatureException``;
3. ``host`` must be signed (``IncompleteSignatureException``: an unsigned
   ``Host`` would let a request signed for one endpoint be replayed to another);
4. ``X-Amz-Security-Token`` is refused (``UnrecognizedClientException``):
   Trent issues no temporary credentials, so any session token is foreign;
5. the request time, from ``X-Amz-Date`` (``yyyymmddTHHMMSSZ``) or else an
   RFC 7231 ``Date``, parsed strictly;
6. the credential scope (``InvalidSignatureException``): its date must be
   the request's date, its region Trent's region, its service ``kms``, its
   terminator ``aws4_request``;
7. the clock: more than five minutes in the past or the future is
   ``InvalidSignatureException`` with AWS's "Signature expired" /
   "Signature not yet current" text;
8. the payload hash: a present ``X-Amz-Content-SHA256`` must equal the body's
   SHA-256 (``UNSIGNED-PAYLOAD`` and streaming forms are refused: a KMS body
   is small and always signed);
9. every signed header must be present;
10. the access key id must have the form of an id and be known to the lookup
    (``UnrecognizedClientException``); the lookup runs on every request, so a
    deleted key is unusable at once, in every process;
11. the signature is recomputed and compared in constant time.

Every failure raises :class:`SigV4Error`, carrying AWS's error code, AWS's
client-facing message and a ``reason`` for the log. Neither ever contains the
secret, a derived key or a signature.

There is no cache of derived signing keys: the lookup (one indexed read) must
run on every request anyway so that deletion takes effect at once, and the
derivation it would save is four HMACs.

The package, one module per step:

* :mod:`~app.auth.sigv4.request`: :class:`SignedRequest` and
  :func:`signed_request_from_wsgi`;
* :mod:`~app.auth.sigv4.authorization`: the ``Authorization`` header parsed;
* :mod:`~app.auth.sigv4.request_time`: ``X-Amz-Date`` / ``Date`` parsed;
* :mod:`~app.auth.sigv4.canonical`: the canonical request;
* :mod:`~app.auth.sigv4.signing`: string to sign, signing key, signature;
* :mod:`~app.auth.sigv4.verifier`: :class:`SigV4Verifier`, the checks above;
* :mod:`~app.auth.sigv4.errors`: :class:`SigV4Error` and AWS's codes and texts.

Callers import from the package itself; every public name is re-exported here.
"""

from __future__ import annotations

from app.auth.sigv4.authorization import (
    MAX_AUTHORIZATION_CHARS,
    MAX_SIGNED_HEADERS,
    Authorization,
    parse_authorization,
)
from app.auth.sigv4.canonical import (
    canonical_headers,
    canonical_query_string,
    canonical_request,
    canonical_uri,
)
from app.auth.sigv4.errors import (
    HOST_NOT_SIGNED_MESSAGE,
    INCOMPLETE_SIGNATURE,
    INVALID_SIGNATURE,
    MISMATCH_MESSAGE,
    MISSING_AUTHENTICATION_TOKEN,
    MISSING_TOKEN_MESSAGE,
    UNRECOGNIZED_CLIENT,
    UNRECOGNIZED_MESSAGE,
    SigV4Error,
)
from app.auth.sigv4.request import SignedRequest, signed_request_from_wsgi
from app.auth.sigv4.request_time import parse_request_time
from app.auth.sigv4.signing import (
    ALGORITHM,
    SERVICE,
    TERMINATOR,
    signature,
    signing_key,
    string_to_sign,
)
from app.auth.sigv4.verifier import (
    MAX_HEADER_BYTES,
    MAX_HEADERS,
    MAX_METHOD_CHARS,
    MAX_PATH_CHARS,
    MAX_QUERY_CHARS,
    MAX_SKEW_SECONDS,
    OnVerified,
    SecretLookup,
    SigV4Verifier,
)

__all__ = [
    "ALGORITHM",
    "HOST_NOT_SIGNED_MESSAGE",
    "INCOMPLETE_SIGNATURE",
    "INVALID_SIGNATURE",
    "MAX_AUTHORIZATION_CHARS",
    "MAX_HEADERS",
    "MAX_HEADER_BYTES",
    "MAX_METHOD_CHARS",
    "MAX_PATH_CHARS",
    "MAX_QUERY_CHARS",
    "MAX_SIGNED_HEADERS",
    "MAX_SKEW_SECONDS",
    "MISMATCH_MESSAGE",
    "MISSING_AUTHENTICATION_TOKEN",
    "MISSING_TOKEN_MESSAGE",
    "SERVICE",
    "TERMINATOR",
    "UNRECOGNIZED_CLIENT",
    "UNRECOGNIZED_MESSAGE",
    "Authorization",
    "OnVerified",
    "SecretLookup",
    "SigV4Error",
    "SigV4Verifier",
    "SignedRequest",
    "canonical_headers",
    "canonical_query_string",
    "canonical_request",
    "canonical_uri",
    "parse_authorization",
    "parse_request_time",
    "signature",
    "signed_request_from_wsgi",
    "signing_key",
    "string_to_sign",
]
