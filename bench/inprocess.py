"""CPU per request of the application alone, without an HTTP server or load generator.

``python -m bench.inprocess [--requests N] [--profile]`` initialises a data
directory in a temporary folder, builds the WSGI application as ``trent serve``
does (durable audit, the in-process group commit), creates a key, and calls
the application directly with pre-built WSGI environs, one request at a time:
REST Encrypt with a bearer JWT, REST Encrypt by a user whom only a grant allows
(with its grant token: the token and the key's grants are read from the
database on every such request), REST Decrypt, REST GenerateDataKey, REST Sign
and Verify with an ECC_NIST_P256 key and GenerateMac with an HMAC_256 key, and the
bare Flask echo of :mod:`bench.echo_app` for comparison. It prints the CPU
time of this process per request (``time.process_time``), which on a busy
machine is steadier than wall time, and with ``--profile`` the functions with
the most own time (cProfile) for Encrypt.

This does not replace the harness: it leaves out gunicorn, the sockets and the
audit writer process, and one request at a time never shares a commit. It is
for comparing versions of the request path, quickly and repeatably.
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import io
import json
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

ACCOUNT = "111122223333"
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _environ(method: str, path: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    from werkzeug.test import EnvironBuilder

    builder = EnvironBuilder(
        method=method, path=path, headers=headers, data=body, base_url="http://127.0.0.1:8080"
    )
    environ = builder.get_environ()
    environ["REMOTE_ADDR"] = "127.0.0.1"
    return environ


def _call(app: WsgiApp, template: dict[str, Any], body: bytes) -> tuple[str, bytes]:
    environ = dict(template)
    environ["wsgi.input"] = io.BytesIO(body)
    status: list[str] = []

    def start_response(line: str, headers: Any, exc_info: Any = None) -> None:
        status.append(line)

    chunks = app(environ, start_response)
    data = b"".join(chunks)
    close = getattr(chunks, "close", None)
    if close is not None:
        close()
    return status[0], data


class Cell:
    def __init__(
        self, name: str, app: WsgiApp, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> None:
        self.name = name
        self.app = app
        self.body = body
        self.template = _environ(method, path, headers, body)

    def once(self) -> bytes:
        status, data = _call(self.app, self.template, self.body)
        if not status.startswith("200"):
            raise SystemExit(f"{self.name}: answered {status}: {data[:300]!r}")
        return data

    def measure(self, requests: int) -> tuple[float, float]:
        """CPU µs per request: of the whole process, and of the request thread."""
        for _ in range(min(200, requests)):
            self.once()
        return self.batch(requests)

    def batch(self, requests: int) -> tuple[float, float]:
        """CPU µs per request of ``requests`` requests, without a warm-up."""
        process, thread = time.process_time(), time.thread_time()
        for _ in range(requests):
            self.once()
        return (
            (time.process_time() - process) / requests * 1e6,
            (time.thread_time() - thread) / requests * 1e6,
        )


def _batches(cells: list[Cell], requests: int, batches: int) -> None:
    """Each cell warmed up, then ``batches`` rounds of ``requests`` // ``batches``
    requests of every cell in turn; the least and the median CPU per request of
    a batch. On a machine that other work shares, the least is the steadier
    figure: another process can make a batch slower, never faster."""
    per_batch = max(1, requests // batches)
    for cell in cells:
        for _ in range(min(200, requests)):
            cell.once()
    figures: dict[str, list[tuple[float, float]]] = {cell.name: [] for cell in cells}
    for _ in range(batches):
        for cell in cells:
            figures[cell.name].append(cell.batch(per_batch))
    print(
        f"{'request':<16} {'process µs min':>15} {'median':>8} {'thread µs min':>14} {'median':>8}"
    )
    for name, runs in figures.items():
        process = [run[0] for run in runs]
        thread = [run[1] for run in runs]
        print(
            f"{name:<16} {min(process):>15.1f} {statistics.median(process):>8.1f} "
            f"{min(thread):>14.1f} {statistics.median(thread):>8.1f}",
            flush=True,
        )


def _signed_cell(app: WsgiApp, access: dict[str, str], key_id: str, plaintext: str) -> Cell:
    """AWS door Encrypt signed with SigV4 once (a signature stays valid for minutes)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    body = json.dumps({"KeyId": key_id, "Plaintext": plaintext}).encode()
    request = AWSRequest(
        method="POST",
        url="http://127.0.0.1:8080/",
        data=body,
        headers={
            "X-Amz-Target": "TrentService.Encrypt",
            "Content-Type": "application/x-amz-json-1.1",
        },
    )
    credentials = Credentials(access["AccessKeyId"], access["SecretAccessKey"])
    SigV4Auth(credentials, "kms", "us-east-1").add_auth(request)
    return Cell("AwsSigV4Encrypt", app, "POST", "/", dict(request.headers.items()), body)


def _key_type_cells(app: WsgiApp, headers: dict[str, str], message: str) -> list[Cell]:
    """REST Sign and Verify (ECC_NIST_P256, 1 KiB RAW) and GenerateMac (HMAC_256)."""

    def new_key(spec: str, usage: str) -> str:
        body = json.dumps({"KeySpec": spec, "KeyUsage": usage}).encode()
        created = Cell("CreateKey", app, "POST", "/v1/keys", headers, body).once()
        return str(json.loads(created)["KeyMetadata"]["KeyId"])

    signing_key = new_key("ECC_NIST_P256", "SIGN_VERIFY")
    mac_key = new_key("HMAC_256", "GENERATE_VERIFY_MAC")
    to_sign = {"Message": message, "SigningAlgorithm": "ECDSA_SHA_256"}
    sign = Cell(
        "Sign", app, "POST", f"/v1/keys/{signing_key}/sign", headers, json.dumps(to_sign).encode()
    )
    signature = json.loads(sign.once())["Signature"]
    to_verify = json.dumps({**to_sign, "Signature": signature}).encode()
    to_mac = json.dumps({"Message": message, "MacAlgorithm": "HMAC_SHA_256"}).encode()
    return [
        sign,
        Cell("Verify", app, "POST", f"/v1/keys/{signing_key}/verify", headers, to_verify),
        Cell("GenerateMac", app, "POST", f"/v1/keys/{mac_key}/mac", headers, to_mac),
    ]


