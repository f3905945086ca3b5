"""Access key ids and secrets: AWS's forms, fresh randomness, secrets that hide."""

from __future__ import annotations

import pickle

import pytest

from app.auth.access_keys import (
    ACCESS_KEY_ID_RE,
    SECRET_ACCESS_KEY_RE,
    AccessKeyCredential,
    SecretAccessKey,
    is_access_key_id,
    new_access_key_id,
    new_secret_access_key,
)
from tests.unit.sigv4.conftest import ALICE


def test_ids_and_secrets_have_aws_forms_and_do_not_repeat() -> None:
    ids = {new_access_key_id() for _ in range(500)}
    secrets = {new_secret_access_key().expose_secret_bytes() for _ in range(500)}
    assert len(ids) == 500 and len(secrets) == 500
    assert all(ACCESS_KEY_ID_RE.fullmatch(i) and is_access_key_id(i) for i in ids)
    assert all(SECRET_ACCESS_KEY_RE.fullmatch(s.decode("ascii")) for s in secrets)


@pytest.mark.parametrize(
    "value",
    [
        "AKIAIOSFODNN7EXAMPL",
        "AKIAIOSFODNN7EXAMPLEE",
        "ASIAIOSFODNN7EXAMPLE",
        "akiaiosfodnn7example",
        "AKIAIOSFODNN7EXAMPL1",
    ],
)
def test_other_strings_are_not_ids(value: str) -> None:
    assert not is_access_key_id(value)


def test_a_secret_never_shows_itself() -> None:
    secret = new_secret_access_key()
    text = secret.expose_secret_bytes().decode()
    credential = AccessKeyCredential("AKIAIOSFODNN7EXAMPLE", ALICE, secret)
    for shown in (repr(secret), str(secret), f"{secret}", repr(credential), str(credential)):
        assert text not in shown
    with pytest.raises(TypeError):
        pickle.dumps(secret)
    with pytest.raises(ValueError):
        SecretAccessKey(b"too short")
