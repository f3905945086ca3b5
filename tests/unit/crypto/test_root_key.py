from __future__ import annotations

import base64
import copy
import os
import pickle
import stat
from pathlib import Path

import pytest

from app.config import Secret, Settings
from app.crypto.root_key import (
    EnvRootKeyProvider,
    FileRootKeyProvider,
    RootKeyError,
    RootKeyProvider,
    RootKeyUnavailable,
    load_root_key,
)
from tests.unit.crypto.leaks import assert_no_leak

# File provider ---------------------------------------------------------------------


def test_create_writes_32_bytes_with_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "root.key"
    old_umask = os.umask(0)
    try:
        provider = FileRootKeyProvider.create(path)
    finally:
        os.umask(old_umask)
    info = path.stat()
    assert stat.S_IMODE(info.st_mode) == 0o600
    assert info.st_size == 32
    assert [p.name for p in tmp_path.iterdir()] == ["root.key"]  # no temporary left behind
    loaded = FileRootKeyProvider.load(path)
    assert loaded.key_id == provider.key_id
    assert loaded.unseal(provider.seal(b"data", b"aad"), b"aad") == b"data"


def test_create_makes_a_different_key_each_time(tmp_path: Path) -> None:
    first = FileRootKeyProvider.create(tmp_path / "a.key")
    second = FileRootKeyProvider.create(tmp_path / "b.key")
    assert (tmp_path / "a.key").read_bytes() != (tmp_path / "b.key").read_bytes()
    assert first.key_id != second.key_id


def test_create_refuses_to_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "root.key"
    FileRootKeyProvider.create(path)
    original = path.read_bytes()
    with pytest.raises(RootKeyError, match="already exists"):
        FileRootKeyProvider.create(path)
    assert path.read_bytes() == original
    assert [p.name for p in tmp_path.iterdir()] == ["root.key"]


def test_create_refuses_to_replace_any_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "root.key"
    path.write_bytes(b"something else")
    with pytest.raises(RootKeyError):
        FileRootKeyProvider.create(path)
    assert path.read_bytes() == b"something else"


def test_create_in_a_missing_directory_fails_clearly(tmp_path: Path) -> None:
    with pytest.raises(RootKeyError, match="not a directory"):
        FileRootKeyProvider.create(tmp_path / "missing" / "root.key")


