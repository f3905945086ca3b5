"""The local JWT issuer's signing key, and public keys of external issuers.

The local issuer lives in one directory (``Settings.issuer_dir``)::

    signing_key.pem   PKCS#8 PEM private key, mode 0600, never overwritten
    public_key.pem    SubjectPublicKeyInfo PEM of the same key
    issuer.json       {"version": 1, "issuer": "urn:trent:local:<id>",
                       "kid": "<RFC 7638 thumbprint>", "alg": "EdDSA", "audience": null}

``audience`` is always ``null``: the audience comes from the settings when a
token is verified, so changing ``TRENT_JWT_AUDIENCE`` needs no new key.

This is the only place in the identity code that touches ``cryptography``;
``app.auth`` receives key objects that PyJWT accepts and never imports it.
Error messages name files, never key bytes, and nothing here has a ``repr``
that shows key material.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal, TypeAlias, cast, get_args

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed448 import Ed448PublicKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from app.config import ConfigError

IssuerAlgorithm: TypeAlias = Literal["EdDSA", "ES256"]
#: Private keys the local issuer signs with.
IssuerPrivateKey: TypeAlias = Ed25519PrivateKey | ec.EllipticCurvePrivateKey
#: Public keys the local issuer's tokens are verified with.
IssuerPublicKey: TypeAlias = Ed25519PublicKey | ec.EllipticCurvePublicKey
#: Public keys an external issuer may verify with (PyJWT checks family and curve).
VerificationPublicKey: TypeAlias = (
    Ed25519PublicKey | Ed448PublicKey | ec.EllipticCurvePublicKey | RSAPublicKey
)

SIGNING_KEY_FILE: Final = "signing_key.pem"
PUBLIC_KEY_FILE: Final = "public_key.pem"
ISSUER_FILE: Final = "issuer.json"
ISSUER_FORMAT_VERSION: Final = 1
LOCAL_ISSUER_PREFIX: Final = "urn:trent:local:"

# Key and metadata files are tiny; anything larger is not ours.
_MAX_FILE_BYTES: Final = 64 * 1024
_ISSUER_MEMBERS: Final = frozenset({"version", "issuer", "kid", "alg", "audience"})


class IssuerKeyError(ConfigError):
    """An issuer key file is missing, malformed, unsafe or inconsistent.

    A :class:`ConfigError`, so start-up reports it like any bad setting. The
    message names the file and the problem, never key bytes.
    """


@dataclass(frozen=True)
class IssuerKeyInfo:
    """The public description of the local issuer (the contents of ``issuer.json``)."""

    issuer: str
    kid: str
    algorithm: IssuerAlgorithm


def create_issuer_key(directory: Path, algorithm: IssuerAlgorithm = "EdDSA") -> IssuerKeyInfo:
    """Create a new local issuer key in ``directory`` and return its description.

    Refuses to run when any of the three files already exists: replacing a
    signing key silently would invalidate every token in circulation, and
    replacing it by accident could not be undone. Each file is written to a
    temporary name, flushed to disk and then hard-linked into place, so a file
    either exists complete or not at all; ``issuer.json`` is written last and
    marks a finished directory.
    """
    if algorithm not in get_args(IssuerAlgorithm):
        raise IssuerKeyError(f"issuer key algorithm must be EdDSA or ES256 (got {algorithm!r})")
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    for name in (SIGNING_KEY_FILE, PUBLIC_KEY_FILE, ISSUER_FILE):
        if os.path.lexists(directory / name):
            raise IssuerKeyError(
                f"{directory / name} already exists; refusing to overwrite an issuer key"
            )

    private_key: IssuerPrivateKey
    if algorithm == "EdDSA":
        private_key = Ed25519PrivateKey.generate()
    else:
        private_key = ec.generate_private_key(ec.SECP256R1())
    public_key = private_key.public_key()
    info = IssuerKeyInfo(
        issuer=LOCAL_ISSUER_PREFIX + secrets.token_hex(16),
        kid=public_key_thumbprint(public_key),
        algorithm=algorithm,
    )
    private_pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    document = {
        "version": ISSUER_FORMAT_VERSION,
        "issuer": info.issuer,
        "kid": info.kid,
        "alg": info.algorithm,
        "audience": None,
    }
    _write_new_file(directory / SIGNING_KEY_FILE, private_pem, 0o600)
    _write_new_file(directory / PUBLIC_KEY_FILE, public_pem, 0o644)
    _write_new_file(
        directory / ISSUER_FILE, (json.dumps(document, indent=2) + "\n").encode("utf-8"), 0o644
    )
    return info


def load_issuer_info(directory: Path) -> IssuerKeyInfo:
    """Read and validate ``issuer.json``."""
    path = directory / ISSUER_FILE
    if not os.path.lexists(path) and os.path.lexists(directory / SIGNING_KEY_FILE):
        raise IssuerKeyError(
            f"{directory} holds a signing key but no {ISSUER_FILE}: the issuer was not "
            "created completely; remove the directory and create the issuer again"
        )
    raw = _read_file(path, private=False)
    try:
        document = json.loads(raw.decode("utf-8"), object_pairs_hook=_unique_members)
    except (UnicodeDecodeError, ValueError):
        raise IssuerKeyError(f"{path} is not valid UTF-8 JSON") from None
    if not isinstance(document, dict) or set(document) != _ISSUER_MEMBERS:
        raise IssuerKeyError(f"{path} must be an object with exactly {sorted(_ISSUER_MEMBERS)}")
    version = document["version"]
    if type(version) is not int or version != ISSUER_FORMAT_VERSION:
        raise IssuerKeyError(f"{path}: unsupported version {version!r}")
    issuer, kid, alg = document["issuer"], document["kid"], document["alg"]
    if not isinstance(issuer, str) or not issuer.startswith(LOCAL_ISSUER_PREFIX):
        raise IssuerKeyError(f"{path}: 'issuer' must start with {LOCAL_ISSUER_PREFIX!r}")
    if not isinstance(kid, str) or not kid:
        raise IssuerKeyError(f"{path}: 'kid' must be a non-empty string")
    if alg not in get_args(IssuerAlgorithm):
        raise IssuerKeyError(f"{path}: 'alg' must be EdDSA or ES256")
    if document["audience"] is not None:
        raise IssuerKeyError(
            f"{path}: 'audience' must be null; set TRENT_JWT_AUDIENCE to change the audience"
        )
    return IssuerKeyInfo(issuer=issuer, kid=kid, algorithm=cast(IssuerAlgorithm, alg))


def load_issuer_private_key(directory: Path) -> IssuerPrivateKey:
    """The local issuer's signing key, after checking its file mode and its identity.

    The key file must be a regular file (not a symlink) with no permission
    bits for group or others, and the key must be the one ``issuer.json``
    names (same algorithm, thumbprint equal to ``kid``).
    """
    return read_signing_key(directory / SIGNING_KEY_FILE, load_issuer_info(directory))


def read_signing_key(path: Path, info: IssuerKeyInfo) -> IssuerPrivateKey:
    """The signing key in ``path``, checked as :func:`load_issuer_private_key`
    checks it, against the issuer ``info`` describes (``trent restore`` checks
    a key kept apart from the backup this way before putting it back)."""
    data = _read_file(path, private=True)
    if not data.lstrip().startswith(b"-----BEGIN PRIVATE KEY-----"):
        raise IssuerKeyError(f"{path} is not a PKCS#8 PEM private key")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        # The library's message is not shown: it is not needed to fix the
        # problem and a parser message is the wrong place to risk key bytes.
        raise IssuerKeyError(f"{path} is not an unencrypted PKCS#8 PEM private key") from None
    if not _matches_algorithm(key, info.algorithm):
        raise IssuerKeyError(f"{path} does not hold an {info.algorithm} key")
    private_key = cast(IssuerPrivateKey, key)
    if public_key_thumbprint(private_key.public_key()) != info.kid:
        raise IssuerKeyError(f"{path} does not match the kid of the issuer {info.issuer}")
    return private_key


def load_issuer_public_key(directory: Path) -> IssuerPublicKey:
    """The local issuer's verification key, checked against ``issuer.json``."""
    info = load_issuer_info(directory)
    path = directory / PUBLIC_KEY_FILE
    key = load_public_key_file(path)
    if not _matches_algorithm(key, info.algorithm):
        raise IssuerKeyError(f"{path} does not hold an {info.algorithm} key")
    public_key = cast(IssuerPublicKey, key)
    if public_key_thumbprint(public_key) != info.kid:
        raise IssuerKeyError(f"{path} does not match the kid in {directory / ISSUER_FILE}")
    return public_key


