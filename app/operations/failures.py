"""Turning unexpected exceptions into the error a caller should see."""

from __future__ import annotations

from app.crypto.pkcs11_session import TokenUnavailable
from app.crypto.root_key import RootKeyError
from app.crypto.token_keys import TokenKeyError
from app.errors import InternalError, KmsError, ServiceUnavailableError


def as_kms_error(exc: BaseException) -> KmsError:
    """The caller-facing error for ``exc``.

    A database that cannot be reached (connection refused, pool exhausted,
    disk I/O error, locked past the busy timeout) is already a
    :class:`ServiceUnavailableError` when it leaves the store's connection
    or transaction (see :mod:`app.store.database`). A root key that no longer
    works is the service's fault and retryable too: 503, and so is a custom
    key store's token that fails a call (gone, logged out). Anything else
    unexpected is a bug: 500 with a fixed text.
    """
    if isinstance(exc, KmsError):
        return exc
    if isinstance(exc, RootKeyError | TokenKeyError | TokenUnavailable):
        return ServiceUnavailableError()
    return InternalError()
