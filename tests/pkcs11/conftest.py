"""A SoftHSM2 token for the PKCS#11 tests, made once per test session.

SoftHSM reads its configuration when the module is first loaded, so the
configuration and the token are set up before any test loads it; each test
uses root keys under labels of its own on the one token. Where SoftHSM2 is
not installed the tests skip with that reason.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from app.cli import main
from app.config import Settings, load_settings

MODULE_CANDIDATES = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
)
TOKEN_LABEL = "trent-test"
PIN = "4321-test-pin"
#: A second token, for custom key stores (its PIN is a KeyStorePassword: 7-32 characters).
STORE_TOKEN_LABEL = "trent-key-store"
STORE_PIN = "store-pin-2468"


@dataclass(frozen=True)
class SoftHsm:
    module: Path
    config: Path
    token_dir: Path

    def environment(self, data_dir: Path, key_label: str) -> dict[str, str]:
        """``TRENT_*`` variables for a data directory whose root key is in the token."""
        pin_file = data_dir.parent / f"{key_label}.pin"
        if not pin_file.exists():
            data_dir.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(pin_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.write(fd, PIN.encode() + b"\n")
            os.close(fd)
        return {
            "TRENT_DATA_DIR": str(data_dir),
            "TRENT_SCHEDULER_INTERVAL": "0",
            "TRENT_ROOT_KEY_PROVIDER": "pkcs11",
            "TRENT_PKCS11_MODULE": str(self.module),
            "TRENT_PKCS11_TOKEN_LABEL": TOKEN_LABEL,
            "TRENT_PKCS11_PIN_FILE": str(pin_file),
            "TRENT_PKCS11_KEY_LABEL": key_label,
        }

    def settings(self, data_dir: Path, key_label: str) -> Settings:
        return load_settings(self.environment(data_dir, key_label))


@pytest.fixture(scope="session")
def softhsm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SoftHsm]:
    module = next((Path(p).resolve() for p in MODULE_CANDIDATES if Path(p).exists()), None)
    util = shutil.which("softhsm2-util")
    if module is None or util is None:
        pytest.skip("SoftHSM2 is not installed (Debian: apt-get install softhsm2)")
    base = tmp_path_factory.mktemp("softhsm")
    token_dir = base / "tokens"
    token_dir.mkdir()
    config = base / "softhsm2.conf"
    config.write_text(
        f"directories.tokendir = {token_dir}\nobjectstore.backend = file\nlog.level = ERROR\n",
        encoding="utf-8",
    )
    previous = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(config)
    for label, pin in ((TOKEN_LABEL, PIN), (STORE_TOKEN_LABEL, STORE_PIN)):
        subprocess.run(
            [util, "--init-token", "--free", "--label", label, "--pin", pin, "--so-pin", "8765"],
            check=True,
            capture_output=True,
        )
    yield SoftHsm(module=module, config=config, token_dir=token_dir)
    if previous is None:
        os.environ.pop("SOFTHSM2_CONF", None)
    else:
        os.environ["SOFTHSM2_CONF"] = previous


@pytest.fixture
def key_label() -> str:
    return f"root-{uuid.uuid4().hex[:12]}"


@contextmanager
def token_removed(softhsm: SoftHsm) -> Iterator[None]:
    """While inside, SoftHSM's token directory is gone, as a token pulled out."""
    away = softhsm.token_dir.with_name("tokens-away")
    softhsm.token_dir.rename(away)
    try:
        yield
    finally:
        away.rename(softhsm.token_dir)


def init_token_data_dir(softhsm: SoftHsm, data_dir: Path, key_label: str) -> Settings:
    """`trent init --create-token-key` for a data directory whose root key is in the token."""
    env = softhsm.environment(data_dir, key_label)
    result = CliRunner().invoke(main, ["init", "--create-token-key"], env=env)
    assert result.exit_code == 0, result.output
    assert "created root key" in result.output and "non-extractable" in result.output
    return load_settings(env)


@pytest.fixture
def token_settings(softhsm: SoftHsm, tmp_path: Path, key_label: str) -> Settings:
    return init_token_data_dir(softhsm, tmp_path / "var", key_label)
