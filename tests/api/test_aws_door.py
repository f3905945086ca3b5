"""The AWS door through the Flask test client: the KMS JSON 1.1 dialect, SigV4
failures with AWS's codes (each audited as an authentication failure), and
parity with the REST door."""

from __future__ import annotations

import datetime
import json
import sqlite3
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from app.config import Settings
from tests.api.kms import Kms
from tests.conftest import ACCOUNT, TokenFactory, b64, bearer

HOST = "localhost"
JSON_11 = "application/x-amz-json-1.1"


def signed(
    client: FlaskClient,
    credentials: Credentials,
    target: str,
    body: dict[str, Any] | bytes,
    *,
    region: str = "us-east-1",
    service: str = "kms",
    when: datetime.datetime | None = None,
    tamper: bool = False,
    unsigned_host: bool = False,
) -> TestResponse:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = AWSRequest(
        method="POST",
        url=f"http://{HOST}/",
        data=raw,
        headers={"X-Amz-Target": f"TrentService.{target}", "Content-Type": JSON_11},
    )
    signer = SigV4Auth(credentials, service, region)
    if when is not None:
        # botocore reads the clock when it signs; a past time makes an expired request.
        real_now = datetime.datetime

        class Frozen(datetime.datetime):
            @classmethod
            def now(cls, tz: Any = None) -> Any:
                return when

            @classmethod
            def utcnow(cls) -> Any:
                return when.replace(tzinfo=None)

        datetime.datetime = Frozen  # type: ignore[misc]
        try:
            signer.add_auth(request)
        finally:
            datetime.datetime = real_now  # type: ignore[misc]
    else:
        signer.add_auth(request)
    headers = dict(request.headers.items())
    if unsigned_host:
        auth = headers["Authorization"].replace("SignedHeaders=", "SignedHeaders=")
        parts = auth.split("SignedHeaders=")
        names, rest = parts[1].split(",", 1)
        kept = ";".join(n for n in names.split(";") if n != "host")
        headers["Authorization"] = f"{parts[0]}SignedHeaders={kept},{rest}"
    data = raw + b" " if tamper else raw
    return client.post("/", data=data, headers=headers, base_url=f"http://{HOST}")


def aws_error(response: TestResponse) -> tuple[int, str]:
    assert response.headers["Content-Type"] == JSON_11
    assert response.headers["x-amzn-RequestId"]
    body = response.get_json(force=True)
    # A message member is sent only when there is a message (as AWS does).
    assert set(body) in ({"__type", "message"}, {"__type"}) and body.get("message") != ""
    return response.status_code, body["__type"]


def last_event(settings: Settings) -> dict[str, Any]:
    db = sqlite3.connect(settings.data_dir / "trent.db")
    row = db.execute("SELECT body FROM audit_event ORDER BY seq DESC LIMIT 1").fetchone()
    db.close()
    return dict(json.loads(bytes(row[0])))


def test_a_signed_round_trip(client: FlaskClient, credentials: Credentials) -> None:
    created = signed(client, credentials, "CreateKey", {"Description": "aws door"})
    assert created.status_code == 200 and created.headers["Content-Type"] == JSON_11
    arn = created.get_json(force=True)["KeyMetadata"]["Arn"]
    encrypted = signed(
        client,
        credentials,
        "Encrypt",
        {"KeyId": arn, "Plaintext": b64(b"hi"), "DryRunModifiers": ["ignored"]},
    )
    assert encrypted.status_code == 200, encrypted.get_data(as_text=True)
    blob = encrypted.get_json(force=True)["CiphertextBlob"]
    decrypted = signed(client, credentials, "Decrypt", {"CiphertextBlob": blob})
    assert decrypted.get_json(force=True)["Plaintext"] == b64(b"hi")
    assert decrypted.get_json(force=True)["KeyId"] == arn


def test_a_bearer_token_works_on_the_aws_door(client: FlaskClient, token: TokenFactory) -> None:
    response = client.post(
        "/",
        data=b"{}",
        headers={
            **bearer(token(root=True)),
            "X-Amz-Target": "TrentService.ListKeys",
            "Content-Type": JSON_11,
        },
    )
    assert response.status_code == 200
    assert response.get_json(force=True) == {"Keys": [], "Truncated": False}
    bad = client.post(
        "/", data=b"{}", headers={**bearer("x.y.z"), "X-Amz-Target": "TrentService.ListKeys"}
    )
    assert aws_error(bad) == (400, "UnrecognizedClientException")


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


