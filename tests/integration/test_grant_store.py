"""Grants in a real database (SQLite, and PostgreSQL when configured): the
lookups a request makes (a token's grant, the key's grants for the caller,
written out as SQL of their own) and the listings agree with what was created,
and revoking takes effect on the next request."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask.testing import FlaskClient

from app import create_app
from app.auth.local_issuer import LocalIssuer
from tests.api.kms import Kms
from tests.conftest import ACCOUNT, b64, init_data_dir

ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"
APP = f"arn:aws:iam::{ACCOUNT}:role/App"


def _clients(data_dir: Path, database_url: str | None) -> tuple[Kms, Kms, Kms]:
    settings = init_data_dir(data_dir, database_url)
    app = create_app(settings)
    issuer = LocalIssuer.load(settings)
    client: FlaskClient = app.test_client()
    return (
        Kms(client, issuer.mint(ACCOUNT, root=True, tags={})),
        Kms(client, issuer.mint(ACCOUNT, user="alice", tags={})),
        Kms(client, issuer.mint(ACCOUNT, role="App", tags={})),
    )


def _grants_work(root: Kms, alice: Kms, app: Kms) -> None:
    key_id = root.new_key()
    body = {"Plaintext": b64(b"x"), "EncryptionContext": {"tenant": "t-1"}}
    made = []
    for grantee, constraint in [
        (ALICE, {"EncryptionContextEquals": {"Tenant": "t-1"}}),
        (APP, {"EncryptionContextSubset": {"tenant": "t-1"}}),
    ]:
        response = root.post(
            f"/v1/keys/{key_id}/grants",
            {"GranteePrincipal": grantee, "Operations": ["Encrypt"], "Constraints": constraint},
        )
        assert response.status_code == 200, response.get_data(as_text=True)
        made.append(response.get_json())
    for caller, created in zip((alice, app), made, strict=True):
        with_token = {**body, "GrantTokens": [created["GrantToken"]]}
        answer = caller.post(f"/v1/keys/{key_id}/encrypt", with_token)
        assert answer.status_code == 200, answer.get_data(as_text=True)
    listed = root.get(f"/v1/keys/{key_id}/grants").get_json()["Grants"]
    assert [g["GrantId"] for g in listed] == [m["GrantId"] for m in made]
    assert listed[0]["Constraints"] == {"EncryptionContextEquals": {"Tenant": "t-1"}}
    assert root.delete(f"/v1/keys/{key_id}/grants/{made[0]['GrantId']}").status_code == 200
    gone = alice.post(
        f"/v1/keys/{key_id}/encrypt", {**body, "GrantTokens": [made[0]["GrantToken"]]}
    )
    assert gone.get_json()["error"]["code"] == "InvalidGrantTokenException"
    assert alice.post(f"/v1/keys/{key_id}/encrypt", body).status_code == 403
    assert app.post(f"/v1/keys/{key_id}/encrypt", body).status_code == 200


def test_grants_in_sqlite(tmp_path: Path) -> None:
    _grants_work(*_clients(tmp_path / "var", None))


@pytest.mark.postgres
def test_grants_in_postgresql(tmp_path: Path, postgres_url: str) -> None:
    _grants_work(*_clients(tmp_path / "var", postgres_url))