def load_public_key_file(path: Path) -> VerificationPublicKey:
    """A PEM public key (SubjectPublicKeyInfo) of an external issuer.

    Private keys are refused: a verifier has no business holding one, and a
    private key in the issuers' configuration is a leak to be fixed.
    """
    data = _read_file(path, private=False)
    if b"PRIVATE KEY-----" in data:
        raise IssuerKeyError(f"{path} holds a private key; configure the public key only")
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise IssuerKeyError(f"{path} is not a PEM public key") from None
    if not isinstance(
        key, Ed25519PublicKey | Ed448PublicKey | ec.EllipticCurvePublicKey | RSAPublicKey
    ):
        raise IssuerKeyError(f"{path} holds an unsupported key type ({type(key).__name__})")
    return key


def verification_key_fingerprint(public_key: VerificationPublicKey, algorithm: str) -> bytes:
    """SHA-256 of ``algorithm`` and the key's SubjectPublicKeyInfo: the same
    for two objects of one key (a JWK Set fetched twice), different for another
    key or the same key bound to another algorithm."""
    spki = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(algorithm.encode("ascii") + b"\0" + spki).digest()


def public_key_thumbprint(public_key: IssuerPublicKey) -> str:
    """RFC 7638 JWK thumbprint (SHA-256, base64url) of an Ed25519 or P-256 key."""
    members: dict[str, str]
    if isinstance(public_key, Ed25519PublicKey):
        raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        members = {"crv": "Ed25519", "kty": "OKP", "x": _b64url(raw)}
    elif isinstance(public_key, ec.EllipticCurvePublicKey) and isinstance(
        public_key.curve, ec.SECP256R1
    ):
        numbers = public_key.public_numbers()
        members = {
            "crv": "P-256",
            "kty": "EC",
            "x": _b64url(numbers.x.to_bytes(32, "big")),
            "y": _b64url(numbers.y.to_bytes(32, "big")),
        }
    else:
        raise IssuerKeyError("issuer keys must be Ed25519 or P-256")
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode("ascii")
    return _b64url(hashlib.sha256(canonical).digest())


