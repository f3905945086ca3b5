"""Keys held in a PKCS#11 token: the material of custom key store keys.

A key created in a custom key store (``Origin=AWS_CLOUDHSM``) is an AES-256
secret key object generated *in* the store's token: sensitive, not
extractable, not modifiable, allowed to encrypt and decrypt and nothing else.
Trent never sees its bytes. What the database keeps for its version is a
:class:`TokenKeyRef` (which store, which object), sealed under the root key
and bound to the key's ARN and version, so a reference moved to another key
does not unseal, and a database dump names no usable material.

Encrypt and Decrypt call ``CKM_AES_GCM`` in the token
(:mod:`app.crypto.ciphertext`, suite 2). :class:`TokenConnection` is one
logged-in session per store and process, used by one call at a time and
opened again after any token error, as the root key provider's is.
"""

from __future__ import annotations

import hashlib
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass
from pkcs11.exceptions import (
    EncryptedDataInvalid,
    EncryptedDataLenRange,
    FunctionFailed,
    GeneralError,
    PKCS11Error,
)
from pkcs11.mechanisms import GCMParams

from app.crypto.material import bound_aad
from app.crypto.pkcs11_session import TokenUnavailable, generation, open_session
from app.crypto.root_key import RootKeyProvider
from app.crypto.sealed import SealedMaterial

_PURPOSE_TOKEN_KEY = b"trent/token-key/v1"
_PURPOSE_TOKEN_KEY_ID = b"trent/token-key-material-id/v1"
_OBJECT_ID_BYTES = 16
_TAG_BITS = 128


class TokenKeyError(Exception):
    """The token could not run the call (gone, logged out, object missing).

    A service fault: operations answer it as 503, like a root key that is
    unavailable. The message names the store, never a PIN or key bytes.
    """


@dataclass(frozen=True)
class TokenKeyRef:
    """Which token object is one key version's material."""

    store_id: str
    object_id: bytes

    def encode(self) -> bytes:
        return self.store_id.encode("ascii") + b"\x00" + self.object_id

    @classmethod
    def decode(cls, raw: bytes) -> TokenKeyRef:
        store_id, sep, object_id = raw.partition(b"\x00")
        if not sep or len(object_id) != _OBJECT_ID_BYTES:
            raise TokenKeyError("a token key reference is malformed")
        return cls(store_id.decode("ascii"), object_id)


def seal_ref(
    root: RootKeyProvider, ref: TokenKeyRef, *, key_arn: str, version: int
) -> SealedMaterial:
    return SealedMaterial(root.seal(ref.encode(), token_ref_aad(key_arn, version)))


def unseal_ref(
    root: RootKeyProvider, sealed: SealedMaterial, *, key_arn: str, version: int
) -> TokenKeyRef:
    return TokenKeyRef.decode(root.unseal(sealed.blob, token_ref_aad(key_arn, version)))


def token_ref_aad(key_arn: str, version: int) -> bytes:
    """The AAD a version's token reference is sealed with (root-key migrate re-seals it)."""
    return bound_aad(_PURPOSE_TOKEN_KEY, key_arn, version)


def token_material_id(key_id: uuid.UUID, ref: TokenKeyRef) -> str:
    """``KeyMaterialId`` of a token key: it cannot be a MAC under material
    Trent never holds, so it is a hash of what names the material."""
    digest = hashlib.sha256(
        _PURPOSE_TOKEN_KEY_ID + b"\x00" + key_id.bytes + ref.store_id.encode() + ref.object_id
    )
    return digest.hexdigest()


