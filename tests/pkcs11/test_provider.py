"""The PKCS#11 root key provider against SoftHSM2: sealing in the token, the
key's attributes, derivation equal to the software provider's, the PIN file,
and refusals."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pkcs11
import pytest
from pkcs11 import Attribute

from app.config import ConfigError, load_settings
from app.crypto.pkcs11_root_key import (
    Pkcs11RootKeyProvider,
    _open_session,
    load_pkcs11_root_key,
    token_config,
)
from app.crypto.root_key import (
    EnvRootKeyProvider,
    RootKeyError,
    RootKeyUnavailable,
    load_root_key,
    software_root_secret,
)
from tests.pkcs11.conftest import PIN, SoftHsm


def _create(softhsm: SoftHsm, tmp_path: Path, label: str) -> Pkcs11RootKeyProvider:
    return Pkcs11RootKeyProvider.create(token_config(softhsm.settings(tmp_path / "var", label)))


def test_seal_round_trip_and_binding(softhsm: SoftHsm, tmp_path: Path, key_label: str) -> None:
    root = _create(softhsm, tmp_path, key_label)
    blob = root.seal(b"secret material", b"aad-1")
    assert blob[0] == 0x02 and b"secret material" not in blob
    assert root.unseal(blob, b"aad-1") == b"secret material"
    assert root.seal(b"secret material", b"aad-1") != blob  # a fresh IV each time
    with pytest.raises(RootKeyError):
        root.unseal(blob, b"aad-2")
    tampered = blob[:-1] + bytes([blob[-1] ^ 1])
    with pytest.raises(RootKeyError):
        root.unseal(tampered, b"aad-1")
    with pytest.raises(RootKeyError):
        root.unseal(b"\x01" + blob[1:], b"aad-1")
    # The provider still works after the failures above.
    assert root.unseal(blob, b"aad-1") == b"secret material"


def test_a_second_provider_opens_the_same_key(
    softhsm: SoftHsm, tmp_path: Path, key_label: str
) -> None:
    root = _create(softhsm, tmp_path, key_label)
    again = load_root_key(softhsm.settings(tmp_path / "var", key_label))
    assert again.key_id == root.key_id and again.key_id.startswith("p11-")
    assert again.unseal(root.seal(b"x", b"a"), b"a") == b"x"
    assert again.derive(b"label") == root.derive(b"label")


def test_the_key_objects_are_locked_down(softhsm: SoftHsm, tmp_path: Path, key_label: str) -> None:
    root = _create(softhsm, tmp_path, key_label)
    with _open_session(root._config, rw=False) as session:
        seal_key = session.get_key(label=key_label)
        derive_key = session.get_key(label=key_label + ".derive")
        for key in (seal_key, derive_key):
            assert key[Attribute.SENSITIVE] is True
            assert key[Attribute.EXTRACTABLE] is False
            assert key[Attribute.WRAP] is False and key[Attribute.UNWRAP] is False
            assert key[Attribute.DERIVE] is False
            with pytest.raises(pkcs11.exceptions.AttributeSensitive):
                key[Attribute.VALUE]
        assert seal_key[Attribute.ENCRYPT] is True and seal_key[Attribute.DECRYPT] is True
        assert seal_key[Attribute.SIGN] is False
        assert derive_key[Attribute.SIGN] is True and derive_key[Attribute.ENCRYPT] is False


def test_derive_matches_the_software_provider_for_an_imported_secret(
    softhsm: SoftHsm, tmp_path: Path, key_label: str
) -> None:
    software = EnvRootKeyProvider.from_base64("A" * 43 + "=")
    config = token_config(softhsm.settings(tmp_path / "var", key_label))
    token = Pkcs11RootKeyProvider.create(config, derivation_secret=software_root_secret(software))
    for label in (b"trent/audit/mac/v1", b"x", b"another label"):
        assert token.derive(label) == software.derive(label)
    assert token.derive(b"a") != token.derive(b"b")
    # Sealing still uses the token's own AES key, not the imported secret.
    with pytest.raises(RootKeyError):
        software.unseal(token.seal(b"m", b"a"), b"a")


def test_a_generated_derivation_secret_is_not_a_software_one(
    softhsm: SoftHsm, tmp_path: Path, key_label: str
) -> None:
    token = _create(softhsm, tmp_path, key_label)
    assert len(token.derive(b"trent/audit/mac/v1")) == 32
    with pytest.raises(ValueError):
        token.derive(b"")


def test_create_refuses_an_existing_label(softhsm: SoftHsm, tmp_path: Path, key_label: str) -> None:
    first = _create(softhsm, tmp_path, key_label)
    with pytest.raises(RootKeyError, match="refusing to replace"):
        _create(softhsm, tmp_path, key_label)
    assert first.unseal(first.seal(b"x", b""), b"") == b"x"


def test_start_up_refusals(softhsm: SoftHsm, tmp_path: Path, key_label: str) -> None:
    env = softhsm.environment(tmp_path / "var", key_label)
    with pytest.raises(RootKeyUnavailable, match="no secret key labelled"):
        load_root_key(load_settings(env))
    _create(softhsm, tmp_path, key_label)
    with pytest.raises(RootKeyUnavailable, match="cannot open token"):
        load_pkcs11_root_key(load_settings({**env, "TRENT_PKCS11_TOKEN_LABEL": "no-such"}))
    wrong_pin = tmp_path / "wrong.pin"
    wrong_pin.write_text("0000\n")
    # (A wrong PIN is refused by `trent serve`, tests/pkcs11/test_service.py: within
    # one process PKCS#11 logs in once, and this process is logged in already.)
    wrong_pin.chmod(0o644)
    with pytest.raises(RootKeyUnavailable, match="mode 0600"):
        load_root_key(load_settings({**env, "TRENT_PKCS11_PIN_FILE": str(wrong_pin)}))
    with pytest.raises(RootKeyUnavailable, match="cannot load PKCS#11 module"):
        load_root_key(load_settings({**env, "TRENT_PKCS11_MODULE": str(tmp_path / "nope.so")}))
    pin_env = {k: v for k, v in env.items() if k != "TRENT_PKCS11_PIN_FILE"}
    assert load_root_key(load_settings({**pin_env, "TRENT_PKCS11_PIN": PIN})).key_id


def test_settings_refusals(tmp_path: Path) -> None:
    base = {"TRENT_DATA_DIR": str(tmp_path), "TRENT_ROOT_KEY_PROVIDER": "pkcs11"}
    with pytest.raises(ConfigError, match="TRENT_PKCS11_MODULE"):
        load_settings(base)
    with_module = {**base, "TRENT_PKCS11_MODULE": "/x.so"}
    with pytest.raises(ConfigError, match="TRENT_PKCS11_TOKEN_LABEL"):
        load_settings(with_module)
    labelled = {**with_module, "TRENT_PKCS11_TOKEN_LABEL": "t"}
    with pytest.raises(ConfigError, match="exactly one of TRENT_PKCS11_PIN"):
        load_settings(labelled)
    with pytest.raises(ConfigError, match="exactly one of TRENT_PKCS11_PIN"):
        load_settings({**labelled, "TRENT_PKCS11_PIN": "1", "TRENT_PKCS11_PIN_FILE": "/p"})
    settings = load_settings({**labelled, "TRENT_PKCS11_PIN": "123456"})
    assert "123456" not in repr(settings)


def test_nothing_secret_in_repr_or_pickle(softhsm: SoftHsm, tmp_path: Path, key_label: str) -> None:
    root = _create(softhsm, tmp_path, key_label)
    assert PIN not in repr(root) and PIN not in repr(root._config)
    with pytest.raises(TypeError):
        pickle.dumps(root)
    assert os.environ["SOFTHSM2_CONF"] == str(softhsm.config)
