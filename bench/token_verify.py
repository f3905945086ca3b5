"""Microseconds per bearer-token verification for local-issuer tokens.

Run from the repository root::

    .venv/bin/python -m bench.token_verify [--iterations N]

For each algorithm the local issuer supports, this mints one token and times
``TokenVerifier.verify`` on it (the full path a request takes), next to a
bare ``jwt.decode`` with the same key for comparison, and ``mint``. Each figure
is the median of several rounds.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import jwt

from app.auth.jwt_verifier import TokenVerifier
from app.auth.local_issuer import LocalIssuer
from app.config import Settings
from app.crypto.issuer_keys import IssuerAlgorithm, create_issuer_key

ACCOUNT = "111122223333"
ROUNDS = 7


def _microseconds(action: Callable[[], object], iterations: int) -> float:
    for _ in range(min(iterations, 200)):
        action()
    samples = []
    for _ in range(ROUNDS):
        started = time.perf_counter_ns()
        for _ in range(iterations):
            action()
        samples.append((time.perf_counter_ns() - started) / iterations / 1000)
    return statistics.median(samples)


def _measure(
    algorithm: IssuerAlgorithm, iterations: int, root: Path
) -> tuple[float, float, float, float]:
    settings = Settings(data_dir=root / algorithm)
    create_issuer_key(settings.issuer_dir, algorithm)
    issuer = LocalIssuer.load(settings)
    verifier = TokenVerifier(settings, local_issuer=issuer)
    token = issuer.mint(ACCOUNT, user="alice", tags={"team": "blue", "env": "prod"})
    header = f"Bearer {token}"
    assert verifier.verify(header).name == "alice"

    def bare_decode() -> object:
        return jwt.decode(
            token, issuer.public_key, algorithms=[algorithm], audience=settings.jwt_audience
        )

    def cold() -> object:
        # Forget verified tokens first: the full signature and claim checks.
        verifier._verified.clear()
        return verifier.verify(header)

    verify_cold = _microseconds(cold, iterations)
    verify_cached = _microseconds(lambda: verifier.verify(header), iterations)
    decode = _microseconds(bare_decode, iterations)
    mint = _microseconds(lambda: issuer.mint(ACCOUNT, user="alice"), iterations)
    return verify_cold, verify_cached, decode, mint


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=2000, help="verifications per round")
    arguments = parser.parse_args()
    algorithms: tuple[IssuerAlgorithm, ...] = ("EdDSA", "ES256")
    with tempfile.TemporaryDirectory(prefix="trent-bench-") as directory:
        rows = [(a, *_measure(a, arguments.iterations, Path(directory))) for a in algorithms]
    print(f"token verification, median of {ROUNDS} rounds x {arguments.iterations} (µs per call)")
    print(f"{'alg':<7} {'cold':>9} {'cached':>9} {'jwt.decode':>11} {'overhead':>9} {'mint':>9}")
    for algorithm, cold, cached, decode, mint in rows:
        print(
            f"{algorithm:<7} {cold:>9.1f} {cached:>9.1f} {decode:>11.1f} "
            f"{cold - decode:>9.1f} {mint:>9.1f}"
        )


if __name__ == "__main__":
    main()
