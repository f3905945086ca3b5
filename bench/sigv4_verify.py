"""CPU per SigV4 verification: ``.venv/bin/python -m bench.sigv4_verify``.

A KMS Encrypt request (1 KiB plaintext) signed by botocore as boto3 signs
it, turned into a WSGI environ as gunicorn would, then verified over and
over by the AWS door's :class:`~app.auth.sigv4.verifier.SigV4Verifier`: the
wrapping of the environ (:func:`~app.auth.sigv4.request.signed_request_from_wsgi`)
and the verification itself, timed apart. The access key's lookup is a
function returning a fixed credential (the service's comes from the read
cache), so the figures are SigV4's own work. Best of several rounds of CPU
time (``time.process_time``), so that a busy machine inflates nothing.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.auth.access_keys import AccessKeyCredential, SecretAccessKey
from app.auth.principal import Principal
from app.auth.sigv4.request import signed_request_from_wsgi
from app.auth.sigv4.verifier import SigV4Verifier
from app.config.settings import Settings

ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"


def _environ(settings: Settings, secret: str, body: bytes) -> dict[str, Any]:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(
        method="POST",
        url="http://127.0.0.1:8080/",
        data=body,
        headers={
            "X-Amz-Target": "TrentService.Encrypt",
            "Content-Type": "application/x-amz-json-1.1",
        },
    )
    SigV4Auth(Credentials(ACCESS_KEY_ID, secret), "kms", settings.region).add_auth(request)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "POST",
        "RAW_URI": "/",
        "PATH_INFO": "/",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8080",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "HTTP_HOST": "127.0.0.1:8080",
        "HTTP_USER_AGENT": "Boto3/1.35.0 md/Botocore#1.35.0",
        "HTTP_CONNECTION": "keep-alive",
        "CONTENT_LENGTH": str(len(body)),
    }
    for name, value in request.headers.items():
        key = name.upper().replace("-", "_")
        environ[key if key == "CONTENT_TYPE" else "HTTP_" + key] = str(value)
    return environ


def _best(function: Callable[[], object], calls: int, rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        for _ in range(calls):
            function()
        best = min(best, (time.process_time() - started) / calls)
    return best * 1e6


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=7)
    arguments = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="trent-sigv4-") as folder:
        settings = Settings(data_dir=Path(folder))
        secret = base64.b64encode(os.urandom(30)).decode()
        principal = Principal(
            partition="aws",
            account="111122223333",
            type="user",
            name="bench",
            auth_method="sigv4",
            token_id=ACCESS_KEY_ID,
        )
        credential = AccessKeyCredential(
            access_key_id=ACCESS_KEY_ID,
            principal=principal,
            secret=SecretAccessKey(secret.encode()),
        )
        verifier = SigV4Verifier(settings, lambda key: credential if key == ACCESS_KEY_ID else None)
        plaintext = base64.b64encode(os.urandom(1024)).decode()
        body = json.dumps({"KeyId": "alias/bench", "Plaintext": plaintext}).encode()
        environ = _environ(settings, secret, body)
        signed = signed_request_from_wsgi(environ, body)
        assert verifier.verify(signed) is principal  # signed right, and verified
        wrap = _best(
            lambda: signed_request_from_wsgi(environ, body), arguments.calls, arguments.rounds
        )
        verify = _best(lambda: verifier.verify(signed), arguments.calls, arguments.rounds)
    print(f"SigV4, KMS Encrypt signed by botocore ({len(body)} bytes of body), CPU per call:")
    print(f"  wrap the environ  {wrap:6.1f} µs")
    print(f"  verify            {verify:6.1f} µs")
    print(f"  both              {wrap + verify:6.1f} µs")


if __name__ == "__main__":
    main()
