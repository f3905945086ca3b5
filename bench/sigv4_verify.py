"""CPU per SigV4 verification: ``.venv/bin/python -m bench.sigv4_verify``.

A KMS Encrypt request (1 KiB plaintext) signed by botocore as the harness
signs the AWS door's requests (:func:`bench.doors._sign`), turned into a
WSGI environ as gunicorn would, then verified over and over by the AWS
door's :class:`~app.auth.sigv4.verifier.SigV4Verifier`: the wrapping of the
environ (:func:`~app.auth.sigv4.request.signed_request_from_wsgi`) and the
verification itself, timed apart. The access key's lookup is a function
returning a fixed credential (the service's comes from the read cache), so
the figures are SigV4's own work. Best of several rounds
(:func:`bench.signing._microseconds`), so that other work on the machine
inflates nothing.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from app.auth.access_keys import AccessKeyCredential, SecretAccessKey
from app.auth.principal import Principal
from app.auth.sigv4.request import signed_request_from_wsgi
from app.auth.sigv4.verifier import SigV4Verifier
from app.config.settings import Settings
from bench.doors import REGION, HttpRequest, _sign
from bench.signing import _microseconds

ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
HOST = "127.0.0.1:8080"


def _environ(request: HttpRequest) -> dict[str, Any]:
    """``request`` as gunicorn hands it to the application."""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": request.method,
        "RAW_URI": request.path,
        "PATH_INFO": request.path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8080",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "HTTP_HOST": HOST,
        "HTTP_USER_AGENT": "Boto3/1.35.0 md/Botocore#1.35.0",
        "HTTP_CONNECTION": "keep-alive",
        "CONTENT_LENGTH": str(len(request.body)),
    }
    for name, value in request.headers.items():
        key = name.upper().replace("-", "_")
        environ[key if key == "CONTENT_TYPE" else "HTTP_" + key] = value
    return environ


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=0.5, help="per round")
    parser.add_argument("--rounds", type=int, default=7)
    arguments = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="trent-sigv4-") as folder:
        settings = Settings(data_dir=Path(folder))
        assert settings.region == REGION, "the harness signs for its own region"
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
        request = _sign(f"http://{HOST}", "Encrypt", body, ACCESS_KEY_ID, secret)
        environ = _environ(request)
        signed = signed_request_from_wsgi(environ, body)
        assert verifier.verify(signed) is principal  # signed right, and verified
        seconds, rounds = arguments.seconds, arguments.rounds
        wrap = _microseconds(lambda: signed_request_from_wsgi(environ, body), seconds, rounds)
        verify = _microseconds(lambda: verifier.verify(signed), seconds, rounds)
    print(f"SigV4, KMS Encrypt signed by botocore ({len(body)} bytes of body), per call:")
    print(f"  wrap the environ  {wrap:6.1f} µs")
    print(f"  verify            {verify:6.1f} µs")
    print(f"  both              {wrap + verify:6.1f} µs")


if __name__ == "__main__":
    main()
