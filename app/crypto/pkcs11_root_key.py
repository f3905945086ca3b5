"""The PKCS#11 root key provider: the root key lives in a token and never leaves it.

Two objects in the token, both generated or imported as sensitive and
non-extractable, each allowed exactly one kind of use:

* ``<label>``: an AES-256 key with ``CKA_ENCRYPT``/``CKA_DECRYPT`` only. Every
  seal and unseal is one ``CKM_AES_GCM`` call in the token.
* ``<label>.derive``: a 32-byte generic secret with ``CKA_SIGN`` only.
  :meth:`derive` is one ``CKM_SHA256_HMAC`` call in the token over the same
  SP 800-108 input the software providers feed their KDF, so a token whose
  derivation secret was imported from a file root key derives the very same
  service keys (the console's CSRF key; and the audit MAC key of a log that
  has not yet stored it sealed), and ``trent root-key migrate`` can tell that
  a token key it finds was made from the current root key.

Sealed blob format (token provider)::

    0x02 (seal format version) || IV (12 random bytes) || ciphertext || tag (16)

with the version byte followed by the caller's AAD as the GCM AAD. The version
byte differs from the software providers' ``0x01``, so a migration can tell
which rows it has already re-sealed.

A token that goes away (unplugged, its daemon restarted, its session closed)
makes the current call raise :class:`RootKeyError`, which the service answers
as 503; the session is dropped and the next call opens a new one, so the
service recovers by itself once the token is back.
"""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass
from pkcs11.exceptions import PKCS11Error
from pkcs11.mechanisms import GCMParams

from app.crypto.pkcs11_session import TokenUnavailable, generation, open_session
from app.crypto.root_key import RootKeyError, RootKeyProvider, RootKeyUnavailable

if TYPE_CHECKING:
    from app.config import Settings

SEAL_FORMAT_TOKEN = 0x02
_IV_BYTES = 12
_TAG_BITS = 128
_SEAL_OVERHEAD = 1 + _IV_BYTES + _TAG_BITS // 8
_DERIVE_SUFFIX = ".derive"
_DERIVE_KEY_BYTES = 32
_ID_BYTES = 16

# The software providers' KDF input for derive(): SP 800-108 counter mode,
# one HMAC-SHA256 block, counter 1, L = 256 bits (see app.crypto.kdf).
_LABEL_SERVICE = b"trent/root/v1/service"
_COUNTER_ONE = (1).to_bytes(4, "big")
_LENGTH_256 = (256).to_bytes(4, "big")


@dataclass(frozen=True)
class TokenConfig:
    """Where the root key is: the PKCS#11 library, the token, its PIN, the key's label."""

    module: Path
    token_label: str
    key_label: str
    #: Returns the user PIN; called at each login, so a PIN file can be replaced.
    pin: Callable[[], str]

    def __repr__(self) -> str:
        return (
            f"TokenConfig(module={str(self.module)!r}, token_label={self.token_label!r}, "
            f"key_label={self.key_label!r})"
        )


def token_config(settings: Settings) -> TokenConfig:
    """The token settings of ``settings`` (validated by the settings loader)."""
    if settings.pkcs11_module is None or not settings.pkcs11_token_label:
        raise RootKeyUnavailable(
            "TRENT_PKCS11_MODULE and TRENT_PKCS11_TOKEN_LABEL must be set for the pkcs11 provider"
        )
    pin_secret, pin_file = settings.pkcs11_pin, settings.pkcs11_pin_file

    def pin() -> str:
        if pin_secret is not None:
            return pin_secret.reveal()
        if pin_file is None:
            raise RootKeyUnavailable("TRENT_PKCS11_PIN or TRENT_PKCS11_PIN_FILE must be set")
        return _read_pin_file(pin_file)

    return TokenConfig(
        module=settings.pkcs11_module,
        token_label=settings.pkcs11_token_label,
        key_label=settings.pkcs11_key_label,
        pin=pin,
    )