def _grant_cell(
    app: WsgiApp, headers: dict[str, str], user_token: str, key_id: str, body: bytes
) -> Cell:
    """REST Encrypt by a user no policy allows, through a grant and its token."""
    grant = {
        "GranteePrincipal": f"arn:aws:iam::{ACCOUNT}:user/grantee",
        "Operations": ["Encrypt"],
    }
    created = Cell(
        "CreateGrant", app, "POST", f"/v1/keys/{key_id}/grants", headers, json.dumps(grant).encode()
    ).once()
    with_token = {**json.loads(body), "GrantTokens": [json.loads(created)["GrantToken"]]}
    user = {**headers, "Authorization": f"Bearer {user_token}"}
    return Cell(
        "GrantEncrypt",
        app,
        "POST",
        f"/v1/keys/{key_id}/encrypt",
        user,
        json.dumps(with_token).encode(),
    )


def _trent(data_dir: Path) -> tuple[WsgiApp, str, str]:
    env = {**os.environ, "TRENT_DATA_DIR": str(data_dir)}
    trent = str(Path(sys.executable).with_name("trent"))
    subprocess.run([trent, "init"], env=env, check=True, capture_output=True)
    subprocess.run([trent, "migrate"], env=env, check=True, capture_output=True)
    os.environ["TRENT_DATA_DIR"] = str(data_dir)
    os.environ["TRENT_SCHEDULER_INTERVAL"] = "0"
    from app import create_app
    from app.auth.local_issuer import LocalIssuer
    from app.config import load_settings

    settings = load_settings()
    issuer = LocalIssuer.load(settings)
    token = issuer.mint(ACCOUNT, root=True, tags={})
    grantee = issuer.mint(ACCOUNT, user="grantee", tags={})
    return create_app(settings), token, grantee


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument(
        "--batches",
        type=int,
        default=1,
        help="split each cell's requests into this many batches, taken in turn "
        "with the other cells', and print the least and the median per batch",
    )
    parser.add_argument("--profile", action="store_true", help="cProfile the first cell")
    parser.add_argument("--sort", default="tottime", help="cProfile order (default tottime)")
    parser.add_argument("--lines", type=int, default=40, help="cProfile rows (default 40)")
    parser.add_argument(
        "--only",
        help="these cells only, comma-separated: Encrypt, GrantEncrypt, Decrypt, "
        "GenerateDataKey, AwsEncrypt, AwsSigV4Encrypt, Sign, Verify, GenerateMac, Echo",
    )
    arguments = parser.parse_args(argv)

    from bench.echo_app import create_app as echo_app

    with tempfile.TemporaryDirectory(prefix="trent-inprocess-") as folder:
        app, token, grantee_token = _trent(Path(folder) / "var")
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        plaintext = base64.b64encode(os.urandom(1024)).decode()
        body = json.dumps({"Plaintext": plaintext}).encode()
        key = Cell("CreateKey", app, "POST", "/v1/keys", headers, b"{}")
        key_id = json.loads(key.once())["KeyMetadata"]["KeyId"]
        encrypt = Cell("Encrypt", app, "POST", f"/v1/keys/{key_id}/encrypt", headers, body)
        blob = json.loads(encrypt.once())["CiphertextBlob"]
        aws_headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": "TrentService.Encrypt",
        }
        access = json.loads(
            Cell("AccessKey", app, "POST", "/v1/access-keys", headers, b"{}").once()
        )
        cells = [
            encrypt,
            _grant_cell(app, headers, grantee_token, key_id, body),
            Cell(
                "Decrypt",
                app,
                "POST",
                "/v1/decrypt",
                headers,
                json.dumps({"CiphertextBlob": blob}).encode(),
            ),
            Cell(
                "GenerateDataKey",
                app,
                "POST",
                f"/v1/keys/{key_id}/data-key",
                headers,
                json.dumps({"KeySpec": "AES_256"}).encode(),
            ),
            Cell(
                "AwsEncrypt",
                app,
                "POST",
                "/",
                aws_headers,
                json.dumps({"KeyId": key_id, "Plaintext": plaintext}).encode(),
            ),
            _signed_cell(app, access["AccessKey"], key_id, plaintext),
            *_key_type_cells(app, headers, plaintext),
            Cell("Echo", echo_app(), "POST", "/echo", {"Content-Type": "application/json"}, body),
        ]
        if arguments.only:
            wanted = arguments.only.split(",")
            cells = [cell for cell in cells if cell.name in wanted]
        if arguments.batches > 1:
            _batches(cells, arguments.requests, arguments.batches)
        else:
            print(f"{'request':<16} {'process µs':>11} {'thread µs':>10}")
            for cell in cells:
                process, thread = cell.measure(arguments.requests)
                print(f"{cell.name:<16} {process:>11.1f} {thread:>10.1f}", flush=True)
        if arguments.profile:
            profiler = cProfile.Profile()
            target = cells[0]
            profiler.enable()
            for _ in range(arguments.requests):
                target.once()
            profiler.disable()
            stats = pstats.Stats(profiler, stream=sys.stdout)
            stats.sort_stats(arguments.sort).print_stats(arguments.lines)


if __name__ == "__main__":
    main()
