"""One exception tree for the whole service.

Every error a caller can see is a :class:`KmsError` subclass. Each class carries
the stable KMS error code (AWS's own name) and the HTTP status the REST door
answers with; the AWS door keeps the code and applies AWS's status rules. The
message is client-safe text: it never contains key material, plaintext, tokens
or internal details. Anything for operators goes to the log, not here.

    KmsError
    ├── ValidationError                 400 ValidationException
    ├── MalformedPolicyDocumentError    400
    ├── InvalidCiphertextError          400 (always an empty message)
    ├── InvalidKeyUsageError            400
    ├── IncorrectKeyError               400
    ├── IncorrectKeyMaterialError       400
    ├── InvalidImportTokenError         400
    ├── ExpiredImportTokenError         400
    ├── InvalidAliasNameError           400
    ├── InvalidArnError                 400
    ├── InvalidMarkerError              400
    ├── InvalidGrantTokenError          400
    ├── InvalidGrantIdError             400
    ├── TagError                        400
    ├── UnsupportedOperationError       400
    ├── LimitExceededError              400
    ├── KMSInvalidSignatureError        400 KMSInvalidSignatureException
    ├── InvalidMacError                 400 KMSInvalidMacException
    ├── UnauthenticatedError            401
    │   ├── IncompleteSignatureError        (AWS door, SigV4)
    │   ├── InvalidSignatureError           (AWS door, SigV4)
    │   ├── UnrecognizedClientError         (AWS door)
    │   └── MissingAuthenticationTokenError (AWS door)
    ├── UnknownOperationError           400 (AWS door)
    ├── SerializationError              400 (AWS door)
    ├── AccessDeniedError               403
    ├── NotFoundError                   404
    ├── MethodNotAllowedError           405
    ├── AlreadyExistsError              409
    ├── DisabledError                   409
    ├── InvalidStateError               409 KMSInvalidStateException
    ├── ConflictError                   409
    ├── DryRunOperationError            412 (the call would have succeeded)
    ├── RequestTooLargeError            413
    ├── ThrottlingError                 429
    ├── InternalError                   500 KMSInternalException
    └── ServiceUnavailableError         503
"""

from __future__ import annotations

from typing import ClassVar


class KmsError(Exception):
    """Base of every error a caller can receive.

    ``field`` names the request member a validation problem is about (AWS's
    lowerCamel form in messages, the PascalCase member name here).
    """

    code: ClassVar[str] = "KMSInternalException"
    status: ClassVar[int] = 500
    default_message: ClassVar[str] = ""
    #: Seconds a client should wait before retrying (sent as ``Retry-After``).
    retry_after: ClassVar[int | None] = None
    #: True for faults of the service (5xx), false for client mistakes.
    server_fault: ClassVar[bool] = False

    def __init__(self, message: str | None = None, *, field: str | None = None) -> None:
        self.message = self.default_message if message is None else message
        self.field = field
        super().__init__(self.message)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class ValidationError(KmsError):
    code = "ValidationException"
    status = 400


class MalformedPolicyDocumentError(KmsError):
    code = "MalformedPolicyDocumentException"
    status = 400


class InvalidCiphertextError(KmsError):
    """Every failure to decrypt raises this, with an empty message, so the
    response is not an oracle for which check failed (tag, context, key)."""

    code = "InvalidCiphertextException"
    status = 400

    def __init__(self, message: str | None = None, *, field: str | None = None) -> None:
        super().__init__("", field=field)


class InvalidKeyUsageError(KmsError):
    code = "InvalidKeyUsageException"
    status = 400


class IncorrectKeyError(KmsError):
    code = "IncorrectKeyException"
    status = 400
    default_message = (
        "The key ID in the request does not identify a CMK that can perform this operation."
    )


class IncorrectKeyMaterialError(KmsError):
    code = "IncorrectKeyMaterialException"
    status = 400


class InvalidImportTokenError(KmsError):
    code = "InvalidImportTokenException"
    status = 400
    default_message = "The import token is not valid for this key."


class ExpiredImportTokenError(KmsError):
    code = "ExpiredImportTokenException"
    status = 400
    default_message = "The import token has expired; get new parameters for import."


class InvalidAliasNameError(KmsError):
    code = "InvalidAliasNameException"
    status = 400


class InvalidArnError(KmsError):
    code = "InvalidArnException"
    status = 400


class InvalidMarkerError(KmsError):
    code = "InvalidMarkerException"
    status = 400
    default_message = "The marker is not valid."


class InvalidGrantTokenError(KmsError):
    code = "InvalidGrantTokenException"
    status = 400


class InvalidGrantIdError(KmsError):
    code = "InvalidGrantIdException"
    status = 400


class TagError(KmsError):
    code = "TagException"
    status = 400


