"""Shared fixtures of the policy tests: accounts, principals, and a policy builder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from policies import Policy, PolicyKind, parse_policy

ACCOUNT = "111122223333"
EXTERNAL = "444455556666"
ROOT = f"arn:aws:iam::{ACCOUNT}:root"
ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"
BOB = f"arn:aws:iam::{ACCOUNT}:user/bob"
APP = f"arn:aws:iam::{ACCOUNT}:role/App"
KEY_ADMIN = f"arn:aws:iam::{ACCOUNT}:role/KeyAdmin"
CAROL = f"arn:aws:iam::{EXTERNAL}:user/carol"
KEY_ARN = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"

VECTORS = Path(__file__).resolve().parents[2] / "vectors"


def key_policy(*statements: dict[str, Any], version: str | None = "2012-10-17") -> Policy:
    return parse_policy(policy_text(*statements, version=version), PolicyKind.KEY)


def identity_policy(*statements: dict[str, Any]) -> Policy:
    return parse_policy(policy_text(*statements), PolicyKind.IDENTITY, source="identity")


def policy_text(*statements: dict[str, Any], version: str | None = "2012-10-17") -> str:
    document: dict[str, Any] = {}
    if version is not None:
        document["Version"] = version
    document["Statement"] = list(statements)
    return json.dumps(document, indent=2, ensure_ascii=False)


def statement(
    effect: str = "Allow",
    principal: str | list[str] | None = None,
    action: str | list[str] = "kms:Decrypt",
    resource: str = "*",
    **extra: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {"Effect": effect}
    if principal is not None:
        body["Principal"] = principal if principal == "*" else {"AWS": principal}
    body["Action"] = action
    body["Resource"] = resource
    body.update(extra)
    return body
