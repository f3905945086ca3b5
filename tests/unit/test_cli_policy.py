"""``trent policy``: click commands with the options, output and exit codes of
``python -m policies`` (both run policies.commands), and shell completion."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from app.cli import main as trent
from policies.cli import main as python_m_policies
from tests.unit.policies.support import (
    ALICE,
    APP,
    KEY_ARN,
    ROOT,
    VECTORS,
    policy_text,
    statement,
)

KEY_POLICY = policy_text(
    statement("Allow", ROOT, "kms:*", Sid="Root"),
    statement("Allow", APP, ["kms:Encrypt", "kms:Decrypt"], Sid="Use"),
)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    paths = {
        "clean": KEY_POLICY,
        "risky": policy_text(statement("Allow", ROOT, "kms:*"), statement("Allow", APP, "kms:*")),
        "invalid": '{"Statement": []}',
        "identity": policy_text(statement(action="kms:ListKeys")),
    }
    for name, text in paths.items():
        (tmp_path / f"{name}.json").write_text(text)
    return {name: str(tmp_path / f"{name}.json") for name in paths}


def both(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[tuple[int, str, str], ...]:
    """Run ``args`` through ``trent policy`` and ``python -m policies``."""
    result = CliRunner().invoke(trent, ["policy", *args])
    clicked = (result.exit_code, result.stdout, result.stderr)
    status = python_m_policies(args)
    captured = capsys.readouterr()
    return clicked, (status, captured.out, captured.err)


def test_validate_is_the_same_under_both_commands(
    files: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    good = both(["validate", files["clean"]], capsys)
    assert good[0] == good[1] and good[0][0] == 0 and "valid" in good[0][1]
    bad = both(["validate", files["clean"], files["invalid"]], capsys)
    assert bad[0] == bad[1] and bad[0][0] == 1
    assert f"{files['invalid']}:1:15: empty-statement:" in bad[0][2]
    missing = both(["validate", files["clean"] + ".absent"], capsys)
    assert missing[0] == missing[1] and missing[0][0] == 1


def test_lint_is_the_same_under_both_commands(
    files: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    clean = both(["lint", files["clean"]], capsys)
    assert clean[0] == clean[1] == (0, f"{files['clean']}: no findings\n", "")
    risky = both(["lint", files["risky"]], capsys)
    assert risky[0] == risky[1] and risky[0][0] == 1
    assert "error: separation-of-duties" in risky[0][1]
    identity = both(["lint", "--identity", files["identity"]], capsys)
    assert identity[0] == identity[1] and identity[0][0] == 0


def test_simulate_is_the_same_under_both_commands(
    files: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    args = [
        "simulate", "--policy", files["clean"], "--identity-policy", files["identity"],
        "--principal", ALICE, "--action", "kms:Decrypt", "--action", "kms:ListKeys",
        "--resource", KEY_ARN, "--context", "aws:TagKeys=a", "--context", "aws:TagKeys=b",
        "--principal-tag", "team=blue",
    ]  # fmt: skip
    clicked, parsed = both(args, capsys)
    assert clicked == parsed and clicked[0] == 0
    document = json.loads(clicked[1])
    assert document["Context"]["aws:TagKeys"] == ["a", "b"]
    bad = both([*args[:-2], "--context", "no-equals-sign"], capsys)
    assert bad[0] == bad[1] and bad[0][0] == 1 and "KEY=VALUE" in bad[0][2]


def test_simulate_summary_and_warnings_are_the_same_under_both_commands(
    files: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    args = [
        "simulate", "--policy", files["clean"], "--principal", APP, "--resource", KEY_ARN,
        "--action", "kms:Encrypt", "--action", "kms:Decryptt", "--context", "tenant=t-1",
    ]  # fmt: skip
    clicked, parsed = both([*args, "--summary"], capsys)
    assert clicked == parsed and clicked[0] == 0
    encrypt, decryptt = clicked[1].splitlines()
    assert encrypt.split()[:3] == ["kms:Encrypt", "allowed", "keyPolicy:"]
    assert "key-policy statement 'Use'" in encrypt
    assert decryptt.split()[:2] == ["kms:Decryptt", "implicitDeny"]
    warnings = clicked[2].splitlines()
    assert len(warnings) == 2 and all(line.startswith("warning: ") for line in warnings)
    assert "did you mean kms:Decrypt?" in warnings[0]
    assert "kms:EncryptionContext:tenant" in warnings[1]
    # Without --summary: the same warnings on stderr and in the JSON.
    full = both(args, capsys)
    assert full[0] == full[1] and full[0][2] == clicked[2]
    assert [f"warning: {w}" for w in json.loads(full[0][1])["Warnings"]] == warnings


def test_test_is_the_same_under_both_commands(capsys: pytest.CaptureFixture[str]) -> None:
    files = sorted(str(path) for path in (VECTORS / "policy_tests").glob("*.json"))
    clicked, parsed = both(["test", *files], capsys)
    assert clicked == parsed and clicked[0] == 0
    assert clicked[1].rstrip().endswith(" passed, 0 failed")


def test_usage_errors_exit_with_2_and_name_the_problem() -> None:
    runner = CliRunner()
    assert runner.invoke(trent, ["policy", "frobnicate"]).exit_code == 2
    missing = runner.invoke(trent, ["policy", "simulate", "--action", "kms:Decrypt"])
    assert missing.exit_code == 2 and "--principal" in missing.stderr
    assert runner.invoke(trent, ["policy", "validate"]).exit_code == 2


@pytest.mark.parametrize(
    ("words", "expected"),
    [("trent pol", "policy"), ("trent policy si", "simulate"), ("trent key-po", "key-policy")],
)
def test_shell_completion_covers_the_policy_commands(words: str, expected: str) -> None:
    env = {
        "_TRENT_COMPLETE": "bash_complete",
        "COMP_WORDS": words,
        "COMP_CWORD": str(len(words.split()) - 1),
    }
    result = CliRunner().invoke(trent, [], env=env, prog_name="trent")
    assert result.exit_code == 0
    assert f"plain,{expected}" in result.stdout.splitlines()