SIGV4_FAILURES: dict[str, tuple[dict[str, Any], str]] = {
    "wrong region": ({"region": "eu-west-1"}, "InvalidSignatureException"),
    "wrong service": ({"service": "s3"}, "InvalidSignatureException"),
    "expired date": (
        {"when": _now() - datetime.timedelta(minutes=20)},
        "InvalidSignatureException",
    ),
    "future date": ({"when": _now() + datetime.timedelta(minutes=20)}, "InvalidSignatureException"),
    "tampered body": ({"tamper": True}, "InvalidSignatureException"),
    "unsigned host": ({"unsigned_host": True}, "IncompleteSignatureException"),
}


@pytest.mark.parametrize("case", list(SIGV4_FAILURES), ids=list(SIGV4_FAILURES))
def test_sigv4_failures_have_aws_codes_and_are_audited(
    client: FlaskClient, credentials: Credentials, settings: Settings, case: str
) -> None:
    options, code = SIGV4_FAILURES[case]
    response = signed(client, credentials, "ListKeys", {}, **options)
    assert aws_error(response) == (400, code)
    event = last_event(settings)
    assert (event["eventName"], event["outcome"], event["errorCode"]) == (
        "ListKeys",
        "denied",
        code,
    )
    assert event["door"] == "aws" and event["principal"]["arn"] is None


def test_a_wrong_secret_and_a_deleted_key(
    client: FlaskClient, credentials: Credentials, root: Kms, settings: Settings
) -> None:
    wrong = Credentials(credentials.access_key, "x" * 40)
    assert aws_error(signed(client, wrong, "ListKeys", {})) == (400, "InvalidSignatureException")
    assert signed(client, credentials, "ListKeys", {}).status_code == 200
    assert root.delete(f"/v1/access-keys/{credentials.access_key}").status_code == 200
    response = signed(client, credentials, "ListKeys", {})
    assert aws_error(response) == (400, "UnrecognizedClientException")
    assert last_event(settings)["errorCode"] == "UnrecognizedClientException"


def test_missing_authentication(client: FlaskClient) -> None:
    response = client.post("/", data=b"{}", headers={"X-Amz-Target": "TrentService.ListKeys"})
    assert aws_error(response) == (400, "MissingAuthenticationTokenException")


def test_dialect_errors(client: FlaskClient, credentials: Credentials, root: Kms) -> None:
    assert aws_error(signed(client, credentials, "NoSuchThing", {})) == (
        400,
        "UnknownOperationException",
    )
    assert aws_error(signed(client, credentials, "DeriveSharedSecret", {})) == (
        400,
        "UnsupportedOperationException",
    )
    assert aws_error(signed(client, credentials, "Encrypt", b"{not json")) == (
        400,
        "SerializationException",
    )
    assert aws_error(signed(client, credentials, "Encrypt", {"KeyId": "x"})) == (
        400,
        "ValidationException",
    )
    assert aws_error(signed(client, credentials, "DescribeKey", {"KeyId": "alias/none"})) == (
        400,
        "NotFoundException",
    )
    key_id = root.new_key()
    root.disable(key_id)
    response = signed(client, credentials, "Encrypt", {"KeyId": key_id, "Plaintext": b64(b"x")})
    assert aws_error(response) == (400, "DisabledException")


def test_access_denied_on_the_aws_door(client: FlaskClient, token: TokenFactory, root: Kms) -> None:
    key_id = root.new_key(Administrators=[f"arn:aws:iam::{ACCOUNT}:user/admin"])
    admin = Kms(client, token(user="admin"))
    created = admin.post("/v1/access-keys").get_json()["AccessKey"]
    admin_credentials = Credentials(created["AccessKeyId"], created["SecretAccessKey"])
    response = signed(
        client, admin_credentials, "Encrypt", {"KeyId": key_id, "Plaintext": b64(b"x")}
    )
    assert aws_error(response) == (400, "AccessDeniedException")
    assert signed(client, admin_credentials, "DisableKey", {"KeyId": key_id}).status_code == 200
