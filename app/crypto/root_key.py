"""Root key providers: the key that seals every other key.

The root key never enters the database. A provider seals and unseals small
secrets (key material, the audit signing and MAC keys) and derives service keys; it
never hands out the root key itself, so a PKCS#11 provider that keeps the key
inside a token can implement the same interface.

Sealed blob format (software providers), all under AES-256-GCM::

    0x01 (seal format version) || IV (12 random bytes) || ciphertext || tag (16)

The AAD is the version byte followed by the caller's AAD, so a blob sealed
for one purpose, key or version does not unseal for another. Every unseal
failure raises :class:`RootKeyError`: tampered or misplaced sealed data must
never look like success, and it is a service fault (503), not a client error.

Keys derived from the root key (SP 800-108, :mod:`app.crypto.kdf`), each with
its own label so none can equal another:

* ``trent/root/v1/seal`` -- the AES-256-GCM sealing key;
* ``trent/root/v1/service`` with the caller's label as context -- :meth:`derive`;
* ``trent/root/v1/key-id`` -- the public fingerprint :attr:`key_id`.
"""

from __future__ import annotations

import base64
import binascii
import os
import stat
from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app.crypto.kdf import kbkdf_hmac_sha256

if TYPE_CHECKING:
    from app.config import Settings

ROOT_KEY_BYTES = 32
SEAL_FORMAT_VERSION = 0x01
_IV_BYTES = 12
_TAG_BYTES = 16
_SEAL_OVERHEAD = 1 + _IV_BYTES + _TAG_BYTES

_LABEL_SEAL = b"trent/root/v1/seal"
_LABEL_SERVICE = b"trent/root/v1/service"
_LABEL_KEY_ID = b"trent/root/v1/key-id"

_INIT_HINT = "run `trent init` to create one"


class RootKeyError(Exception):
    """The root key cannot seal or unseal right now, or sealed data is invalid.

    Not a :class:`app.errors.KmsError`: the operations layer maps it to
    ``ServiceUnavailableError`` (503) and logs the message, which is written
    for operators and never contains key bytes.
    """


class RootKeyUnavailable(RootKeyError):
    """The root key is missing or invalid; the server must not start."""


class RootKeyProvider(ABC):
    """What the rest of the service may do with the root key."""

    #: The first byte of every blob this provider seals: it tells which kind
    #: of root key sealed a row (``root-key migrate`` resumes by it).
    seal_format: int

    @property
    @abstractmethod
    def key_id(self) -> str:
        """A fingerprint of the root key, safe to log and to store beside sealed rows."""

    @abstractmethod
    def seal(self, plaintext: bytes, aad: bytes) -> bytes:
        """Encrypt and authenticate ``plaintext`` bound to ``aad``."""

    @abstractmethod
    def unseal(self, blob: bytes, aad: bytes) -> bytes:
        """Reverse :meth:`seal`; any failure raises :class:`RootKeyError`."""

    @abstractmethod
    def derive(self, label: bytes) -> bytes:
        """A 32-byte service key for ``label`` (e.g. the audit HMAC key).

        Distinct labels give independent keys, and no derived key equals the
        sealing key.
        """

    def __reduce__(self) -> NoReturn:
        raise TypeError("root key providers cannot be pickled")


