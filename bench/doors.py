"""The four doors under load and the requests each one sends.

A door describes one wrk run of an operation as a :class:`LoadSpec`: the Lua
script of ``bench/lua``, the environment it reads, and a probe (the same
request, sent once from Python before the load) so that a misconfigured cell
fails loudly instead of measuring error answers.

- ``trent-rest``: Trent's REST door with a bearer JWT minted for the run.
- ``trent-aws``: Trent's AWS door (``POST /``, KMS JSON 1.1) with SigV4. A
  fresh pool of requests is signed before every run, so every figure includes
  SigV4 verification (one access-key lookup and four HMACs per request).
- ``moto``: moto's KMS server, same protocol; signed once (moto checks nothing).
- ``echo``: the framework floor, fed the same body as Trent's REST Encrypt.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from bench.errors import BenchError

LUA_DIR = Path(__file__).resolve().parent / "lua"
ACCOUNT = "111122223333"
REGION = "us-east-1"
PLAINTEXT_BYTES = 1024
#: Distinct pre-signed Encrypt requests in a SigV4 pool (cycled by the Lua script).
POOL_SIZE = 256
#: A SigV4 signature is accepted for five minutes; a run must end well before.
SIGNATURE_LIFETIME_SECONDS = 240

OPERATIONS = ("Encrypt", "Decrypt", "GenerateDataKey")
ECHO = "Echo"
LABELS = {
    "Encrypt": "Encrypt 1 KB",
    "Decrypt": "Decrypt 1 KB",
    "GenerateDataKey": "GenerateDataKey",
    ECHO: "Echo 1 KB JSON",
}
#: The member every successful answer of an operation has.
EXPECTED_MEMBER = {
    "Encrypt": "CiphertextBlob",
    "Decrypt": "Plaintext",
    "GenerateDataKey": "CiphertextBlob",
    ECHO: "Plaintext",
}


@dataclass(frozen=True)
class HttpRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def raw(self, host: str) -> bytes:
        """The request as HTTP/1.1 bytes, as wrk sends it."""
        lines = [f"{self.method} {self.path} HTTP/1.1", f"Host: {host}"]
        lines += [f"{name}: {value}" for name, value in self.headers.items()]
        lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + self.body


@dataclass(frozen=True)
class LoadSpec:
    url: str
    script: Path
    probe: HttpRequest
    expect: str
    environment: dict[str, str] = field(default_factory=dict)
    signed_at: float | None = None


class Door(Protocol):
    name: str
    description: str

    def operations(self) -> tuple[str, ...]: ...

    def load_spec(self, operation: str, workdir: Path) -> LoadSpec: ...


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def call_json(base_url: str, request: HttpRequest, timeout: float = 30) -> tuple[int, Any]:
    """Send ``request`` once; the status and the decoded JSON answer (or the text)."""
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)
    try:
        connection.request(request.method, request.path, request.body, request.headers)
        response = connection.getresponse()
        text = response.read().decode("utf-8", errors="replace")
    finally:
        connection.close()
    try:
        return response.status, json.loads(text)
    except ValueError:
        return response.status, text


def probe(spec: LoadSpec, door: str, operation: str) -> None:
    """Send the cell's request once; refuse to load a cell that does not succeed."""
    status, answer = call_json(spec.url, spec.probe)
    if status != 200 or not isinstance(answer, dict) or spec.expect not in answer:
        raise BenchError(f"{door} {operation}: probe answered {status}: {str(answer)[:500]}")


