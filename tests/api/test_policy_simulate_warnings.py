"""``POST /v1/policy/simulate`` names mistakes in the request under ``Warnings``."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from tests.api.kms import Kms
from tests.conftest import ACCOUNT, TokenFactory

ROOT = f"arn:aws:iam::{ACCOUNT}:root"
APP = f"arn:aws:iam::{ACCOUNT}:role/App"
KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/11111111-1111-4111-8111-111111111111"
POLICY = (
    '{"Version": "2012-10-17", "Statement": ['
    f'{{"Sid": "Root", "Effect": "Allow", "Principal": {{"AWS": "{ROOT}"}}, '
    '"Action": "kms:*", "Resource": "*"}, '
    f'{{"Sid": "Use", "Effect": "Allow", "Principal": {{"AWS": "{APP}"}}, '
    '"Action": "kms:Encrypt", "Resource": "*", '
    '"Condition": {"StringEquals": {"kms:EncryptionContext:tenant": "t-1"}}}]}'
)


@pytest.fixture
def root(client: FlaskClient, token: TokenFactory) -> Kms:
    return Kms(client, token(root=True))


def _simulate(root: Kms, actions: list[str], context: dict[str, str]) -> dict[str, object]:
    response = root.post(
        "/v1/policy/simulate",
        {
            "Policy": POLICY,
            "Principal": APP,
            "Actions": actions,
            "Resource": KEY,
            "Context": context,
        },
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    body: dict[str, object] = response.get_json()
    return body


def test_unknown_actions_and_bare_context_keys_are_warned_about(root: Kms) -> None:
    body = _simulate(root, ["kms:Encrypt", "kms:Decryptt"], {"tenant": "t-1"})
    decisions = [r["Decision"] for r in body["EvaluationResults"]]  # type: ignore[attr-defined]
    assert decisions == ["implicitDeny", "implicitDeny"]
    unknown, bare = body["Warnings"]  # type: ignore[misc]
    assert "kms:Decryptt is not a known action (did you mean kms:Decrypt?)" in unknown
    assert "'tenant' has no namespace" in bare and "kms:EncryptionContext:tenant" in bare


def test_a_correct_request_has_an_empty_warnings_list(root: Kms) -> None:
    body = _simulate(root, ["kms:Encrypt"], {"kms:EncryptionContext:tenant": "t-1"})
    assert body["Warnings"] == []
    assert body["EvaluationResults"][0]["Decision"] == "allowed"  # type: ignore[index]