class _SoftwareRootKey(RootKeyProvider):
    """A root key held in process memory (the ``file`` and ``env`` providers)."""

    __slots__ = ("_root", "_sealer", "_key_id")

    seal_format = SEAL_FORMAT_VERSION

    def __init__(self, root: bytes) -> None:
        if type(root) is not bytes or len(root) != ROOT_KEY_BYTES:
            raise RootKeyUnavailable(f"the root key must be exactly {ROOT_KEY_BYTES} bytes")
        self._root = root
        self._sealer = AESGCM(kbkdf_hmac_sha256(root, label=_LABEL_SEAL, context=b""))
        self._key_id = (
            "rk1-" + kbkdf_hmac_sha256(root, label=_LABEL_KEY_ID, context=b"", length=16).hex()
        )

    @property
    def key_id(self) -> str:
        return self._key_id

    def seal(self, plaintext: bytes, aad: bytes) -> bytes:
        version = bytes([SEAL_FORMAT_VERSION])
        iv = os.urandom(_IV_BYTES)
        return version + iv + self._sealer.encrypt(iv, plaintext, version + aad)

    def unseal(self, blob: bytes, aad: bytes) -> bytes:
        if len(blob) < _SEAL_OVERHEAD or blob[0] != SEAL_FORMAT_VERSION:
            raise RootKeyError(self._unseal_failure())
        version, iv, body = blob[:1], blob[1 : 1 + _IV_BYTES], blob[1 + _IV_BYTES :]
        try:
            return self._sealer.decrypt(iv, body, version + aad)
        except InvalidTag:
            raise RootKeyError(self._unseal_failure()) from None

    def derive(self, label: bytes) -> bytes:
        if not label:
            raise ValueError("a service key needs a non-empty label")
        return kbkdf_hmac_sha256(self._root, label=_LABEL_SERVICE, context=label)

    def _unseal_failure(self) -> str:
        return (
            f"sealed data does not unseal under root key {self._key_id}: it was modified, "
            "moved to another key or version, or sealed under another root key"
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(key_id={self._key_id!r})"

    __str__ = __repr__


class FileRootKeyProvider(_SoftwareRootKey):
    """A 32-byte root key in a file of mode 0600 (the development default)."""

    __slots__ = ("path",)

    def __init__(self, root: bytes, path: Path) -> None:
        super().__init__(root)
        self.path = path

    @classmethod
    def create(cls, path: Path) -> FileRootKeyProvider:
        """Write a new random root key to ``path``; never overwrite an existing file.

        The key is written to a temporary file (mode 0600, fsynced) and then
        hard-linked to ``path``: the link fails if ``path`` exists, so the
        no-overwrite check and the publication are one atomic step and a crash
        never leaves a partial key file under the final name.
        """
        path = Path(path)
        if not path.parent.is_dir():
            raise RootKeyError(f"cannot create root key {path}: {path.parent} is not a directory")
        root = os.urandom(ROOT_KEY_BYTES)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
        try:
            _write_private_file(tmp, root)
            os.link(tmp, path)
        except FileExistsError:
            raise RootKeyError(
                f"root key file {path} already exists; refusing to overwrite it "
                "(every sealed key would become unreadable)"
            ) from None
        except OSError as exc:
            raise RootKeyError(f"cannot create root key {path}: {exc.strerror}") from None
        finally:
            tmp.unlink(missing_ok=True)
        _fsync_directory(path.parent)
        return cls(root, path)

    @classmethod
    def load(cls, path: Path) -> FileRootKeyProvider:
        """Read the root key from ``path``, refusing unsafe or malformed files."""
        path = Path(path)
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            raise RootKeyUnavailable(
                f"root key file {path} does not exist: {_INIT_HINT}, "
                "or point TRENT_ROOT_KEY_FILE at the existing key"
            ) from None
        except OSError as exc:
            raise RootKeyUnavailable(f"cannot read root key file {path}: {exc.strerror}") from None
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise RootKeyUnavailable(f"root key file {path} is not a regular file")
            if info.st_mode & 0o077:
                raise RootKeyUnavailable(
                    f"root key file {path} has mode {stat.S_IMODE(info.st_mode):04o}, "
                    f"which lets other users read it; run `chmod 600 {path}` "
                    "(and consider the key compromised if others could read it)"
                )
            data = os.read(fd, ROOT_KEY_BYTES + 1)
        finally:
            os.close(fd)
        if len(data) != ROOT_KEY_BYTES:
            raise RootKeyUnavailable(
                f"root key file {path} must hold exactly {ROOT_KEY_BYTES} raw bytes "
                f"(it holds {'more' if len(data) > ROOT_KEY_BYTES else len(data)}); "
                f"restore it from backup or {_INIT_HINT} in a new data directory"
            )
        return cls(data, path)

    def __repr__(self) -> str:
        return f"FileRootKeyProvider(path={str(self.path)!r}, key_id={self.key_id!r})"

    __str__ = __repr__


class EnvRootKeyProvider(_SoftwareRootKey):
    """A root key given as standard base64 of 32 bytes (``TRENT_ROOT_KEY``)."""

    __slots__ = ()

    @classmethod
    def from_base64(cls, encoded: str) -> EnvRootKeyProvider:
        text = encoded.strip()
        try:
            root = base64.b64decode(text, validate=True)
            # Python's decoder tolerates extra padding and stray final bits;
            # only the one canonical spelling of the key is accepted.
            canonical = base64.b64encode(root).decode("ascii") == text
        except (binascii.Error, ValueError):
            canonical = False
        if not canonical:
            # The decoder's message is dropped: it must not echo the value.
            raise RootKeyUnavailable(
                "TRENT_ROOT_KEY is not valid base64; it must be the standard base64 "
                f"encoding (with padding) of {ROOT_KEY_BYTES} random bytes"
            )
        if len(root) != ROOT_KEY_BYTES:
            raise RootKeyUnavailable(
                f"TRENT_ROOT_KEY must decode to exactly {ROOT_KEY_BYTES} bytes "
                f"(it decodes to {len(root)})"
            )
        return cls(root)


def load_root_key(settings: Settings) -> RootKeyProvider:
    """The configured root key provider, or :class:`RootKeyUnavailable`.

    There is no fallback and no default key: without its root key the server
    refuses to start.
    """
    provider = settings.root_key_provider
    if provider == "file":
        return FileRootKeyProvider.load(settings.root_key_path)
    if provider == "env":
        if settings.root_key_env is None:
            raise RootKeyUnavailable(
                "TRENT_ROOT_KEY_PROVIDER is 'env' but TRENT_ROOT_KEY is not set; set it to "
                f"the base64 of {ROOT_KEY_BYTES} random bytes"
            )
        return EnvRootKeyProvider.from_base64(settings.root_key_env.reveal())
    if provider == "pkcs11":
        # Imported here: the token provider builds on this module.
        from app.crypto.pkcs11_root_key import load_pkcs11_root_key

        return load_pkcs11_root_key(settings)
    raise RootKeyUnavailable(
        f"unknown root key provider {provider!r}; "
        "TRENT_ROOT_KEY_PROVIDER must be 'file', 'env' or 'pkcs11'"
    )


def software_root_secret(provider: RootKeyProvider) -> bytes:
    """The raw root key of a software provider, for import into a token only.

    ``root-key migrate --to pkcs11`` imports it as the token's derivation
    secret so that derived service keys do not change, and so that a resumed
    run can tell the token key it made from any other.
    """
    if not isinstance(provider, _SoftwareRootKey):
        raise TypeError("only a software root key has raw bytes")
    return provider._root


def _write_private_file(path: Path, data: bytes) -> None:
    """Create ``path`` (which must not exist) with mode 0600, write ``data``, fsync."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        # The umask can only remove bits; set the mode explicitly anyway.
        os.fchmod(fd, 0o600)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