def _rest_headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def _json_bytes(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


def _aws_body(operation: str, key_id: str, ciphertext: str) -> dict[str, Any]:
    if operation == "Encrypt":
        return {"KeyId": key_id, "Plaintext": b64(os.urandom(PLAINTEXT_BYTES))}
    if operation == "Decrypt":
        return {"CiphertextBlob": ciphertext}
    return {"KeyId": key_id, "KeySpec": "AES_256"}


def _write(workdir: Path, name: str, data: bytes) -> Path:
    path = workdir / name
    path.write_bytes(data)
    return path


@dataclass(frozen=True)
class TrentFixture:
    """What the doors need from a running Trent: a key, a ciphertext, credentials."""

    base_url: str
    token: str
    key_id: str
    ciphertext: str
    access_key_id: str
    secret_access_key: str

    @classmethod
    def create(cls, base_url: str, token: str) -> TrentFixture:
        headers = _rest_headers(token)

        def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
            status, answer = call_json(
                base_url, HttpRequest("POST", path, headers, _json_bytes(body))
            )
            if status != 200 or not isinstance(answer, dict):
                raise BenchError(f"Trent {path} answered {status}: {str(answer)[:500]}")
            return answer

        key_id = post("/v1/keys", {})["KeyMetadata"]["KeyId"]
        plaintext = b64(os.urandom(PLAINTEXT_BYTES))
        ciphertext = post(f"/v1/keys/{key_id}/encrypt", {"Plaintext": plaintext})["CiphertextBlob"]
        access_key = post("/v1/access-keys", {})["AccessKey"]
        return cls(
            base_url,
            token,
            key_id,
            ciphertext,
            access_key["AccessKeyId"],
            access_key["SecretAccessKey"],
        )


@dataclass(frozen=True)
class MotoFixture:
    base_url: str
    key_id: str
    ciphertext: str

    @classmethod
    def create(cls, base_url: str) -> MotoFixture:
        import boto3

        client = boto3.client(
            "kms",
            endpoint_url=base_url,
            region_name=REGION,
            aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
            aws_secret_access_key="bench-dummy-secret",
        )
        key_id = client.create_key()["KeyMetadata"]["KeyId"]
        blob = client.encrypt(KeyId=key_id, Plaintext=os.urandom(PLAINTEXT_BYTES))["CiphertextBlob"]
        return cls(base_url, key_id, b64(blob))


def _sign(base_url: str, target: str, body: bytes, access_key_id: str, secret: str) -> HttpRequest:
    """A KMS JSON 1.1 request signed with SigV4 now, by botocore (as boto3 signs)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    headers = {
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": f"TrentService.{target}",
    }
    aws_request = AWSRequest(method="POST", url=f"{base_url}/", data=body, headers=headers)
    SigV4Auth(Credentials(access_key_id, secret), "kms", REGION).add_auth(aws_request)
    signed = {
        name: str(aws_request.headers[name])
        for name in ("Content-Type", "X-Amz-Target", "X-Amz-Date", "Authorization")
    }
    return HttpRequest("POST", "/", signed, body)


class TrentRestDoor:
    name = "trent-rest"
    description = "Trent REST door, bearer JWT of the local issuer (EdDSA, as `trent init` makes)"

    def __init__(self, fixture: TrentFixture) -> None:
        self.fixture = fixture

    def operations(self) -> tuple[str, ...]:
        return OPERATIONS

    def load_spec(self, operation: str, workdir: Path) -> LoadSpec:
        key_id = self.fixture.key_id
        if operation == "Encrypt":
            path, body = (
                f"/v1/keys/{key_id}/encrypt",
                {"Plaintext": b64(os.urandom(PLAINTEXT_BYTES))},
            )
        elif operation == "Decrypt":
            path, body = "/v1/decrypt", {"CiphertextBlob": self.fixture.ciphertext}
        else:
            path, body = f"/v1/keys/{key_id}/data-key", {"KeySpec": "AES_256"}
        data = _json_bytes(body)
        body_file = _write(workdir, f"{self.name}-{operation}.json", data)
        return LoadSpec(
            url=f"{self.fixture.base_url}{path}",
            script=LUA_DIR / "trent_rest.lua",
            probe=HttpRequest("POST", path, _rest_headers(self.fixture.token), data),
            expect=EXPECTED_MEMBER[operation],
            environment={"BENCH_TOKEN": self.fixture.token, "BENCH_BODY_FILE": str(body_file)},
        )


class TrentAwsDoor:
    name = "trent-aws"
    description = "Trent AWS door (KMS JSON 1.1), SigV4 pre-signed per run"

    def __init__(self, fixture: TrentFixture) -> None:
        self.fixture = fixture

    def operations(self) -> tuple[str, ...]:
        return OPERATIONS

    def load_spec(self, operation: str, workdir: Path) -> LoadSpec:
        fixture = self.fixture
        host = urlsplit(fixture.base_url).netloc
        signed_at = time.time()
        size = POOL_SIZE if operation == "Encrypt" else 1
        pool = [
            _sign(
                fixture.base_url,
                operation,
                _json_bytes(_aws_body(operation, fixture.key_id, fixture.ciphertext)),
                fixture.access_key_id,
                fixture.secret_access_key,
            )
            for _ in range(size)
        ]
        records = b"".join(b"%d\n%s" % (len(raw), raw) for raw in (r.raw(host) for r in pool))
        pool_file = _write(workdir, f"{self.name}-{operation}.pool", records)
        return LoadSpec(
            url=f"{fixture.base_url}/",
            script=LUA_DIR / "trent_aws.lua",
            probe=pool[0],
            expect=EXPECTED_MEMBER[operation],
            environment={"BENCH_POOL_FILE": str(pool_file)},
            signed_at=signed_at,
        )


class MotoDoor:
    name = "moto"
    description = "moto KMS server (moto[server], threaded Werkzeug), signature not checked"

    def __init__(self, fixture: MotoFixture) -> None:
        self.fixture = fixture

    def operations(self) -> tuple[str, ...]:
        return OPERATIONS

    def load_spec(self, operation: str, workdir: Path) -> LoadSpec:
        fixture = self.fixture
        body = _json_bytes(_aws_body(operation, fixture.key_id, fixture.ciphertext))
        signed = _sign(fixture.base_url, operation, body, "AKIAIOSFODNN7EXAMPLE", "bench-dummy")
        body_file = _write(workdir, f"{self.name}-{operation}.json", body)
        return LoadSpec(
            url=f"{fixture.base_url}/",
            script=LUA_DIR / "moto.lua",
            probe=signed,
            expect=EXPECTED_MEMBER[operation],
            environment={
                "BENCH_BODY_FILE": str(body_file),
                "BENCH_TARGET": signed.headers["X-Amz-Target"],
                "BENCH_AMZ_DATE": signed.headers["X-Amz-Date"],
                "BENCH_AUTHORIZATION": signed.headers["Authorization"],
            },
        )


class EchoDoor:
    name = "echo"
    description = "bare Flask JSON echo (bench/echo_app.py), same gunicorn settings"

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def operations(self) -> tuple[str, ...]:
        return (ECHO,)

    def load_spec(self, operation: str, workdir: Path) -> LoadSpec:
        data = _json_bytes({"Plaintext": b64(os.urandom(PLAINTEXT_BYTES))})
        body_file = _write(workdir, f"{self.name}.json", data)
        return LoadSpec(
            url=f"{self.base_url}/echo",
            script=LUA_DIR / "echo.lua",
            probe=HttpRequest("POST", "/echo", {"Content-Type": "application/json"}, data),
            expect=EXPECTED_MEMBER[ECHO],
            environment={"BENCH_BODY_FILE": str(body_file)},
        )
