"""The client commands of ``trent`` (aliases, rotation, key policies, tags,
identity policies, keys, whoami) against one HTTP server shared by the module:
the real application behind Werkzeug's server, the real REST client."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner
from werkzeug.serving import make_server

from app import create_app
from app.auth.local_issuer import LocalIssuer
from app.cli import main as trent
from tests.conftest import ACCOUNT, init_data_dir

ROOT_ARN = f"arn:aws:iam::{ACCOUNT}:root"
ALICE_ARN = f"arn:aws:iam::{ACCOUNT}:user/alice"
APP_ARN = f"arn:aws:iam::{ACCOUNT}:role/payments-app"


@dataclass(frozen=True)
class Server:
    url: str
    issuer: LocalIssuer

    def token(self, **principal: Any) -> str:
        return self.issuer.mint(ACCOUNT, **principal)


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    settings = init_data_dir(tmp_path_factory.mktemp("cli") / "var")
    httpd = make_server("127.0.0.1", 0, create_app(settings), threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield Server(f"http://127.0.0.1:{httpd.server_port}", LocalIssuer.load(settings))
    finally:
        httpd.shutdown()
        thread.join(5)


@pytest.fixture(scope="module")
def root(server: Server) -> str:
    return server.token(root=True)


def run(server: Server, token: str, *args: str) -> Result:
    env = {"TRENT_URL": server.url, "TRENT_TOKEN": token}
    result = CliRunner().invoke(trent, list(args), env=env)
    return Result(result.exit_code, result.stdout, result.stderr)


def new_key(server: Server, token: str) -> str:
    created = run(server, token, "keys", "create", "--description", "cli test")
    assert created.code == 0, created.err
    key_id: str = json.loads(created.out)["KeyMetadata"]["KeyId"]
    return key_id


def key_state(server: Server, token: str, key_id: str) -> str:
    described = run(server, token, "keys", "describe", key_id)
    assert described.code == 0, described.err
    state: str = json.loads(described.out)["KeyMetadata"]["KeyState"]
    return state


def write(path: Path, document: dict[str, Any]) -> str:
    path.write_text(json.dumps(document, indent=2))
    return str(path)


def allow(principal: str, actions: str | list[str], sid: str) -> dict[str, Any]:
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"AWS": principal},
        "Action": actions,
        "Resource": "*",
    }


def test_every_command_has_help_text() -> None:
    def walk(command: click.Command, path: str) -> Iterator[tuple[str, click.Command]]:
        yield path, command
        if isinstance(command, click.Group):
            for name, child in command.commands.items():
                yield from walk(child, f"{path} {name}")

    for path, command in walk(trent, "trent"):
        if not command.hidden:
            assert (command.help or "").strip(), f"`{path}` has no help text"


def test_keys_enable_disable_and_update_description_print_what_they_did(
    server: Server, root: str
) -> None:
    key_id = new_key(server, root)
    disabled = run(server, root, "keys", "disable", key_id)
    assert (disabled.code, disabled.out) == (0, f"disabled {key_id}\n")
    assert key_state(server, root, key_id) == "Disabled"
    enabled = run(server, root, "keys", "enable", key_id)
    assert (enabled.code, enabled.out) == (0, f"enabled {key_id}\n")
    assert key_state(server, root, key_id) == "Enabled"
    updated = run(server, root, "keys", "update-description", key_id, "renamed")
    assert updated.code == 0 and key_id in updated.out
    described = json.loads(run(server, root, "keys", "describe", key_id).out)
    assert described["KeyMetadata"]["Description"] == "renamed"
    missing = run(server, root, "keys", "enable", "alias/none-such")
    assert missing.code == 1 and "NotFoundException" in missing.err and missing.out == ""


def test_aliases_create_list_update_and_delete(server: Server, root: str) -> None:
    first, second = new_key(server, root), new_key(server, root)
    created = run(server, root, "aliases", "create", "alias/cli-payments", first)
    assert created.code == 0 and "alias/cli-payments" in created.out
    listed = run(server, root, "aliases", "list")
    assert listed.code == 0
    (line,) = [entry for entry in listed.out.splitlines() if entry.startswith("alias/cli-pay")]
    assert line.split()[:2] == ["alias/cli-payments", first]
    by_key = run(server, root, "aliases", "list", "--key", second)
    assert by_key.code == 0 and by_key.out == ""
    updated = run(server, root, "aliases", "update", "alias/cli-payments", second)
    assert updated.code == 0 and second in updated.out
    by_key = run(server, root, "aliases", "list", "--key", second)
    assert by_key.out.split()[:2] == ["alias/cli-payments", second]
    described = json.loads(run(server, root, "keys", "describe", "alias/cli-payments").out)
    assert described["KeyMetadata"]["KeyId"] == second
    again = run(server, root, "aliases", "create", "alias/cli-payments", first)
    assert again.code == 1 and "AlreadyExistsException" in again.err
    deleted = run(server, root, "aliases", "delete", "alias/cli-payments")
    assert (deleted.code, deleted.out) == (0, "deleted alias/cli-payments\n")
    assert "alias/cli-payments" not in run(server, root, "aliases", "list").out
    refused = run(server, root, "aliases", "create", "no-prefix", first)
    assert refused.code == 1 and "ValidationException" in refused.err


def test_rotation_status_enable_rotate_list_and_disable(server: Server, root: str) -> None:
    key_id = new_key(server, root)
    status = run(server, root, "rotation", "status", key_id)
    assert status.code == 0 and json.loads(status.out)["KeyRotationEnabled"] is False
    enabled = run(server, root, "rotation", "enable", key_id, "--period-days", "180")
    assert enabled.code == 0 and "every 180 days" in enabled.out
    status_on = json.loads(run(server, root, "rotation", "status", key_id).out)
    assert status_on["KeyRotationEnabled"] is True and status_on["RotationPeriodInDays"] == 180
    assert run(server, root, "rotation", "list", key_id).out == ""
    rotated = run(server, root, "rotation", "rotate-now", key_id)
    assert rotated.code == 0 and key_id in rotated.out
    rotations = run(server, root, "rotation", "list", key_id).out.splitlines()
    assert len(rotations) == 1 and "ON_DEMAND" in rotations[0] and "CURRENT" in rotations[0]
    every = run(server, root, "rotation", "list", key_id, "--all-material").out.splitlines()
    assert len(every) == 2 and "NON_CURRENT" in every[0]
    disabled = run(server, root, "rotation", "disable", key_id)
    assert disabled.code == 0 and "off" in disabled.out
    assert json.loads(run(server, root, "rotation", "status", key_id).out) == {
        "KeyId": status_on["KeyId"],
        "KeyRotationEnabled": False,
    }
    too_short = run(server, root, "rotation", "enable", key_id, "--period-days", "30")
    assert too_short.code == 2 and "90<=x<=2560" in too_short.err


def test_key_policy_get_list_and_put_after_the_lint(
    server: Server, root: str, tmp_path: Path
) -> None:
    key_id = new_key(server, root)
    assert run(server, root, "key-policy", "list", key_id).out == "default\n"
    original = run(server, root, "key-policy", "get", key_id)
    assert original.code == 0 and json.loads(original.out)["Statement"]

    good = write(
        tmp_path / "good.json",
        {
            "Version": "2012-10-17",
            "Statement": [
                allow(ROOT_ARN, "kms:*", "Root"),
                allow(APP_ARN, ["kms:Encrypt", "kms:Decrypt"], "Use"),
            ],
        },
    )
    put = run(server, root, "key-policy", "put", key_id, good)
    assert put.code == 0, put.err
    assert put.out == f"replaced the policy of {key_id} with {good}\n"
    assert f"{good}: no findings" in put.err
    stored = json.loads(run(server, root, "key-policy", "get", key_id).out)
    assert [s["Sid"] for s in stored["Statement"]] == ["Root", "Use"]

    # One principal both manages and uses the key: the lint's error stops the
    # command before any request, and the stored policy stays as it was.
    mixed = write(
        tmp_path / "mixed.json",
        {
            "Version": "2012-10-17",
            "Statement": [
                allow(ROOT_ARN, "kms:*", "Root"),
                allow(APP_ARN, ["kms:DisableKey", "kms:Decrypt"], "Both"),
            ],
        },
    )
    refused = run(server, root, "key-policy", "put", key_id, mixed)
    assert refused.code == 1 and refused.out == ""
    assert "error: separation-of-duties" in refused.err and "was not sent" in refused.err
    assert json.loads(run(server, root, "key-policy", "get", key_id).out) == stored
    # Sent anyway, the server applies its own check, which the caller may bypass.
    sent = run(server, root, "key-policy", "put", key_id, mixed, "--ignore-lint-errors")
    assert sent.code == 1 and "MalformedPolicyDocumentException" in sent.err
    bypassed = run(
        server,
        root,
        "key-policy",
        "put",
        key_id,
        mixed,
        "--ignore-lint-errors",
        "--bypass-separation-of-duties-check",
    )
    assert bypassed.code == 0, bypassed.err
    assert [
        s["Sid"]
        for s in json.loads(run(server, root, "key-policy", "get", key_id).out)["Statement"]
    ] == ["Root", "Both"]

    invalid = tmp_path / "invalid.json"
    invalid.write_text('{"Version": "2012-10-17", "Statement": []}')
    broken = run(server, root, "key-policy", "put", key_id, str(invalid))
    assert broken.code == 1 and "empty-statement" in broken.err
    absent = run(server, root, "key-policy", "put", key_id, str(tmp_path / "absent.json"))
    assert absent.code == 1 and "No such file" in absent.err


def test_tags_tag_list_and_untag(server: Server, root: str) -> None:
    key_id = new_key(server, root)
    tagged = run(server, root, "tags", "tag", key_id, "team=payments", "env=a=b")
    assert tagged.code == 0 and "team, env" in tagged.out
    assert sorted(run(server, root, "tags", "list", key_id).out.splitlines()) == [
        "env=a=b",
        "team=payments",
    ]
    changed = run(server, root, "tags", "tag", key_id, "env=prod")
    assert changed.code == 0
    untagged = run(server, root, "tags", "untag", key_id, "team", "absent")
    assert untagged.code == 0 and "team" in untagged.out
    assert run(server, root, "tags", "list", key_id).out == "env=prod\n"
    bad = run(server, root, "tags", "tag", key_id, "no-equals")
    assert bad.code == 2 and "KEY=VALUE" in bad.err
    assert run(server, root, "tags", "list", key_id).out == "env=prod\n"
    reserved = run(server, root, "tags", "tag", key_id, "aws:x=1")
    assert reserved.code == 1 and "TagException" in reserved.err


def test_identity_policies_put_list_get_and_delete(
    server: Server, root: str, tmp_path: Path
) -> None:
    document = write(
        tmp_path / "list-keys.json",
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "kms:ListKeys", "Resource": "*"}],
        },
    )
    alice = server.token(user="alice")
    assert run(server, alice, "keys", "list").code == 1
    put = run(server, root, "identity-policy", "put", ALICE_ARN, "list-keys", document)
    assert put.code == 0, put.err
    assert put.out == f"attached list-keys to {ALICE_ARN}\n"
    assert run(server, alice, "keys", "list").code == 0
    assert run(server, root, "identity-policy", "list", ALICE_ARN).out == "list-keys\n"
    got = run(server, root, "identity-policy", "get", ALICE_ARN, "list-keys")
    assert json.loads(got.out)["Statement"][0]["Action"] == "kms:ListKeys"
    deleted = run(server, root, "identity-policy", "delete", ALICE_ARN, "list-keys")
    assert deleted.code == 0 and "detached list-keys" in deleted.out
    assert run(server, root, "identity-policy", "list", ALICE_ARN).out == ""
    missing = run(server, root, "identity-policy", "get", ALICE_ARN, "list-keys")
    assert missing.code == 1 and "NotFoundException" in missing.err
    invalid = tmp_path / "invalid.json"
    invalid.write_text('{"Version": "2012-10-17"}')
    broken = run(server, root, "identity-policy", "put", ALICE_ARN, "p", str(invalid))
    assert broken.code == 1 and "was not sent" in broken.err
    assert run(server, root, "identity-policy", "list", ALICE_ARN).out == ""


def test_whoami_names_the_tokens_principal(server: Server) -> None:
    answer = run(server, server.token(role="payments-app"), "whoami")
    assert answer.code == 0 and json.loads(answer.out)["Arn"] == APP_ARN
    refused = run(server, "not-a-token", "whoami")
    assert refused.code == 1 and "UnauthenticatedException" in refused.err
