"""The local issuer's key files: creation, permissions, consistency checks."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from app.config import ConfigError
from app.crypto.issuer_keys import (
    ISSUER_FILE,
    PUBLIC_KEY_FILE,
    SIGNING_KEY_FILE,
    IssuerKeyError,
    create_issuer_key,
    load_issuer_info,
    load_issuer_private_key,
    load_issuer_public_key,
    load_public_key_file,
)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("algorithm", ["EdDSA", "ES256"])
def test_create_writes_three_files(tmp_path: Path, algorithm: str) -> None:
    directory = tmp_path / "issuer"
    info = create_issuer_key(directory, algorithm)  # type: ignore[arg-type]
    assert sorted(p.name for p in directory.iterdir()) == sorted(
        [SIGNING_KEY_FILE, PUBLIC_KEY_FILE, ISSUER_FILE]
    )
    assert _mode(directory / SIGNING_KEY_FILE) == 0o600
    assert _mode(directory) == 0o700
    assert (directory / SIGNING_KEY_FILE).read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    document = json.loads((directory / ISSUER_FILE).read_text())
    assert document == {
        "version": 1,
        "issuer": info.issuer,
        "kid": info.kid,
        "alg": algorithm,
        "audience": None,
    }
    assert info.issuer.startswith("urn:trent:local:") and len(info.issuer) > 30
    assert load_issuer_info(directory) == info


@pytest.mark.parametrize("algorithm", ["EdDSA", "ES256"])
def test_loaded_keys_sign_and_verify_with_pyjwt(tmp_path: Path, algorithm: str) -> None:
    create_issuer_key(tmp_path, algorithm)  # type: ignore[arg-type]
    token = jwt.encode({"a": 1}, load_issuer_private_key(tmp_path), algorithm=algorithm)
    assert jwt.decode(token, load_issuer_public_key(tmp_path), algorithms=[algorithm]) == {"a": 1}


def test_kid_is_the_rfc7638_thumbprint(tmp_path: Path) -> None:
    info = create_issuer_key(tmp_path, "ES256")
    members = jwt.algorithms.ECAlgorithm.to_jwk(load_issuer_public_key(tmp_path), as_dict=True)
    # RFC 7638 §3: SHA-256 over the required members, sorted, without whitespace.
    canonical = json.dumps(
        {k: members[k] for k in ("crv", "kty", "x", "y")}, separators=(",", ":"), sort_keys=True
    )
    digest = hashlib.sha256(canonical.encode()).digest()
    assert info.kid == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def test_issuers_are_unique(tmp_path: Path) -> None:
    first = create_issuer_key(tmp_path / "a")
    second = create_issuer_key(tmp_path / "b")
    assert first.issuer != second.issuer and first.kid != second.kid


def test_create_refuses_to_overwrite(tmp_path: Path) -> None:
    create_issuer_key(tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    with pytest.raises(IssuerKeyError, match="refusing to overwrite"):
        create_issuer_key(tmp_path)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_create_refuses_a_leftover_signing_key(tmp_path: Path) -> None:
    (tmp_path / SIGNING_KEY_FILE).write_text("old")
    with pytest.raises(IssuerKeyError, match="refusing to overwrite"):
        create_issuer_key(tmp_path)
    assert (tmp_path / SIGNING_KEY_FILE).read_text() == "old"
    assert not (tmp_path / ISSUER_FILE).exists()


def test_create_refuses_an_unknown_algorithm(tmp_path: Path) -> None:
    with pytest.raises(IssuerKeyError, match="EdDSA or ES256"):
        create_issuer_key(tmp_path, "HS256")  # type: ignore[arg-type]


def test_create_leaves_no_temporary_files(tmp_path: Path) -> None:
    create_issuer_key(tmp_path)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620, 0o602, 0o660])
def test_private_key_readable_by_others_is_refused(tmp_path: Path, mode: int) -> None:
    create_issuer_key(tmp_path)
    os.chmod(tmp_path / SIGNING_KEY_FILE, mode)
    with pytest.raises(IssuerKeyError, match="chmod 600") as caught:
        load_issuer_private_key(tmp_path)
    assert isinstance(caught.value, ConfigError)
    assert "BEGIN" not in str(caught.value)


def test_private_key_mode_0400_is_accepted(tmp_path: Path) -> None:
    create_issuer_key(tmp_path)
    os.chmod(tmp_path / SIGNING_KEY_FILE, 0o400)
    load_issuer_private_key(tmp_path)


def test_private_key_symlink_is_refused(tmp_path: Path) -> None:
    create_issuer_key(tmp_path / "real")
    linked = tmp_path / "linked"
    linked.mkdir()
    for name in (PUBLIC_KEY_FILE, ISSUER_FILE):
        (linked / name).write_bytes((tmp_path / "real" / name).read_bytes())
    (linked / SIGNING_KEY_FILE).symlink_to(tmp_path / "real" / SIGNING_KEY_FILE)
    with pytest.raises(IssuerKeyError, match="cannot open"):
        load_issuer_private_key(linked)


def test_swapped_private_key_is_refused(tmp_path: Path) -> None:
    create_issuer_key(tmp_path)
    other = Ed25519PrivateKey.generate().private_bytes(
        Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
    )
    path = tmp_path / SIGNING_KEY_FILE
    os.chmod(path, 0o600)
    path.write_bytes(other)
    with pytest.raises(IssuerKeyError, match="does not match the kid") as caught:
        load_issuer_private_key(tmp_path)
    assert other.decode() not in str(caught.value)


def test_private_key_of_the_wrong_algorithm_is_refused(tmp_path: Path) -> None:
    create_issuer_key(tmp_path, "EdDSA")
    ec_pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
    )
    (tmp_path / SIGNING_KEY_FILE).write_bytes(ec_pem)
    with pytest.raises(IssuerKeyError, match="does not hold an EdDSA key"):
        load_issuer_private_key(tmp_path)


def test_corrupt_private_key_message_shows_no_bytes(tmp_path: Path) -> None:
    create_issuer_key(tmp_path)
    path = tmp_path / SIGNING_KEY_FILE
    original = path.read_text()
    damaged = original.replace(original.splitlines()[1][:10], "AAAAAAAAAA")
    path.write_text(damaged)
    with pytest.raises(IssuerKeyError, match="not an unencrypted PKCS#8") as caught:
        load_issuer_private_key(tmp_path)
    assert original.splitlines()[1] not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_swapped_public_key_is_refused(tmp_path: Path) -> None:
    create_issuer_key(tmp_path)
    other = Ed25519PrivateKey.generate().public_key()
    (tmp_path / PUBLIC_KEY_FILE).write_bytes(
        other.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    )
    with pytest.raises(IssuerKeyError, match="does not match the kid"):
        load_issuer_public_key(tmp_path)


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (lambda d: d.update(version=2), "version"),
        (lambda d: d.update(audience="x"), "audience"),
        (lambda d: d.update(alg="HS256"), "alg"),
        (lambda d: d.update(issuer="https://elsewhere"), "issuer"),
        (lambda d: d.update(extra=1), "exactly"),
        (lambda d: d.pop("kid"), "exactly"),
    ],
    ids=["version", "audience", "alg", "issuer", "extra member", "missing kid"],
)
def test_bad_issuer_json_is_refused(tmp_path: Path, change: object, fragment: str) -> None:
    create_issuer_key(tmp_path)
    document = json.loads((tmp_path / ISSUER_FILE).read_text())
    change(document)  # type: ignore[operator]
    (tmp_path / ISSUER_FILE).write_text(json.dumps(document))
    with pytest.raises(IssuerKeyError, match=fragment):
        load_issuer_info(tmp_path)


def test_incomplete_directory_is_explained(tmp_path: Path) -> None:
    create_issuer_key(tmp_path)
    (tmp_path / ISSUER_FILE).unlink()
    with pytest.raises(IssuerKeyError, match="not created completely"):
        load_issuer_info(tmp_path)


def test_missing_directory_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_issuer_info(tmp_path / "nowhere")


def test_external_public_key_file(tmp_path: Path) -> None:
    public = Ed25519PrivateKey.generate().public_key()
    path = tmp_path / "idp.pem"
    path.write_bytes(public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
    assert isinstance(load_public_key_file(path), Ed25519PublicKey)
    path.write_bytes(b"x" * (65 * 1024))
    with pytest.raises(IssuerKeyError, match="larger than"):
        load_public_key_file(path)
