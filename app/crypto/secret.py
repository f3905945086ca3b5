"""A container for secret bytes that refuses to show, pickle or copy itself.

Python cannot reliably erase ``bytes`` from memory, so this type does not
pretend to. What it does is make the common leaks hard: ``repr``, ``str``,
f-strings, logging, pickling (to a cache, a queue or a crash report) and
``bytes(obj)`` all either show a mask or raise. The raw bytes are reachable
only through :meth:`SecretBytes.expose_secret_bytes`, a name chosen so that
every use stands out in review; only ``app.crypto`` should call it.
"""

from __future__ import annotations

import hmac
from typing import Any, ClassVar, NoReturn


class SecretBytes:
    """Base for the package's secret types; subclasses fix the length."""

    __slots__ = ("_secret",)

    #: Exact length in bytes every instance of the subclass must have;
    #: ``None`` for secrets whose length varies (HMAC keys, DER private keys).
    length: ClassVar[int | None] = 32

    def __init__(self, secret: bytes) -> None:
        # A bytearray or memoryview could be changed behind our back, and a
        # str is a mistake; accept only immutable bytes of the right length.
        if type(secret) is not bytes:
            raise TypeError(f"{type(self).__name__} needs bytes")
        if self.length is None:
            if not secret:
                raise ValueError(f"{type(self).__name__} must not be empty")
        elif len(secret) != self.length:
            raise ValueError(f"{type(self).__name__} must be exactly {self.length} bytes")
        self._secret = secret

    def expose_secret_bytes(self) -> bytes:
        """The raw secret. For ``app.crypto`` only: never log, store or return it."""
        return self._secret

    def __repr__(self) -> str:
        return f"{type(self).__name__}(<{len(self._secret)} secret bytes>)"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        # Constant time, so equality checks are not a timing oracle.
        if not isinstance(other, SecretBytes) or type(other) is not type(self):
            return NotImplemented
        return hmac.compare_digest(self._secret, other._secret)

    # Defining __eq__ leaves __hash__ as None: instances are unhashable, so no
    # hash of the secret is ever computed or kept in a dict's table.

    def __reduce__(self) -> NoReturn:
        raise TypeError(f"{type(self).__name__} cannot be pickled or copied")

    def __reduce_ex__(self, protocol: Any) -> NoReturn:
        raise TypeError(f"{type(self).__name__} cannot be pickled or copied")

    def __getstate__(self) -> NoReturn:
        raise TypeError(f"{type(self).__name__} cannot be pickled or copied")