class UnsupportedOperationError(KmsError):
    code = "UnsupportedOperationException"
    status = 400


class LimitExceededError(KmsError):
    code = "LimitExceededException"
    status = 400


class CustomKeyStoreNotFoundError(KmsError):
    code = "CustomKeyStoreNotFoundException"
    status = 400
    default_message = "The specified custom key store does not exist."


class CustomKeyStoreInvalidStateError(KmsError):
    code = "CustomKeyStoreInvalidStateException"
    status = 400


class CustomKeyStoreNameInUseError(KmsError):
    code = "CustomKeyStoreNameInUseException"
    status = 400


class CustomKeyStoreHasKeysError(KmsError):
    code = "CustomKeyStoreHasCMKsException"
    status = 400


class CloudHsmClusterNotFoundError(KmsError):
    code = "CloudHsmClusterNotFoundException"
    status = 400


class CloudHsmClusterInUseError(KmsError):
    code = "CloudHsmClusterInUseException"
    status = 400


class CloudHsmClusterNotRelatedError(KmsError):
    code = "CloudHsmClusterNotRelatedException"
    status = 400


class IncorrectTrustAnchorError(KmsError):
    code = "IncorrectTrustAnchorException"
    status = 400


class KMSInvalidSignatureError(KmsError):
    code = "KMSInvalidSignatureException"
    status = 400


class InvalidMacError(KmsError):
    code = "KMSInvalidMacException"
    status = 400


class UnauthenticatedError(KmsError):
    """One code and one message for every authentication failure; the reason
    is logged, never returned, so a caller learns nothing about why."""

    code = "UnauthenticatedException"
    status = 401
    default_message = "The request could not be authenticated."

    def __init__(
        self, message: str | None = None, *, field: str | None = None, reason: str = "unspecified"
    ) -> None:
        super().__init__(message, field=field)
        #: Why authentication failed: for the log and the audit event only,
        #: never part of the response, and never containing a token.
        self.reason = reason


class IncompleteSignatureError(UnauthenticatedError):
    """AWS door: a SigV4 ``Authorization`` header with parts missing."""

    code = "IncompleteSignatureException"


class InvalidSignatureError(UnauthenticatedError):
    """AWS door: a SigV4 signature that does not verify, is expired or misscoped."""

    code = "InvalidSignatureException"


class UnrecognizedClientError(UnauthenticatedError):
    """AWS door: an access key (or token) the service does not know."""

    code = "UnrecognizedClientException"
    default_message = "The security token included in the request is invalid."


class MissingAuthenticationTokenError(UnauthenticatedError):
    """AWS door: no credentials at all."""

    code = "MissingAuthenticationTokenException"
    default_message = "Missing Authentication Token"


class UnknownOperationError(KmsError):
    """AWS door: an ``X-Amz-Target`` that names no operation."""

    code = "UnknownOperationException"
    status = 400


class SerializationError(KmsError):
    """AWS door: a body that is not a well-formed JSON object."""

    code = "SerializationException"
    status = 400


class AccessDeniedError(KmsError):
    code = "AccessDeniedException"
    status = 403


class NotFoundError(KmsError):
    code = "NotFoundException"
    status = 404


class MethodNotAllowedError(KmsError):
    code = "MethodNotAllowedException"
    status = 405


class AlreadyExistsError(KmsError):
    code = "AlreadyExistsException"
    status = 409


class DisabledError(KmsError):
    code = "DisabledException"
    status = 409


class InvalidStateError(KmsError):
    code = "KMSInvalidStateException"
    status = 409


class ConflictError(KmsError):
    code = "ConflictException"
    status = 409


class DryRunOperationError(KmsError):
    """``DryRun`` was set and the request would have succeeded; nothing changed."""

    code = "DryRunOperationException"
    status = 412
    default_message = "The request would have succeeded, but the DryRun option is set."


class RequestTooLargeError(KmsError):
    code = "RequestTooLargeException"
    status = 413


class ThrottlingError(KmsError):
    code = "ThrottlingException"
    status = 429
    retry_after = 1


class InternalError(KmsError):
    code = "KMSInternalException"
    status = 500
    server_fault = True
    default_message = "An internal error occurred."


class ServiceUnavailableError(KmsError):
    """The database, the root key or the audit log cannot be used right now."""

    code = "ServiceUnavailableException"
    status = 503
    server_fault = True
    retry_after = 2
    default_message = "The service is temporarily unavailable. Retry the request."


def all_error_classes() -> list[type[KmsError]]:
    """Every concrete error class, for the mapping tests and the OpenAPI document."""
    found: list[type[KmsError]] = []
    pending: list[type[KmsError]] = [KmsError]
    while pending:
        cls = pending.pop()
        for sub in cls.__subclasses__():
            found.append(sub)
            pending.append(sub)
    return sorted(found, key=lambda c: c.code)