#: Every token key object: stays in the token, hidden from anyone not logged
#: in, usable to encrypt and decrypt and for nothing else.
_KEY_TEMPLATE: dict[Attribute, Any] = {
    Attribute.TOKEN: True,
    Attribute.PRIVATE: True,
    Attribute.SENSITIVE: True,
    Attribute.EXTRACTABLE: False,
    Attribute.MODIFIABLE: False,
    Attribute.ENCRYPT: True,
    Attribute.DECRYPT: True,
    Attribute.WRAP: False,
    Attribute.UNWRAP: False,
    Attribute.SIGN: False,
    Attribute.VERIFY: False,
    Attribute.DERIVE: False,
}


class TokenConnection:
    """A logged-in session on one store's token, serialised and self-healing."""

    def __init__(self, module: Path, token_label: str, pin: Callable[[], str]) -> None:
        self._module = module
        self._token_label = token_label
        self._pin = pin
        self._lock = threading.Lock()
        self._session: Any = None
        self._generation: tuple[int, int] = (0, -1)
        self._keys: dict[bytes, Any] = {}

    def __repr__(self) -> str:
        return f"TokenConnection(token={self._token_label!r})"

    def check(self) -> None:
        """Log in now; :class:`~app.crypto.pkcs11_session.TokenUnavailable`
        (or its ``IncorrectPin``) says why not."""
        with self._lock:
            self._drop(close=self._generation == generation())
            self._session = open_session(self._module, self._token_label, self._pin, rw=True)
            self._generation = generation()

    def generate_key(self, label: str) -> bytes:
        """A new AES-256 key object in the token; its ``CKA_ID``."""
        object_id = os.urandom(_OBJECT_ID_BYTES)
        with self._use() as session:
            session.generate_key(
                KeyType.AES,
                256,
                label=label,
                id=object_id,
                store=True,
                template=_KEY_TEMPLATE,
            )
        return object_id

    def destroy_key(self, object_id: bytes) -> bool:
        """Destroy the key object; ``False`` if the token holds none with that id."""
        with self._use() as session:
            found = _find(session, object_id)
            for key in found:
                key.destroy()
            self._keys.pop(object_id, None)
            return bool(found)

    def has_key(self, object_id: bytes) -> bool:
        with self._use() as session:
            return bool(_find(session, object_id))

    def encrypt(self, object_id: bytes, iv: bytes, plaintext: bytes, aad: bytes) -> bytes:
        """AES-256-GCM in the token: ciphertext followed by the 16-byte tag."""
        params = GCMParams(iv, aad, _TAG_BITS)

        def call(session: Any) -> bytes:
            key = self._key(session, object_id)
            return bytes(
                key.encrypt(plaintext, mechanism=Mechanism.AES_GCM, mechanism_param=params)
            )

        return self._retrying(call)

    def decrypt(self, object_id: bytes, iv: bytes, body: bytes, aad: bytes) -> bytes:
        """Open ``body`` (ciphertext and tag); ``InvalidTag`` if it does not verify."""
        params = GCMParams(iv, aad, _TAG_BITS)

        def call(session: Any) -> bytes:
            key = self._key(session, object_id)
            try:
                opened = key.decrypt(body, mechanism=Mechanism.AES_GCM, mechanism_param=params)
                return bytes(opened)
            except (EncryptedDataInvalid, EncryptedDataLenRange, FunctionFailed, GeneralError):
                # Modules report a tag that does not verify in different ways
                # (SoftHSM: CKR_GENERAL_ERROR). If the session still answers,
                # the ciphertext was refused; if not, the token failed (the
                # probe raises, and that is a 503).
                _find(session, object_id)
                raise InvalidTag() from None

        return self._retrying(call)

    def random(self, count: int) -> bytes:
        """``count`` bytes from the token's random number generator."""
        with self._use() as session:
            return bytes(session.generate_random(count * 8))

    def close(self) -> None:
        with self._lock:
            self._drop()

    # -- the session ------------------------------------------------------

    def _key(self, session: Any, object_id: bytes) -> Any:
        key = self._keys.get(object_id)
        if key is None:
            found = _find(session, object_id)
            if len(found) != 1:
                raise TokenKeyError(
                    f"token {self._token_label!r} holds {len(found) or 'no'} key object(s) "
                    "for this key version"
                )
            key = found[0]
            self._keys[object_id] = key
        return key

    def _retrying(self, call: Callable[[Any], bytes]) -> bytes:
        """``call`` on the session; once more on a fresh session if the first
        was closed under it (another token user of this process initialised
        the module again)."""
        try:
            with self._use(retryable=True) as session:
                return call(session)
        except _Retry:
            with self._use() as session:
                return call(session)

    @contextmanager
    def _use(self, *, retryable: bool = False) -> Iterator[Any]:
        with self._lock:
            try:
                if self._session is not None and self._generation != generation():
                    self._drop(close=False)
                if self._session is None:
                    self._session = open_session(
                        self._module, self._token_label, self._pin, rw=True
                    )
                    self._generation = generation()
                yield self._session
            except TokenUnavailable as exc:
                self._drop()
                raise TokenKeyError(str(exc)) from None
            except PKCS11Error as exc:
                self._drop()
                if retryable:
                    raise _Retry() from None
                raise TokenKeyError(
                    f"token {self._token_label!r} failed the call ({type(exc).__name__})"
                ) from None

    def _drop(self, *, close: bool = True) -> None:
        """Forget the session; ``close=False`` for one of another generation,
        whose handle may now name a newer session of this process."""
        session, self._session = self._session, None
        self._keys.clear()
        if session is not None and close:
            try:
                session.close()
            except PKCS11Error:
                pass  # The token is gone; there is nothing left to close.