class Pkcs11RootKeyProvider(RootKeyProvider):
    """A root key that is an object in a PKCS#11 token."""

    seal_format = SEAL_FORMAT_TOKEN

    def __init__(self, config: TokenConfig) -> None:
        self._config = config
        self._lock = threading.Lock()
        self._session: Any = None
        self._seal_key: Any = None
        self._derive_key: Any = None
        self._key_id = ""
        self._generation: tuple[int, int] = (0, -1)
        with self._objects():
            pass

    # -- creating the key -------------------------------------------------

    @classmethod
    def create(
        cls, config: TokenConfig, *, derivation_secret: bytes | None = None
    ) -> Pkcs11RootKeyProvider:
        """Generate the root key in the token; refuse if the label is taken.

        ``derivation_secret`` imports a software root key as the derivation
        secret (``root-key migrate --to pkcs11``), so derived service keys stay
        the same; otherwise the token generates it.
        """
        session = _open_session(config, rw=True)
        try:
            taken = [
                *session.get_objects({Attribute.LABEL: config.key_label}),
                *session.get_objects({Attribute.LABEL: config.key_label + _DERIVE_SUFFIX}),
            ]
            if taken:
                raise RootKeyError(
                    f"the token {config.token_label!r} already holds an object labelled "
                    f"{config.key_label!r}; refusing to replace a root key"
                )
            key_id = os.urandom(_ID_BYTES)
            seal_key = session.generate_key(
                KeyType.AES,
                256,
                label=config.key_label,
                id=key_id,
                store=True,
                template={**_LOCKED_DOWN, Attribute.ENCRYPT: True, Attribute.DECRYPT: True},
            )
            derive_template = {
                **_LOCKED_DOWN,
                Attribute.SIGN: True,
                Attribute.LABEL: config.key_label + _DERIVE_SUFFIX,
                Attribute.ID: key_id,
                Attribute.TOKEN: True,
                Attribute.PRIVATE: True,
            }
            try:
                _store_derivation_key(session, derive_template, derivation_secret)
            except PKCS11Error:
                # Leave no half-made root key behind: a later run could not
                # use it and would refuse to replace it.
                seal_key.destroy()
                raise
        except PKCS11Error as exc:
            raise RootKeyError(
                f"cannot create the root key in token {config.token_label!r}: {type(exc).__name__}"
            ) from None
        finally:
            session.close()
        return cls(config)

    # -- RootKeyProvider --------------------------------------------------

    @property
    def key_id(self) -> str:
        return self._key_id

    def seal(self, plaintext: bytes, aad: bytes) -> bytes:
        version = bytes([SEAL_FORMAT_TOKEN])
        iv = os.urandom(_IV_BYTES)
        with self._objects() as (seal_key, _):
            body = seal_key.encrypt(
                plaintext,
                mechanism=Mechanism.AES_GCM,
                mechanism_param=GCMParams(iv, version + aad, _TAG_BITS),
            )
        return version + iv + bytes(body)

    def unseal(self, blob: bytes, aad: bytes) -> bytes:
        if len(blob) < _SEAL_OVERHEAD or blob[0] != SEAL_FORMAT_TOKEN:
            raise RootKeyError(self._unseal_failure())
        version, iv, body = blob[:1], blob[1 : 1 + _IV_BYTES], blob[1 + _IV_BYTES :]
        with self._objects(failure=self._unseal_failure()) as (seal_key, _):
            plain = seal_key.decrypt(
                body,
                mechanism=Mechanism.AES_GCM,
                mechanism_param=GCMParams(iv, version + aad, _TAG_BITS),
            )
        return bytes(plain)

    def derive(self, label: bytes) -> bytes:
        if not label:
            raise ValueError("a service key needs a non-empty label")
        prf_input = _COUNTER_ONE + _LABEL_SERVICE + b"\x00" + label + _LENGTH_256
        with self._objects() as (_, derive_key):
            return bytes(derive_key.sign(prf_input, mechanism=Mechanism.SHA256_HMAC))

    def __repr__(self) -> str:
        return (
            f"Pkcs11RootKeyProvider(token={self._config.token_label!r}, "
            f"label={self._config.key_label!r}, key_id={self._key_id!r})"
        )

    __str__ = __repr__

    # -- the session ------------------------------------------------------

    @contextmanager
    def _objects(self, failure: str | None = None) -> Iterator[tuple[Any, Any]]:
        """The two key objects on a logged-in session, opening one if needed.

        Calls are serialised: a PKCS#11 session runs one operation at a time.
        Any token error drops the session, so the next call starts afresh.
        """
        with self._lock:
            try:
                if self._session is not None and self._generation != generation():
                    # Another token user of this process initialised the
                    # module again, which closed this session.
                    self._drop(close=False)
                if self._session is None:
                    self._connect()
                yield self._seal_key, self._derive_key
            except PKCS11Error as exc:
                self._drop()
                raise RootKeyError(
                    failure
                    or f"the root key in token {self._config.token_label!r} is unavailable "
                    f"({type(exc).__name__})"
                ) from None

    def _connect(self) -> None:
        session = _open_session(self._config, rw=False)
        try:
            seal_key = _only_key(session, self._config.key_label, self._config)
            derive_key = _only_key(session, self._config.key_label + _DERIVE_SUFFIX, self._config)
            key_id = "p11-" + bytes(seal_key[Attribute.ID]).hex()
        except BaseException:
            session.close()
            raise
        if self._key_id and key_id != self._key_id:
            # A different key under the same label: never seal with it silently.
            session.close()
            raise RootKeyError(
                f"the root key labelled {self._config.key_label!r} changed from "
                f"{self._key_id} to {key_id}; restart the service if that is intended"
            )
        self._session, self._seal_key, self._derive_key = session, seal_key, derive_key
        self._generation = generation()
        self._key_id = key_id

    def _drop(self, *, close: bool = True) -> None:
        """Forget the session; ``close=False`` for one of another generation,
        whose handle may now name a newer session of this process."""
        session, self._session, self._seal_key, self._derive_key = self._session, None, None, None
        if session is not None and close:
            try:
                session.close()
            except PKCS11Error:
                pass  # The token is gone; there is nothing left to close.

    def _unseal_failure(self) -> str:
        return (
            f"sealed data does not unseal under root key {self._key_id or '(token key)'}: it was "
            "modified, moved to another key or version, sealed under another root key, "
            "or the token is unavailable"
        )


