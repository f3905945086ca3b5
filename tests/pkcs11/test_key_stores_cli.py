"""``trent key-stores`` and ``trent keys create --custom-key-store-id`` against a
real server whose custom key stores are SoftHSM tokens."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import TRENT, Server
from tests.pkcs11.conftest import STORE_PIN, STORE_TOKEN_LABEL, TOKEN_LABEL, SoftHsm
from tests.pkcs11.key_store_server import key_store_server, store_cluster_id

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(softhsm: SoftHsm, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with key_store_server(softhsm, tmp_path_factory.mktemp("key-stores-cli")) as running:
        yield running


def run(
    server: Server, token: str, *args: str, stdin: bytes = b"", **env: str
) -> subprocess.CompletedProcess[bytes]:
    full = {**server.env, "TRENT_URL": server.url, "TRENT_TOKEN": token, **env}
    return subprocess.run([TRENT, *args], env=full, input=stdin, capture_output=True, timeout=60)


def ok(result: subprocess.CompletedProcess[bytes]) -> str:
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout.decode()


def refused(result: subprocess.CompletedProcess[bytes], code: str) -> None:
    assert result.returncode != 0, result.stdout.decode()
    assert code in result.stderr.decode()


def test_clusters_lists_the_tokens_of_the_module_with_their_ids(server: Server) -> None:
    lines = ok(run(server, "", "key-stores", "clusters")).splitlines()
    assert lines[0].split()[:3] == ["CLUSTER", "ID", "LABEL"]
    rows = {line.split()[1]: line.split() for line in lines[1:]}
    assert {TOKEN_LABEL, STORE_TOKEN_LABEL} <= set(rows)
    for label, (cluster_id, _, serial, *_) in rows.items():
        # The documented derivation: `cluster-` + 11 base32 characters of
        # SHA-256(serial NUL label).
        digest = hashlib.sha256(f"{serial}\x00{label}".encode()).digest()
        assert cluster_id == "cluster-" + base64.b32encode(digest).decode().lower()[:11]
    without = run(server, "", "key-stores", "clusters", TRENT_PKCS11_MODULE="")
    refused(without, "TRENT_PKCS11_MODULE is not set")


def test_a_store_from_the_command_line(server: Server, tmp_path: Path) -> None:
    root = server.token("--root")
    cluster_id = store_cluster_id(server)
    pin_file = tmp_path / "store.pin"
    pin_file.write_text(STORE_PIN + "\n", encoding="utf-8")
    create = ("key-stores", "create", "--cluster-id", cluster_id)

    # A store with no keys is deleted at once; its name and token are free again.
    first = json.loads(
        ok(
            run(
                server,
                root,
                *create,
                "--name",
                "cli",
                "--password-file",
                "-",
                stdin=STORE_PIN.encode(),
            )
        )
    )["CustomKeyStoreId"]
    assert ok(run(server, root, "key-stores", "delete", first)) == f"deleted {first}\n"
    store_id = json.loads(
        ok(run(server, root, *create, "--name", "cli", "--password-file", str(pin_file)))
    )["CustomKeyStoreId"]
    assert store_id != first

    refused(
        run(server, root, *create, "--name", "cli-2", "--password-file", str(pin_file)),
        "CloudHsmClusterInUseException",
    )
    refused(
        run(server, root, *create, "--name", "empty", "--password-file", "-"),
        "the password file is empty",
    )
    listed = json.loads(ok(run(server, root, "key-stores", "list", "--name", "cli")))
    [entry] = listed["CustomKeyStores"]
    assert entry["CustomKeyStoreId"] == store_id and entry["CloudHsmClusterId"] == cluster_id
    assert entry["ConnectionState"] == "DISCONNECTED"
    refused(run(server, root, "key-stores", "list", "--name", "cli", "--id", store_id), "not both")

    refused(
        run(server, root, "keys", "create", "--custom-key-store-id", store_id),
        "CustomKeyStoreInvalidStateException",
    )
    assert (
        ok(run(server, root, "key-stores", "connect", store_id)) == "ConnectionState: CONNECTED\n"
    )
    created = run(server, root, "keys", "create", "--custom-key-store-id", store_id)
    metadata = json.loads(ok(created))["KeyMetadata"]
    assert metadata["Origin"] == "AWS_CLOUDHSM" and metadata["CustomKeyStoreId"] == store_id
    assert metadata["CloudHsmClusterId"] == cluster_id
    refused(
        run(server, root, "keys", "create", "--origin", "AWS_CLOUDHSM"),
        "--origin AWS_CLOUDHSM needs --custom-key-store-id",
    )
    refused(
        run(
            server,
            root,
            "keys",
            "create",
            "--origin",
            "EXTERNAL",
            "--custom-key-store-id",
            store_id,
        ),
        "makes a key of origin AWS_CLOUDHSM",
    )
    key_id = metadata["KeyId"]
    blob = ok(run(server, root, "encrypt", key_id, "--context", "app=cli", stdin=b"in the token"))
    opened = run(server, root, "decrypt", "--context", "app=cli", stdin=blob.encode())
    assert opened.returncode == 0 and opened.stdout == b"in the token"

    refused(
        run(server, root, "key-stores", "update", store_id, "--password-file", str(pin_file)),
        "CustomKeyStoreInvalidStateException",
    )
    refused(
        run(server, root, "key-stores", "delete", store_id), "CustomKeyStoreInvalidStateException"
    )
    assert ok(run(server, root, "key-stores", "disconnect", store_id)) == (
        f"disconnected {store_id}\n"
    )
    refused(run(server, root, "encrypt", key_id, stdin=b"x"), "KMSInvalidStateException")
    refused(run(server, root, "key-stores", "delete", store_id), "CustomKeyStoreHasCMKsException")

    # A wrong password: the store is FAILED, the command says why and fails.
    wrong = run(
        server,
        root,
        "key-stores",
        "update",
        store_id,
        "--password-file",
        "-",
        stdin=b"not-the-pin-1\n",
    )
    assert ok(wrong) == f"updated {store_id}\n"
    failed = run(server, root, "key-stores", "connect", store_id)
    assert failed.returncode != 0
    assert failed.stdout.decode().splitlines() == [
        "ConnectionState: FAILED",
        "ConnectionErrorCode: INVALID_CREDENTIALS",
    ]
    assert "refused the password" in failed.stderr.decode()
    refused(
        run(server, root, "key-stores", "connect", store_id), "CustomKeyStoreInvalidStateException"
    )
    refused(run(server, root, "key-stores", "update", store_id), "give --name")
    ok(run(server, root, "key-stores", "disconnect", store_id))
    renamed = run(
        server,
        root,
        "key-stores",
        "update",
        store_id,
        "--name",
        "cli-renamed",
        "--password-file",
        str(pin_file),
    )
    assert ok(renamed) == f"updated {store_id}\n"
    assert (
        ok(run(server, root, "key-stores", "connect", store_id)) == "ConnectionState: CONNECTED\n"
    )
    opened = run(server, root, "decrypt", "--context", "app=cli", stdin=blob.encode())
    assert opened.returncode == 0 and opened.stdout == b"in the token"
    [entry] = json.loads(ok(run(server, root, "key-stores", "list", "--id", store_id)))[
        "CustomKeyStores"
    ]
    assert entry["CustomKeyStoreName"] == "cli-renamed" and entry["ConnectionState"] == "CONNECTED"
    assert "ConnectionErrorCode" not in entry

    # No answer or log line repeats the PIN.
    assert STORE_PIN not in json.dumps(entry)
    log = (server.data_dir.parent / "server.log").read_text(errors="replace")
    assert STORE_PIN not in log