class _Retry(Exception):
    pass


def _find(session: Any, object_id: bytes) -> list[Any]:
    """The secret key objects with ``CKA_ID`` ``object_id``."""
    return list(
        session.get_objects({Attribute.CLASS: ObjectClass.SECRET_KEY, Attribute.ID: object_id})
    )


@dataclass(frozen=True)
class TokenKey:
    """One version of a key held in a token: what the ciphertext format calls
    instead of material. Holds no secret (a reference and a session)."""

    ref: TokenKeyRef
    connection: TokenConnection

    def encrypt(self, iv: bytes, plaintext: bytes, aad: bytes) -> bytes:
        return self.connection.encrypt(self.ref.object_id, iv, plaintext, aad)

    def decrypt(self, iv: bytes, body: bytes, aad: bytes) -> bytes:
        return self.connection.decrypt(self.ref.object_id, iv, body, aad)


class TokenConnections:
    """This process's sessions on custom key stores' tokens, one per store and
    configuration (a new PIN or token makes a new one)."""

    def __init__(self, module: Path | None) -> None:
        self.module = module
        self._lock = threading.Lock()
        self._open: dict[tuple[str, str, bytes], TokenConnection] = {}

    def __repr__(self) -> str:
        return f"TokenConnections(module={str(self.module)!r}, open={len(self._open)})"

    def connection(
        self, store_id: str, token_label: str, sealed_pin: bytes, pin: Callable[[], str]
    ) -> TokenConnection:
        if self.module is None:
            raise TokenKeyError("no PKCS#11 module is configured (TRENT_PKCS11_MODULE)")
        name = (store_id, token_label, hashlib.sha256(sealed_pin).digest())
        with self._lock:
            found = self._open.get(name)
            if found is None:
                for old in [k for k in self._open if k[0] == store_id]:
                    self._open.pop(old).close()
                found = TokenConnection(self.module, token_label, pin)
                self._open[name] = found
            return found

    def close_all(self) -> None:
        """Close every session (the process is shutting down, or a test ends)."""
        with self._lock:
            for name in list(self._open):
                self._open.pop(name).close()

    def forget(self, store_id: str) -> None:
        """Close the store's session (DisconnectCustomKeyStore)."""
        with self._lock:
            for old in [k for k in self._open if k[0] == store_id]:
                self._open.pop(old).close()