def load_pkcs11_root_key(settings: Settings) -> Pkcs11RootKeyProvider:
    """The token's root key, or :class:`RootKeyUnavailable` (the server must not start)."""
    try:
        return Pkcs11RootKeyProvider(token_config(settings))
    except RootKeyUnavailable:
        raise
    except RootKeyError as exc:
        raise RootKeyUnavailable(str(exc)) from None


#: Attributes every root key object gets: it stays in the token, hidden from
#: anyone not logged in, and can be used for nothing not granted explicitly.
_LOCKED_DOWN: dict[Attribute, Any] = {
    Attribute.SENSITIVE: True,
    Attribute.EXTRACTABLE: False,
    Attribute.MODIFIABLE: False,
    Attribute.ENCRYPT: False,
    Attribute.DECRYPT: False,
    Attribute.WRAP: False,
    Attribute.UNWRAP: False,
    Attribute.SIGN: False,
    Attribute.VERIFY: False,
    Attribute.DERIVE: False,
}


def _open_session(config: TokenConfig, *, rw: bool) -> Any:
    """A logged-in session on the configured token, or :class:`RootKeyUnavailable`."""
    try:
        return open_session(config.module, config.token_label, config.pin, rw=rw)
    except TokenUnavailable as exc:
        raise RootKeyUnavailable(str(exc)) from None


def _store_derivation_key(
    session: Any, template: dict[Attribute, Any], secret: bytes | None
) -> None:
    if secret is None:
        session.generate_key(
            KeyType.GENERIC_SECRET, _DERIVE_KEY_BYTES * 8, store=True, template=template
        )
    else:
        session.create_object(
            {
                **template,
                Attribute.CLASS: ObjectClass.SECRET_KEY,
                Attribute.KEY_TYPE: KeyType.GENERIC_SECRET,
                Attribute.VALUE: secret,
            }
        )


def _only_key(session: Any, label: str, config: TokenConfig) -> Any:
    keys = list(
        session.get_objects({Attribute.CLASS: ObjectClass.SECRET_KEY, Attribute.LABEL: label})
    )
    if len(keys) != 1:
        found = "no" if not keys else f"{len(keys)}"
        raise RootKeyUnavailable(
            f"token {config.token_label!r} holds {found} secret key labelled {label!r}; "
            "run `trent init --create-token-key` to create the root key, or set "
            "TRENT_PKCS11_KEY_LABEL to the existing one"
        )
    key = keys[0]
    if key[Attribute.EXTRACTABLE] or not key[Attribute.SENSITIVE]:
        raise RootKeyUnavailable(
            f"the key labelled {label!r} in token {config.token_label!r} is extractable or "
            "not sensitive; a root key must never leave the token"
        )
    return key


def _read_pin_file(path: Path) -> str:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as exc:
        raise RootKeyUnavailable(f"cannot read PIN file {path}: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_mode & 0o077:
            raise RootKeyUnavailable(
                f"PIN file {path} must be a regular file of mode 0600 (or stricter)"
            )
        data = os.read(fd, 4097)
    finally:
        os.close(fd)
    try:
        pin = data.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError:
        raise RootKeyUnavailable(f"PIN file {path} is not UTF-8 text") from None
    if not pin or len(data) > 4096:
        raise RootKeyUnavailable(f"PIN file {path} must hold the PIN on one line")
    return pin
