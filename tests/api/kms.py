"""A small REST client for tests: one method per call, raw responses back."""

from __future__ import annotations

import json
import sqlite3
from typing import Any
from urllib.parse import quote

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from app.config import Settings
from tests.conftest import b64, bearer

JSON_11 = "application/x-amz-json-1.1"


class Kms:
    def __init__(self, client: FlaskClient, token: str) -> None:
        self.client = client
        self.headers = bearer(token)

    def _key(self, key_id: str) -> str:
        return quote(key_id, safe="")

    def post(self, path: str, body: dict[str, Any] | None = None) -> TestResponse:
        return self.client.post(path, json=body if body is not None else {}, headers=self.headers)

    def get(self, path: str, **query: Any) -> TestResponse:
        return self.client.get(path, query_string=query, headers=self.headers)

    def put(self, path: str, body: dict[str, Any]) -> TestResponse:
        return self.client.put(path, json=body, headers=self.headers)

    def patch(self, path: str, body: dict[str, Any]) -> TestResponse:
        return self.client.patch(path, json=body, headers=self.headers)

    def delete(self, path: str, **query: Any) -> TestResponse:
        return self.client.delete(path, query_string=query, headers=self.headers)

    def aws(
        self, target: str, body: dict[str, Any], *, content_type: str = JSON_11
    ) -> TestResponse:
        """A call on the AWS door (JSON 1.1), with the same bearer token."""
        return self.client.post(
            "/",
            data=json.dumps(body).encode(),
            headers={
                **self.headers,
                "X-Amz-Target": f"TrentService.{target}",
                "Content-Type": content_type,
            },
        )

    # Keys

    def create_key(self, **body: Any) -> TestResponse:
        return self.post("/v1/keys", body)

    def new_key(self, **body: Any) -> str:
        response = self.create_key(**body)
        assert response.status_code == 200, response.get_data(as_text=True)
        return str(response.get_json()["KeyMetadata"]["KeyId"])

    def describe(self, key_id: str) -> TestResponse:
        return self.get(f"/v1/keys/{self._key(key_id)}")

    def enable(self, key_id: str) -> TestResponse:
        return self.post(f"/v1/keys/{self._key(key_id)}/enable")

    def disable(self, key_id: str) -> TestResponse:
        return self.post(f"/v1/keys/{self._key(key_id)}/disable")

    def schedule_deletion(self, key_id: str, days: int | None = None) -> TestResponse:
        body = {} if days is None else {"PendingWindowInDays": days}
        return self.post(f"/v1/keys/{self._key(key_id)}/schedule-deletion", body)

    def cancel_deletion(self, key_id: str) -> TestResponse:
        return self.post(f"/v1/keys/{self._key(key_id)}/cancel-deletion")

    # Cryptography

    def encrypt(
        self, key_id: str, plaintext: bytes, context: dict[str, str] | None = None
    ) -> TestResponse:
        body: dict[str, Any] = {"Plaintext": b64(plaintext)}
        if context is not None:
            body["EncryptionContext"] = context
        return self.post(f"/v1/keys/{self._key(key_id)}/encrypt", body)

    def ciphertext(
        self, key_id: str, plaintext: bytes, context: dict[str, str] | None = None
    ) -> str:
        response = self.encrypt(key_id, plaintext, context)
        assert response.status_code == 200, response.get_data(as_text=True)
        return str(response.get_json()["CiphertextBlob"])

    def decrypt(
        self, blob: str, context: dict[str, str] | None = None, key_id: str | None = None
    ) -> TestResponse:
        body: dict[str, Any] = {"CiphertextBlob": blob}
        if context is not None:
            body["EncryptionContext"] = context
        if key_id is not None:
            body["KeyId"] = key_id
        return self.post("/v1/decrypt", body)

    def data_key(self, key_id: str, plaintext: bool = True, **body: Any) -> TestResponse:
        suffix = "" if plaintext else "?plaintext=false"
        return self.post(f"/v1/keys/{self._key(key_id)}/data-key{suffix}", body)


def audit_events(settings: Settings) -> list[dict[str, Any]]:
    """Every audit event body in the SQLite database, oldest first."""
    db = sqlite3.connect(settings.data_dir / "trent.db")
    try:
        rows = db.execute("SELECT body FROM audit_event ORDER BY seq").fetchall()
    finally:
        db.close()
    return [json.loads(bytes(row[0])) for row in rows]
