"""Key-access decisions per second on one core: ``python -m bench.policy_eval``.

Policies are parsed once (as the service caches them). Two columns per scenario:
the decision alone on a prepared request, and building the request plus deciding
(what the service pays per call).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from policies import (
    ContextValue,
    Decision,
    Policy,
    PolicyKind,
    Request,
    administrators_users_policy,
    decide_key_access,
    default_key_policy,
    parse_policy,
)

ACCOUNT = "111122223333"
KEY_ARN = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"
BOB = f"arn:aws:iam::{ACCOUNT}:user/bob"
APP = f"arn:aws:iam::{ACCOUNT}:role/App"
KEY_ADMIN = f"arn:aws:iam::{ACCOUNT}:role/KeyAdmin"
CONTEXT: dict[str, ContextValue] = {
    "kms:EncryptionContext:tenant": "t-1",
    "aws:SecureTransport": True,
}
ALICE_IDENTITY = (
    '{"Version": "2012-10-17", "Statement": '
    '{"Effect": "Allow", "Action": ["kms:Encrypt", "kms:Decrypt"], "Resource": "*"}}'
)


@dataclass(frozen=True)
class Scenario:
    name: str
    key_policy: Policy
    identity_policies: list[Policy]
    principal: str
    action: str
    expected: Decision

    def request(self) -> Request:
        return Request(self.principal, self.action, KEY_ARN, context=CONTEXT)

    def decide(self, request: Request) -> Decision:
        return decide_key_access(self.key_policy, self.identity_policies, request, ACCOUNT).decision


def scenarios() -> list[Scenario]:
    default = parse_policy(default_key_policy("aws", ACCOUNT))
    split = parse_policy(administrators_users_policy("aws", ACCOUNT, [KEY_ADMIN], [APP]))
    alice_policy = parse_policy(ALICE_IDENTITY, PolicyKind.IDENTITY, source="alice")
    return [
        Scenario("default policy, allowed", default, [alice_policy], ALICE, "kms:Encrypt",
                 Decision.ALLOWED),
        Scenario("default policy, denied", default, [], BOB, "kms:Encrypt",
                 Decision.IMPLICIT_DENY),
        Scenario("administrators/users, allowed", split, [], APP, "kms:Encrypt",
                 Decision.ALLOWED),
        Scenario("administrators/users, denied", split, [], KEY_ADMIN, "kms:Decrypt",
                 Decision.IMPLICIT_DENY),
    ]  # fmt: skip


def rate(operation: Callable[[], object], seconds: float) -> float:
    """Calls per second of ``operation``, measured for about ``seconds``."""
    batch = 1_000
    calls = 0
    started = time.perf_counter()
    deadline = started + seconds
    while True:
        for _ in range(batch):
            operation()
        calls += batch
        now = time.perf_counter()
        if now >= deadline:
            return calls / (now - started)


def _request_and_decide(scenario: Scenario) -> Decision:
    return scenario.decide(scenario.request())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="time per measurement")
    arguments = parser.parse_args(argv)
    print(f"{'scenario':<34}{'decision only':>16}{'request + decision':>22}")
    for scenario in scenarios():
        prepared = scenario.request()
        outcome = scenario.decide(prepared)
        if outcome is not scenario.expected:
            raise SystemExit(f"{scenario.name}: expected {scenario.expected}, got {outcome}")
        decision_rate = rate(partial(scenario.decide, prepared), arguments.seconds)
        full_rate = rate(partial(_request_and_decide, scenario), arguments.seconds)
        print(f"{scenario.name:<34}{decision_rate:>14,.0f}/s{full_rate:>20,.0f}/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
