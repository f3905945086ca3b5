"""Sign, Verify and HMAC per key spec: ``.venv/bin/python -m bench.signing``.

Prints, for every key spec and the algorithms it offers, microseconds per
operation and operations per second on one core, through the functions the
service calls (:mod:`app.crypto.signatures`, :mod:`app.crypto.hmac_keys`).
``Sign``/``Verify`` are the warm path: the key version's material is in the
material cache, and its key objects were made on first use. ``Sign (cold)``
is a request that finds the cache empty: unseal the version under the root
key, parse the DER private key, sign. Best of several rounds, so noise from
other processes inflates nothing. Messages are 1 KiB, RAW.
"""

from __future__ import annotations

import argparse
import base64
import os
import time
from collections.abc import Callable

from app.crypto.hmac_keys import generate_hmac_material, generate_mac, verify_mac
from app.crypto.private_keys import PrivateKeyMaterial, generate_private_key
from app.crypto.root_key import EnvRootKeyProvider
from app.crypto.sealed import SealedMaterial
from app.crypto.signatures import sign, verify
from app.crypto.typed_material import seal_any, unseal_any
from app.keys.specs import GENERATE_VERIFY_MAC, KEY_SPECS, SIGN_VERIFY, Family

MESSAGE = os.urandom(1024)
ARN = "arn:aws:kms:us-east-1:111122223333:key/6f1c2f0e-8a5b-4c1d-9e2f-3a4b5c6d7e8f"
ROOT = EnvRootKeyProvider.from_base64(base64.b64encode(os.urandom(32)).decode())


def _cold_sign(sealed: SealedMaterial, spec: str, algorithm: str) -> bytes:
    material = unseal_any(ROOT, sealed, key_arn=ARN, version=1, key_spec=spec)
    assert isinstance(material, PrivateKeyMaterial)
    return sign(material, key_spec=spec, algorithm=algorithm, message=MESSAGE)


def _microseconds(operation: Callable[[], object], seconds: float, rounds: int) -> float:
    """Best per-call time over ``rounds`` rounds of about ``seconds`` each."""
    operation()
    calls = 1
    while True:  # size a round to the time asked for
        started = time.perf_counter()
        for _ in range(calls):
            operation()
        elapsed = time.perf_counter() - started
        if elapsed >= seconds / 4 or calls >= 1_000_000:
            break
        calls *= 2
    per_round = max(1, int(calls * seconds / max(elapsed, 1e-9)))
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(per_round):
            operation()
        best = min(best, (time.perf_counter() - started) / per_round)
    return best * 1e6


def rows(seconds: float, rounds: int, only: set[str] | None) -> list[tuple[str, str, str, float]]:
    results = []
    for name, spec in KEY_SPECS.items():
        if only and name not in only:
            continue
        if spec.family is Family.HMAC:
            hmac_key = generate_hmac_material(name)
            for algorithm in spec.algorithms(GENERATE_VERIFY_MAC):
                mac = generate_mac(hmac_key, key_spec=name, algorithm=algorithm, message=MESSAGE)
                results.append(
                    (
                        name,
                        algorithm,
                        "GenerateMac",
                        _microseconds(
                            lambda k=hmac_key, n=name, a=algorithm: generate_mac(
                                k, key_spec=n, algorithm=a, message=MESSAGE
                            ),
                            seconds,
                            rounds,
                        ),
                    )
                )
                results.append(
                    (
                        name,
                        algorithm,
                        "VerifyMac",
                        _microseconds(
                            lambda k=hmac_key, n=name, a=algorithm, m=mac: verify_mac(
                                k, key_spec=n, algorithm=a, message=MESSAGE, mac=m
                            ),
                            seconds,
                            rounds,
                        ),
                    )
                )
        if not spec.asymmetric:
            continue
        private = generate_private_key(name)
        sealed = seal_any(ROOT, private, key_arn=ARN, version=1, key_spec=name)
        first = spec.algorithms(SIGN_VERIFY)[0]
        results.append(
            (
                name,
                first,
                "Sign (cold)",
                _microseconds(
                    lambda s=sealed, n=name, a=first: _cold_sign(s, n, a), seconds, rounds
                ),
            )
        )
        for algorithm in spec.algorithms(SIGN_VERIFY):
            signature = sign(private, key_spec=name, algorithm=algorithm, message=MESSAGE)
            results.append(
                (
                    name,
                    algorithm,
                    "Sign",
                    _microseconds(
                        lambda k=private, n=name, a=algorithm: sign(
                            k, key_spec=n, algorithm=a, message=MESSAGE
                        ),
                        seconds,
                        rounds,
                    ),
                )
            )
            results.append(
                (
                    name,
                    algorithm,
                    "Verify",
                    _microseconds(
                        lambda k=private, n=name, a=algorithm, s=signature: verify(
                            k, key_spec=n, algorithm=a, message=MESSAGE, signature=s
                        ),
                        seconds,
                        rounds,
                    ),
                )
            )
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.signing", description=__doc__)
    parser.add_argument("--seconds", type=float, default=0.3, help="length of one round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per figure (best kept)")
    parser.add_argument("--spec", action="append", help="only this key spec (repeat)")
    args = parser.parse_args(argv)
    results = rows(args.seconds, args.rounds, set(args.spec) if args.spec else None)
    print(f"{'key spec':<16} {'algorithm':<26} {'operation':<12} {'us/op':>9} {'ops/s':>9}")
    print(f"{'-' * 16} {'-' * 26} {'-' * 12} {'-' * 9} {'-' * 9}")
    for spec, algorithm, operation, micros in results:
        print(f"{spec:<16} {algorithm:<26} {operation:<12} {micros:>9.1f} {1e6 / micros:>9.0f}")


if __name__ == "__main__":
    main()
