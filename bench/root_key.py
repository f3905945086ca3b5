"""Seal and unseal under each root key provider: ``.venv/bin/python -m bench.root_key``.

Prints microseconds per operation and operations per second for the software
(environment) root key and, where SoftHSM2 is installed, a root key in a
SoftHSM2 token made for the run in a temporary directory: what a request that
finds the material cache empty pays to unseal a key version, and what
CreateKey pays to seal one. Best of several rounds. SoftHSM is a software
token: a hardware token's figures are its own and usually slower.
"""

from __future__ import annotations

import argparse
import base64
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from app.crypto.root_key import EnvRootKeyProvider, RootKeyProvider

MATERIAL = os.urandom(32)
AAD = b"arn:aws:kms:us-east-1:111122223333:key/6f1c2f0e-8a5b-4c1d-9e2f-3a4b5c6d7e8f/1"
SOFTHSM_MODULES = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
)


def _microseconds(operation: Callable[[], object], seconds: float, rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        count, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds:
            operation()
            count += 1
        best = min(best, elapsed / count * 1e6)
    return best


def _softhsm_root_key(workdir: Path) -> RootKeyProvider | None:
    module = next((Path(p).resolve() for p in SOFTHSM_MODULES if Path(p).exists()), None)
    util = shutil.which("softhsm2-util")
    if module is None or util is None:
        return None
    from app.crypto.pkcs11_root_key import Pkcs11RootKeyProvider, TokenConfig

    (workdir / "tokens").mkdir()
    config = workdir / "softhsm2.conf"
    config.write_text(f"directories.tokendir = {workdir / 'tokens'}\nobjectstore.backend = file\n")
    os.environ["SOFTHSM2_CONF"] = str(config)
    pin = base64.b32encode(os.urandom(10)).decode()
    subprocess.run(
        [util, "--init-token", "--free", "--label", "bench", "--pin", pin, "--so-pin", pin],
        check=True,
        capture_output=True,
    )
    return Pkcs11RootKeyProvider.create(
        TokenConfig(module=module, token_label="bench", key_label="bench-root", pin=lambda: pin)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=0.5, help="per round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        providers: list[tuple[str, RootKeyProvider]] = [
            (
                "env (software)",
                EnvRootKeyProvider.from_base64(base64.b64encode(os.urandom(32)).decode()),
            )
        ]
        token = _softhsm_root_key(Path(workdir))
        if token is None:
            print("SoftHSM2 is not installed (apt-get install softhsm2): token row skipped")
        else:
            providers.append(("pkcs11 (SoftHSM2)", token))
        print(f"{'provider':<20} {'operation':<8} {'µs/op':>9} {'ops/s':>9}")
        for name, root in providers:
            blob = root.seal(MATERIAL, AAD)
            for operation, call in (
                ("seal", lambda r=root: r.seal(MATERIAL, AAD)),
                ("unseal", lambda r=root, b=blob: r.unseal(b, AAD)),
                ("derive", lambda r=root: r.derive(b"bench")),
            ):
                micro = _microseconds(call, args.seconds, args.rounds)
                print(f"{name:<20} {operation:<8} {micro:>9.1f} {1e6 / micro:>9.0f}")


if __name__ == "__main__":
    main()
