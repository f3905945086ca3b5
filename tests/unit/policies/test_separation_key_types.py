"""Separation of duties with the operations of HMAC and asymmetric keys:
Sign, Verify, GenerateMac, VerifyMac and GetPublicKey count as use."""

from __future__ import annotations

import pytest

from policies import (
    ADMINISTRATIVE_ACTIONS,
    READ_ONLY_ACTIONS,
    USAGE_ACTIONS,
    separation_of_duties_violations,
)
from tests.unit.policies.support import APP, KEY_ADMIN, ROOT, key_policy, statement

ROOT_STATEMENT = statement("Allow", ROOT, "kms:*", Sid="Root")
KEY_TYPE_USE = ["kms:Sign", "kms:Verify", "kms:GenerateMac", "kms:VerifyMac", "kms:GetPublicKey"]


@pytest.mark.parametrize("action", KEY_TYPE_USE)
def test_each_is_use_and_not_administration(action: str) -> None:
    assert action in USAGE_ACTIONS
    assert action not in ADMINISTRATIVE_ACTIONS and action not in READ_ONLY_ACTIONS


@pytest.mark.parametrize("action", KEY_TYPE_USE)
def test_an_administrator_who_may_also_do_it_breaks_separation(action: str) -> None:
    found = separation_of_duties_violations(
        key_policy(ROOT_STATEMENT, statement("Allow", KEY_ADMIN, ["kms:DisableKey", action]))
    )
    assert len(found) == 1 and action in found[0].message


def test_get_star_now_includes_a_use_for_administrators() -> None:
    assert separation_of_duties_violations(
        key_policy(ROOT_STATEMENT, statement("Allow", KEY_ADMIN, ["kms:PutKeyPolicy", "kms:Get*"]))
    )
    assert not separation_of_duties_violations(
        key_policy(
            ROOT_STATEMENT,
            statement("Allow", KEY_ADMIN, ["kms:PutKeyPolicy", "kms:GetKeyPolicy"]),
            statement("Allow", APP, [*KEY_TYPE_USE, "kms:DescribeKey"]),
        )
    )
