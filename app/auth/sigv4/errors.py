"""How a SigV4 check fails: AWS's error codes and client texts, and :class:`SigV4Error`.

Every module of the verifier raises through the three functions at the end,
so that the code, the client-facing message and the log reason are always
set together and never carry the secret, a derived key or a signature.
"""

from __future__ import annotations

from typing import Final, NoReturn

# AWS's error codes for authentication failures (kms-api.md §1.2).
MISSING_AUTHENTICATION_TOKEN: Final = "MissingAuthenticationTokenException"
INCOMPLETE_SIGNATURE: Final = "IncompleteSignatureException"
INVALID_SIGNATURE: Final = "InvalidSignatureException"
UNRECOGNIZED_CLIENT: Final = "UnrecognizedClientException"

MISSING_TOKEN_MESSAGE: Final = "Missing Authentication Token"
UNRECOGNIZED_MESSAGE: Final = "The security token included in the request is invalid."
MISMATCH_MESSAGE: Final = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. "
    "Consult the service documentation for details."
)
HOST_NOT_SIGNED_MESSAGE: Final = (
    "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
)


class SigV4Error(Exception):
    """A request failed SigV4 authentication.

    ``code`` is AWS's error code (the AWS door's ``__type``), ``message`` the
    text AWS answers with, ``reason`` a precise phrase for the log. None of
    them contains the secret, a derived key or the signature. All four codes
    are client errors that AWS answers with HTTP 400.
    """

    status: Final = 400

    def __init__(self, code: str, message: str, reason: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.message = message
        self.reason = reason

    def __repr__(self) -> str:
        return f"SigV4Error({self.code!r}, {self.reason!r})"


def incomplete(message: str, reason: str | None = None) -> NoReturn:
    """``IncompleteSignatureException``: the signature's parts are missing or malformed."""
    raise SigV4Error(INCOMPLETE_SIGNATURE, message, reason or message)


def invalid(message: str, reason: str | None = None) -> NoReturn:
    """``InvalidSignatureException``: well formed, but wrong for this request or moment."""
    raise SigV4Error(INVALID_SIGNATURE, message, reason or message)


def unrecognized(reason: str) -> NoReturn:
    """``UnrecognizedClientException``: the credential is not one of Trent's usable keys."""
    raise SigV4Error(UNRECOGNIZED_CLIENT, UNRECOGNIZED_MESSAGE, reason)
