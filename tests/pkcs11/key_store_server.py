"""A real ``trent serve`` whose custom key stores are tokens of SoftHSM.

The root key is a file key (custom key stores need only ``TRENT_PKCS11_MODULE``,
not a token root key), and the server's environment carries
``SOFTHSM2_CONF`` so that its workers see the session's tokens.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.e2e.conftest import TRENT, Server, clean_env, serving
from tests.pkcs11.conftest import STORE_TOKEN_LABEL, SoftHsm


@contextmanager
def key_store_server(softhsm: SoftHsm, base: Path) -> Iterator[Server]:
    data_dir = base / "var"
    env = clean_env(
        TRENT_DATA_DIR=str(data_dir),
        TRENT_SCHEDULER_INTERVAL="0",
        TRENT_PKCS11_MODULE=str(softhsm.module),
        SOFTHSM2_CONF=str(softhsm.config),
    )
    subprocess.run([TRENT, "init"], env=env, check=True, capture_output=True)
    with serving(env, data_dir) as server:
        yield server


def store_cluster_id(server: Server) -> str:
    """The cluster ID of the store token, as ``trent key-stores clusters`` lists it."""
    listed = subprocess.run(
        [TRENT, "key-stores", "clusters"],
        env=server.env,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    for line in listed.stdout.splitlines():
        fields = line.split()
        if len(fields) > 1 and fields[1] == STORE_TOKEN_LABEL:
            return fields[0]
    raise AssertionError(f"no {STORE_TOKEN_LABEL} token in:\n{listed.stdout}")
