"""``trent access-key create|list|delete`` against a real HTTP server."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from flask import Flask
from werkzeug.serving import make_server

from app.cli.access_keys import access_key
from tests.conftest import ACCOUNT, TokenFactory


@pytest.fixture
def server(app: Flask) -> Iterator[str]:
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()
        thread.join(5)


def run(url: str, token: str | None, *args: str) -> tuple[int, str, str]:
    env = {"TRENT_URL": url, "TRENT_TOKEN": token or ""}
    result = CliRunner().invoke(access_key, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def test_create_list_and_delete(server: str, token: TokenFactory) -> None:
    alice = token(user="alice")
    code, out, err = run(server, alice, "create")
    assert code == 0, out + err
    access_key_id = re.search(r"AccessKeyId\s+(AKIA[A-Z2-7]{16})", out)
    secret = re.search(r"SecretAccessKey\s+([A-Za-z0-9+/]{40})\n", out)
    assert access_key_id and secret
    assert f"arn:aws:iam::{ACCOUNT}:user/alice" in out
    assert "only this once" in err

    code, out, _ = run(server, alice, "list")
    assert code == 0
    assert access_key_id[1] in out and "Active" in out
    assert secret[1] not in out

    code, out, _ = run(server, alice, "delete", access_key_id[1])
    assert code == 0 and f"deleted {access_key_id[1]}" in out
    code, out, _ = run(server, alice, "list")
    assert code == 0 and access_key_id[1] not in out


def test_create_with_env_prints_export_lines(server: str, token: TokenFactory) -> None:
    code, out, _ = run(server, token(user="alice"), "create", "--env")
    assert code == 0
    lines = out.splitlines()
    assert re.fullmatch(r"export AWS_ACCESS_KEY_ID=AKIA[A-Z2-7]{16}", lines[0])
    assert re.fullmatch(r"export AWS_SECRET_ACCESS_KEY=[A-Za-z0-9+/]{40}", lines[1])
    # An AWS client needs a region and the endpoint too (the AWS CLI refuses to start without one).
    assert lines[2:] == [
        "export AWS_DEFAULT_REGION=us-east-1",
        f"export AWS_ENDPOINT_URL_KMS={server}",
    ]


def test_create_with_env_names_the_region_it_is_given(server: str, token: TokenFactory) -> None:
    code, out, _ = run(server, token(user="alice"), "create", "--env", "--region", "eu-west-3")
    assert code == 0
    assert "export AWS_DEFAULT_REGION=eu-west-3" in out.splitlines()


def test_the_root_lists_a_principals_keys(server: str, token: TokenFactory) -> None:
    code, out, _ = run(server, token(user="alice"), "create")
    assert code == 0
    alice_arn = f"arn:aws:iam::{ACCOUNT}:user/alice"
    code, out, _ = run(server, token(root=True), "list", "--principal-arn", alice_arn)
    assert code == 0 and alice_arn in out


def test_server_errors_are_shown_with_their_code(server: str, token: TokenFactory) -> None:
    code, _, err = run(server, token(user="alice"), "delete", "AKIAAAAAAAAAAAAAAAAA")
    assert code != 0
    assert "NotFoundException" in err and "HTTP 404" in err
    code, _, err = run(server, "not-a-token", "list")
    assert code != 0 and "UnauthenticatedException" in err


def test_missing_token_bad_url_and_unreachable_server(server: str) -> None:
    code, _, err = run(server, None, "list")
    assert code != 0 and "TRENT_TOKEN is not set" in err
    code, _, err = run("file:///etc/passwd", "t", "list")
    assert code != 0 and "http:// or https://" in err
    code, _, err = run("http://127.0.0.1:9", "t", "list")
    assert code != 0 and "cannot reach" in err
