"""A verifier on a fixed clock with an in-memory key table, and a request factory.

Every request the tests build starts as a valid botocore-like KMS call signed
by :mod:`tests.unit.sigv4.signer` and differs from it in exactly one respect.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from app.auth.access_keys import AccessKeyCredential, SecretAccessKey
from app.auth.principal import Principal
from app.auth.sigv4 import SignedRequest, SigV4Verifier
from app.config import Settings
from tests.unit.sigv4.signer import Signed, sign

NOW = 1_800_000_000
REGION = "eu-west-3"
ACCOUNT = "111122223333"
ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
HOST = "localhost:8080"
BODY = b'{"KeyId":"alias/payments","Plaintext":"aGVsbG8="}'


def amz_date(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y%m%dT%H%M%SZ")


def kms_headers(epoch: float = NOW, *, body: bytes = BODY) -> list[tuple[str, str]]:
    """What botocore sends to KMS (before signing)."""
    return [
        ("Host", HOST),
        ("X-Amz-Target", "TrentService.Encrypt"),
        ("Content-Type", "application/x-amz-json-1.1"),
        ("User-Agent", "Boto3/1.40.0 md/Botocore#1.40.0 ua/2.1 os/linux"),
        ("Content-Length", str(len(body))),
        ("X-Amz-Date", amz_date(epoch)),
    ]


@dataclass
class Keys:
    """The lookup: a mutable table of access keys, counting its calls."""

    table: dict[str, AccessKeyCredential] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    verified: list[str] = field(default_factory=list)

    def lookup(self, access_key_id: str) -> AccessKeyCredential | None:
        self.calls.append(access_key_id)
        return self.table.get(access_key_id)

    def on_verified(self, credential: AccessKeyCredential) -> None:
        self.verified.append(credential.access_key_id)


ALICE = Principal(
    partition="aws",
    account=ACCOUNT,
    type="user",
    name="alice",
    tags=MappingProxyType({"team": "payments"}),
)


@pytest.fixture
def keys() -> Keys:
    keys = Keys()
    keys.table[ACCESS_KEY_ID] = AccessKeyCredential(
        access_key_id=ACCESS_KEY_ID, principal=ALICE, secret=SecretAccessKey(SECRET.encode())
    )
    return keys


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, region=REGION, max_body_bytes=64 * 1024)


@pytest.fixture
def verifier(settings: Settings, keys: Keys) -> SigV4Verifier:
    return SigV4Verifier(settings, keys.lookup, clock=lambda: NOW, on_verified=keys.on_verified)


Build = Callable[..., tuple[SignedRequest, Signed]]


@pytest.fixture
def build() -> Build:
    """``build(**changes)``: a signed request; keyword arguments change what is
    signed (``epoch``, ``body``, ``headers``, ``secret``, ``region``, ...)."""

    def make(
        *,
        epoch: float = NOW,
        body: bytes = BODY,
        headers: Sequence[tuple[str, str]] | None = None,
        method: str = "POST",
        path: str = "/",
        wire_path: str | None = None,
        params: Sequence[tuple[str, str]] = (),
        raw_query: str | None = None,
        access_key_id: str = ACCESS_KEY_ID,
        secret: str = SECRET,
        region: str = REGION,
        service: str = "kms",
        scope_date: str | None = None,
        signed_names: Sequence[str] | None = None,
        **_: Any,
    ) -> tuple[SignedRequest, Signed]:
        base = list(kms_headers(epoch, body=body) if headers is None else headers)
        signed = sign(
            method=method,
            path=path,
            params=params,
            headers=base,
            body=body,
            access_key_id=access_key_id,
            secret=secret,
            region=region,
            service=service,
            amz_date=amz_date(epoch),
            scope_date=scope_date,
            signed_names=signed_names,
        )
        query = "&".join(f"{k}={v}" for k, v in params) if raw_query is None else raw_query
        request = SignedRequest(
            method=method,
            path=wire_path or path,
            query=query,
            headers=tuple(signed.headers),
            body=body,
        )
        return request, signed

    return make


def body_sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()