def _matches_algorithm(key: object, algorithm: IssuerAlgorithm) -> bool:
    if algorithm == "EdDSA":
        return isinstance(key, Ed25519PrivateKey | Ed25519PublicKey)
    return isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey) and isinstance(
        key.curve, ec.SECP256R1
    )


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("duplicate member")
    return result


def _read_file(path: Path, *, private: bool) -> bytes:
    """Read a small regular file without following a symlink at ``path``.

    For a private key, any permission bit for group or others is refused:
    the check runs on the opened descriptor, so the file cannot be swapped
    between the check and the read.
    """
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise IssuerKeyError(f"{path} does not exist") from None
    except OSError as exc:
        raise IssuerKeyError(f"cannot open {path}: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise IssuerKeyError(f"{path} is not a regular file")
        if private and info.st_mode & 0o077:
            raise IssuerKeyError(
                f"{path} is accessible by group or others (mode "
                f"{stat.S_IMODE(info.st_mode):04o}); run chmod 600 on it"
            )
        if info.st_size > _MAX_FILE_BYTES:
            raise IssuerKeyError(f"{path} is larger than {_MAX_FILE_BYTES} bytes")
        chunks: list[bytes] = []
        remaining = _MAX_FILE_BYTES + 1
        while remaining > 0:
            chunk = os.read(fd, remaining)
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
    except OSError as exc:
        raise IssuerKeyError(f"cannot read {path}: {exc.strerror}") from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > _MAX_FILE_BYTES:
        raise IssuerKeyError(f"{path} is larger than {_MAX_FILE_BYTES} bytes")
    return data


def _write_new_file(path: Path, data: bytes, mode: int) -> None:
    """Write ``data`` to a new file at ``path`` durably; never replace an existing one.

    ``os.link`` fails if the target exists, which makes "create unless
    present" atomic where ``os.replace`` would silently overwrite.
    """
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(temporary, flags | getattr(os, "O_CLOEXEC", 0), mode)
    try:
        try:
            # The umask may have removed bits from ``mode``; set it exactly.
            os.fchmod(fd, mode)
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(temporary, path)
        except FileExistsError:
            raise IssuerKeyError(
                f"{path} already exists; refusing to overwrite an issuer key"
            ) from None
    finally:
        os.unlink(temporary)
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
