"""``trent serve`` with its forked workers on a token root key: keys are made
and used over HTTP, /readyz follows the token away and back."""

from __future__ import annotations

import base64
import urllib.error
import urllib.request

import pytest

from app.config import Settings
from tests.e2e.conftest import clean_env, serving, wait_for
from tests.pkcs11.conftest import SoftHsm, token_removed

pytestmark = pytest.mark.e2e


def _ready(url: str) -> int:
    try:
        with urllib.request.urlopen(url + "/readyz", timeout=5) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def test_serve_on_a_token_root_key(softhsm: SoftHsm, token_settings: Settings) -> None:
    env = clean_env(**softhsm.environment(token_settings.data_dir, token_settings.pkcs11_key_label))
    with serving(env, token_settings.data_dir, workers=2) as server:
        token = server.token("--root")
        for n in range(4):
            created = server.rest("POST", "/v1/keys", token, {})
            assert isinstance(created, dict)
            key_id = created["KeyMetadata"]["KeyId"]
            plaintext = base64.b64encode(f"message {n}".encode()).decode()
            sealed = server.rest(
                "POST", f"/v1/keys/{key_id}/encrypt", token, {"Plaintext": plaintext}
            )
            assert isinstance(sealed, dict)
            opened = server.rest(
                "POST", "/v1/decrypt", token, {"CiphertextBlob": sealed["CiphertextBlob"]}
            )
            assert isinstance(opened, dict) and opened["Plaintext"] == plaintext
        with token_removed(softhsm):
            assert wait_for(lambda: _ready(server.url) == 503, 30)
        # Every worker recovers: a run of answers in a row are all 200.
        assert wait_for(lambda: all(_ready(server.url) == 200 for _ in range(6)), 60)
        created = server.rest("POST", "/v1/keys", token, {})
        assert isinstance(created, dict) and created["KeyMetadata"]["Enabled"] is True
