"""The ``trent`` client commands against a real server."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.e2e.conftest import TRENT, Server

pytestmark = pytest.mark.e2e


def run(
    server: Server, token: str, *args: str, stdin: bytes = b""
) -> subprocess.CompletedProcess[bytes]:
    env = {**server.env, "TRENT_URL": server.url, "TRENT_TOKEN": token}
    return subprocess.run([TRENT, *args], env=env, input=stdin, capture_output=True, timeout=60)


def test_keys_encrypt_and_decrypt_from_the_command_line(server: Server) -> None:
    root = server.token("--root")
    created = run(server, root, "keys", "create", "--description", "from the cli")
    assert created.returncode == 0, created.stderr
    metadata = json.loads(created.stdout)["KeyMetadata"]
    listed = run(server, root, "keys", "list")
    assert metadata["Arn"] in listed.stdout.decode().split()
    encrypted = run(
        server, root, "encrypt", metadata["KeyId"], "--context", "app=cli", stdin=b"over the pipe"
    )
    assert encrypted.returncode == 0, encrypted.stderr
    decrypted = run(server, root, "decrypt", "--context", "app=cli", stdin=encrypted.stdout)
    assert decrypted.stdout == b"over the pipe"
    refused = run(server, root, "decrypt", stdin=encrypted.stdout)
    assert refused.returncode != 0
    assert b"InvalidCiphertextException" in refused.stderr
    stranger = run(server, server.token("--user", "nobody"), "keys", "disable", metadata["KeyId"])
    assert stranger.returncode != 0 and b"AccessDeniedException" in stranger.stderr
    no_token = run(server, "", "keys", "list")
    assert no_token.returncode != 0 and b"TRENT_TOKEN" in no_token.stderr


def test_grants_from_the_command_line(server: Server) -> None:
    root = server.token("--root")
    alice = server.token("--user", "cli-alice")
    alice_arn = "arn:aws:iam::111122223333:user/cli-alice"
    key_id = json.loads(run(server, root, "keys", "create").stdout)["KeyMetadata"]["KeyId"]
    created = run(
        server,
        root,
        "grants",
        "create",
        key_id,
        "--grantee",
        alice_arn,
        "--operation",
        "Encrypt",
        "--operation",
        "Decrypt",
        "--context-subset",
        "app=cli",
    )
    assert created.returncode == 0, created.stderr
    grant = json.loads(created.stdout)
    encrypted = run(server, alice, "encrypt", key_id, "--context", "app=cli", stdin=b"granted")
    assert encrypted.returncode == 0, encrypted.stderr
    outside = run(server, alice, "encrypt", key_id, "--context", "app=other", stdin=b"x")
    assert outside.returncode != 0 and b"AccessDeniedException" in outside.stderr
    listed = json.loads(run(server, root, "grants", "list", key_id).stdout)["Grants"]
    assert [g["GrantId"] for g in listed] == [grant["GrantId"]]
    assert grant["GrantToken"] not in json.dumps(listed)
    revoked = run(server, root, "grants", "revoke", key_id, grant["GrantId"])
    assert revoked.returncode == 0 and grant["GrantId"].encode() in revoked.stdout
    again = run(server, alice, "encrypt", key_id, "--context", "app=cli", stdin=b"x")
    assert again.returncode != 0 and b"AccessDeniedException" in again.stderr
    retired = run(
        server, root, "grants", "retire", "--token", "-", stdin=grant["GrantToken"].encode()
    )
    assert retired.returncode != 0 and b"InvalidGrantTokenException" in retired.stderr
    bad = run(
        server, root, "grants", "create", key_id, "--grantee", alice_arn, "--operation", "Nope"
    )
    assert bad.returncode != 0