def _write_key(path: Path, data: bytes, mode: int) -> None:
    path.write_bytes(data)
    path.chmod(mode)


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660, 0o620, 0o601])
def test_load_refuses_files_other_users_can_access(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "root.key"
    secret = os.urandom(32)
    _write_key(path, secret, mode)
    with pytest.raises(RootKeyUnavailable) as caught:
        FileRootKeyProvider.load(path)
    message = str(caught.value)
    assert "chmod 600" in message
    assert f"{mode:04o}" in message
    assert_no_leak(message, secret)


@pytest.mark.parametrize("mode", [0o600, 0o400])
def test_load_accepts_owner_only_files(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "root.key"
    _write_key(path, os.urandom(32), mode)
    assert FileRootKeyProvider.load(path).key_id.startswith("rk1-")


@pytest.mark.parametrize("size", [0, 16, 31, 33, 64])
def test_load_refuses_wrong_length(tmp_path: Path, size: int) -> None:
    path = tmp_path / "root.key"
    secret = os.urandom(size)
    _write_key(path, secret, 0o600)
    with pytest.raises(RootKeyUnavailable, match="exactly 32 raw bytes") as caught:
        FileRootKeyProvider.load(path)
    if size >= 8:
        assert_no_leak(str(caught.value), secret)


def test_load_refuses_a_directory(tmp_path: Path) -> None:
    path = tmp_path / "root.key"
    path.mkdir(mode=0o700)
    with pytest.raises(RootKeyUnavailable):
        FileRootKeyProvider.load(path)


def test_missing_file_says_to_run_init(tmp_path: Path) -> None:
    with pytest.raises(RootKeyUnavailable) as caught:
        FileRootKeyProvider.load(tmp_path / "root.key")
    assert "trent init" in str(caught.value)
    assert str(tmp_path / "root.key") in str(caught.value)


# Env provider ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "encoded",
    [
        "not base64!!",
        "AAAA====",
        "QUJD\nREVG!",
        "\u00e9\u00e9\u00e9\u00e9",
        "YQ",
        # 32 bytes without padding, and with non-canonical final bits.
        base64.b64encode(bytes(32)).decode().rstrip("="),
        base64.b64encode(bytes(32)).decode()[:-2] + "B=",
    ],
)
def test_env_provider_refuses_bad_base64(encoded: str) -> None:
    with pytest.raises(RootKeyUnavailable, match="not valid base64") as caught:
        EnvRootKeyProvider.from_base64(encoded)
    assert encoded not in str(caught.value)


@pytest.mark.parametrize("size", [0, 16, 31, 33, 48])
def test_env_provider_refuses_wrong_length(size: int) -> None:
    secret = os.urandom(size)
    with pytest.raises(RootKeyUnavailable, match="exactly 32 bytes") as caught:
        EnvRootKeyProvider.from_base64(base64.b64encode(secret).decode())
    if size >= 8:
        assert_no_leak(str(caught.value), secret)


def test_env_and_file_providers_agree_on_the_same_key(tmp_path: Path, root_bytes: bytes) -> None:
    path = tmp_path / "root.key"
    _write_key(path, root_bytes, 0o600)
    from_file = FileRootKeyProvider.load(path)
    from_env = EnvRootKeyProvider.from_base64(base64.b64encode(root_bytes).decode() + "\n")
    assert from_file.key_id == from_env.key_id
    assert from_env.unseal(from_file.seal(b"x", b"a"), b"a") == b"x"
    assert from_env.derive(b"audit") == from_file.derive(b"audit")


# load_root_key -------------------------------------------------------------------------


def test_load_root_key_file(tmp_path: Path) -> None:
    created = FileRootKeyProvider.create(tmp_path / "root.key")
    provider = load_root_key(Settings(data_dir=tmp_path))
    assert isinstance(provider, FileRootKeyProvider)
    assert provider.key_id == created.key_id


def test_load_root_key_file_override(tmp_path: Path) -> None:
    created = FileRootKeyProvider.create(tmp_path / "elsewhere.key")
    settings = Settings(data_dir=tmp_path / "data", root_key_file=tmp_path / "elsewhere.key")
    assert load_root_key(settings).key_id == created.key_id


def test_load_root_key_missing_file_refuses_to_start(tmp_path: Path) -> None:
    with pytest.raises(RootKeyUnavailable, match="trent init"):
        load_root_key(Settings(data_dir=tmp_path))


def test_load_root_key_env(root_bytes: bytes) -> None:
    settings = Settings(
        data_dir=Path("/nonexistent"),
        root_key_provider="env",
        root_key_env=Secret(base64.b64encode(root_bytes).decode()),
    )
    provider = load_root_key(settings)
    assert isinstance(provider, EnvRootKeyProvider)


def test_load_root_key_env_missing() -> None:
    settings = Settings(data_dir=Path("/nonexistent"), root_key_provider="env")
    with pytest.raises(RootKeyUnavailable, match="TRENT_ROOT_KEY"):
        load_root_key(settings)


def test_load_root_key_unknown_provider(tmp_path: Path) -> None:
    with pytest.raises(RootKeyUnavailable, match="unknown root key provider"):
        load_root_key(Settings(data_dir=tmp_path, root_key_provider="vault"))


# Sealing and derivation --------------------------------------------------------------


def test_seal_round_trip_and_randomised(root: RootKeyProvider) -> None:
    first = root.seal(b"payload", b"aad")
    second = root.seal(b"payload", b"aad")
    assert first != second
    assert first[0] == 0x01
    assert len(first) == 1 + 12 + len(b"payload") + 16
    assert root.unseal(first, b"aad") == root.unseal(second, b"aad") == b"payload"


def test_unseal_with_other_aad_fails(root: RootKeyProvider) -> None:
    blob = root.seal(b"payload", b"aad")
    for aad in (b"", b"aaD", b"aad\x00"):
        with pytest.raises(RootKeyError):
            root.unseal(blob, aad)


def test_every_tampering_of_a_sealed_blob_fails(root: RootKeyProvider) -> None:
    blob = root.seal(b"payload", b"aad")
    for index in range(len(blob)):
        for bit in range(8):
            mutated = bytearray(blob)
            mutated[index] ^= 1 << bit
            with pytest.raises(RootKeyError):
                root.unseal(bytes(mutated), b"aad")
    for length in range(len(blob)):
        with pytest.raises(RootKeyError):
            root.unseal(blob[:length], b"aad")
    with pytest.raises(RootKeyError):
        root.unseal(blob + b"\x00", b"aad")


def test_unseal_under_another_root_key_fails(root: RootKeyProvider) -> None:
    other = EnvRootKeyProvider.from_base64(base64.b64encode(os.urandom(32)).decode())
    with pytest.raises(RootKeyError, match="does not unseal"):
        other.unseal(root.seal(b"payload", b"aad"), b"aad")


def test_derived_keys_are_distinct_and_stable(root: RootKeyProvider, root_bytes: bytes) -> None:
    audit = root.derive(b"audit-hmac")
    assert len(audit) == 32
    assert root.derive(b"audit-hmac") == audit
    assert root.derive(b"audit-hmac2") != audit
    assert root.derive(b"context-salt") != audit
    assert audit != root_bytes
    with pytest.raises(ValueError):
        root.derive(b"")


def test_derived_key_cannot_unseal(root: RootKeyProvider) -> None:
    """A derived service key is not the sealing key: using it as one fails."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    blob = root.seal(b"payload", b"aad")
    for label in (b"seal", b"trent/root/v1/seal", b"", b"\x00"):
        if not label:
            continue
        with pytest.raises(InvalidTag):
            AESGCM(root.derive(label)).decrypt(blob[1:13], blob[13:], blob[:1] + b"aad")
    with pytest.raises(InvalidTag):
        AESGCM(bytes(range(100, 132))).decrypt(blob[1:13], blob[13:], blob[:1] + b"aad")


# Nothing leaks -----------------------------------------------------------------------------


def test_providers_never_show_key_bytes(tmp_path: Path, root_bytes: bytes) -> None:
    path = tmp_path / "root.key"
    _write_key(path, root_bytes, 0o600)
    for provider in (
        FileRootKeyProvider.load(path),
        EnvRootKeyProvider.from_base64(base64.b64encode(root_bytes).decode()),
    ):
        for text in (repr(provider), str(provider), f"{provider}", f"{provider!r}"):
            assert_no_leak(text, root_bytes)
            assert provider.key_id in text
        assert_no_leak(provider.key_id, root_bytes)
        assert not hasattr(provider, "__dict__") or not provider.__dict__
        for dump in (pickle.dumps, copy.copy, copy.deepcopy):
            with pytest.raises(TypeError):
                dump(provider)


def test_unseal_errors_never_show_key_or_payload(root: RootKeyProvider, root_bytes: bytes) -> None:
    payload = os.urandom(32)
    blob = root.seal(payload, b"aad")
    with pytest.raises(RootKeyError) as caught:
        root.unseal(blob, b"other")
    text = str(caught.value) + repr(caught.value)
    assert_no_leak(text, root_bytes)
    assert_no_leak(text, payload)
    assert caught.value.__cause__ is None
