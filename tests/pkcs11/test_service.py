"""The service on a token root key: it will not start without the token,
answers 503 while the token is gone and recovers when it is back."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from app import create_app
from app.auth.local_issuer import LocalIssuer
from app.cli import main
from app.config import Settings
from tests.api.kms import Kms
from tests.conftest import ACCOUNT
from tests.pkcs11.conftest import SoftHsm, init_token_data_dir, token_removed

TRENT = str(Path(sys.executable).with_name("trent"))


def _kms(settings: Settings) -> tuple[Kms, object]:
    app = create_app(settings)
    token = LocalIssuer.load(settings).mint(ACCOUNT, root=True)
    return Kms(app.test_client(), token), app


def test_requests_answer_503_while_the_token_is_gone_and_recover(
    softhsm: SoftHsm, token_settings: Settings
) -> None:
    kms, _ = _kms(token_settings)
    key_id = kms.new_key()
    sealed = kms.encrypt(key_id, b"hello")
    assert sealed.status_code == 200, sealed.get_data(as_text=True)
    assert kms.client.get("/readyz").status_code == 200
    with token_removed(softhsm):
        ready = kms.client.get("/readyz")
        assert ready.status_code == 503
        refused = kms.create_key()
        assert refused.status_code == 503
        assert refused.get_json()["error"]["code"] == "ServiceUnavailableException"
    assert kms.client.get("/readyz").status_code == 200
    second = kms.new_key()
    opened = kms.decrypt(sealed.get_json()["CiphertextBlob"])
    assert opened.status_code == 200 and opened.get_json()["Plaintext"] == "aGVsbG8="
    assert second != key_id


def test_init_refuses_a_second_key_under_the_label(
    softhsm: SoftHsm, token_settings: Settings, tmp_path: Path, key_label: str
) -> None:
    env = softhsm.environment(tmp_path / "other", key_label)
    result = CliRunner().invoke(main, ["init", "--create-token-key"], env=env)
    assert result.exit_code != 0 and "refusing to replace" in result.output
    # Without the flag, init uses the key that is there.
    result = CliRunner().invoke(main, ["init"], env=env)
    assert result.exit_code == 0, result.output
    assert "using root key" in result.output


def test_init_without_a_token_key_says_how_to_create_one(
    softhsm: SoftHsm, tmp_path: Path, key_label: str
) -> None:
    env = softhsm.environment(tmp_path / "var", key_label)
    result = CliRunner().invoke(main, ["init"], env=env)
    assert result.exit_code != 0 and "--create-token-key" in result.output


def _serve(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`trent serve` in a process of its own (not logged in to the token yet)."""
    return subprocess.run(
        [TRENT, "serve", "--bind", "127.0.0.1:0"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_serve_refuses_to_start_without_the_token_or_with_a_wrong_pin(
    softhsm: SoftHsm, token_settings: Settings, tmp_path: Path, key_label: str
) -> None:
    env = softhsm.environment(token_settings.data_dir, key_label)
    with token_removed(softhsm):
        gone = _serve(env)
    assert gone.returncode != 0 and "root key" in gone.stderr
    wrong = tmp_path / "wrong.pin"
    wrong.write_text("999999\n")
    wrong.chmod(0o600)
    refused = _serve({**env, "TRENT_PKCS11_PIN_FILE": str(wrong)})
    assert refused.returncode != 0 and "refused the PIN" in refused.stderr
    assert "999999" not in refused.stderr


def test_init_token_data_dir_is_usable_twice(softhsm: SoftHsm, tmp_path: Path) -> None:
    first = init_token_data_dir(softhsm, tmp_path / "a", "root-a-" + os.urandom(4).hex())
    second = init_token_data_dir(softhsm, tmp_path / "b", "root-b-" + os.urandom(4).hex())
    assert first.pkcs11_key_label != second.pkcs11_key_label
