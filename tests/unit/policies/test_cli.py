"""Policy test files and the command line (validate, lint, simulate, test)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from policies import Decision, TestFileError, run_test_file
from policies.cli import main
from tests.unit.policies.support import ALICE, APP, KEY_ARN, ROOT, VECTORS, policy_text, statement

KEY_POLICY = policy_text(
    statement("Allow", ROOT, "kms:*", Sid="Root"),
    statement("Allow", APP, ["kms:Encrypt", "kms:Decrypt"], Sid="Use"),
)


def write_suite(folder: Path, cases: list[dict[str, Any]], **extra: Any) -> Path:
    (folder / "key.json").write_text(KEY_POLICY)
    document = {"policy": "key.json", "keyArn": KEY_ARN, "cases": cases, **extra}
    path = folder / "suite.json"
    path.write_text(json.dumps(document))
    return path


def case(principal: str, action: str, expect: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": f"{principal} {action}",
        "principal": principal,
        "action": action,
        "expect": expect,
        **extra,
    }


def test_passing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_suite(
        tmp_path,
        [
            case(APP, "kms:Decrypt", "allowed"),
            case(APP, "kms:PutKeyPolicy", "implicitDeny"),
            case(ALICE, "kms:Decrypt", "allowed"),
            case(ALICE, "kms:ListKeys", "implicitDeny"),
        ],
        identityPolicies={ALICE: [{"Version": "2012-10-17", "Statement": statement()}]},
    )
    report = run_test_file(path)
    assert report.passed and len(report.results) == 4
    assert main(["test", str(path)]) == 0
    output = capsys.readouterr().out
    assert f"PASS {path}: {APP} kms:Decrypt" in output
    assert "4 passed, 0 failed" in output


def test_failing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_suite(tmp_path, [case(APP, "kms:PutKeyPolicy", "allowed")])
    report = run_test_file(path)
    (failure,) = report.failures
    assert (failure.expected, failure.actual) == (Decision.ALLOWED, Decision.IMPLICIT_DENY)
    assert main(["test", str(path)]) == 1
    assert "FAIL" in capsys.readouterr().out


def test_case_errors_fail_the_case(tmp_path: Path) -> None:
    path = write_suite(tmp_path, [case("not-an-arn", "kms:Decrypt", "implicitDeny")])
    (result,) = run_test_file(path).results
    assert not result.passed and result.error is not None


def test_role_sessions_use_their_roles_identity_policies(tmp_path: Path) -> None:
    session = APP.replace(":iam::", ":sts::").replace(":role/", ":assumed-role/") + "/s1"
    path = write_suite(
        tmp_path,
        [case(session, "kms:ListKeys", "allowed")],
        identityPolicies={
            APP: {"Version": "2012-10-17", "Statement": statement(action="kms:ListKeys")}
        },
    )
    assert run_test_file(path).passed


def test_typed_context_values(tmp_path: Path) -> None:
    condition = {
        "IpAddress": {"aws:SourceIp": "10.0.0.0/8"},
        "DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"},
        "BinaryEquals": {"test:Blob": "QUJD"},
    }
    (tmp_path / "key.json").write_text(
        policy_text(statement("Allow", APP, "kms:Decrypt", Condition=condition))
    )
    context = {
        "aws:SourceIp": {"$ip": "10.0.0.1"},
        "aws:CurrentTime": {"$date": "2026-01-01T00:00:00Z"},
        "test:Blob": {"$base64": "QUJD"},
    }
    document = {
        "policy": "key.json",
        "keyArn": KEY_ARN,
        "cases": [case(APP, "kms:Decrypt", "allowed", context=context)],
    }
    (tmp_path / "suite.json").write_text(json.dumps(document))
    assert run_test_file(tmp_path / "suite.json").passed


@pytest.mark.parametrize(
    "document",
    [
        "not json",
        json.dumps([]),
        json.dumps({"policy": "missing.json", "keyArn": KEY_ARN, "cases": [{}]}),
        json.dumps({"policy": {"Statement": []}, "keyArn": KEY_ARN, "cases": [{}]}),
        json.dumps(
            {"policy": {"Version": "2012-10-17", "Statement": statement("Allow", "*")}, "cases": []}
        ),
        '{"keyArn": "a", "keyArn": "b"}',
    ],
)
def test_unusable_test_files(
    tmp_path: Path, document: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "suite.json"
    path.write_text(document)
    with pytest.raises(TestFileError):
        run_test_file(path)
    assert main(["test", str(path)]) == 1
    assert "ERROR" in capsys.readouterr().err


def test_bad_expectation_is_a_file_error(tmp_path: Path) -> None:
    path = write_suite(tmp_path, [case(APP, "kms:Decrypt", "maybe")])
    with pytest.raises(TestFileError):
        run_test_file(path)


def test_shipped_template_test_files_pass() -> None:
    files = sorted((VECTORS / "policy_tests").glob("*.json"))
    assert len(files) >= 2
    assert main(["test", *map(str, files)]) == 0


def test_validate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.json"
    good.write_text(KEY_POLICY)
    bad = tmp_path / "bad.json"
    bad.write_text('{\n  "Version": "2012-10-17",\n  "Statement": {"Effect": "allow"}\n}')
    assert main(["validate", str(good)]) == 0
    assert main(["validate", str(good), str(bad)]) == 1
    captured = capsys.readouterr()
    assert f"{good}: valid" in captured.out
    assert f"{bad}:3:27: invalid-effect:" in captured.err
    assert "(at /Statement/Effect)" in captured.err


def test_validate_identity_and_missing_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "identity.json"
    path.write_text(policy_text(statement()))
    assert main(["validate", "--identity", str(path)]) == 0
    assert main(["validate", str(path)]) == 1
    assert main(["validate", str(tmp_path / "absent.json")]) == 1
    assert "missing-principal" in capsys.readouterr().err


def test_validate_reports_too_large(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "large.json"
    path.write_text(KEY_POLICY + " " * 40_000)
    assert main(["validate", str(path)]) == 1
    assert "LimitExceededException" in capsys.readouterr().err


def test_lint(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clean = tmp_path / "clean.json"
    clean.write_text(KEY_POLICY)
    risky = tmp_path / "risky.json"
    risky.write_text(
        policy_text(statement("Allow", ROOT, "kms:*"), statement("Allow", APP, "kms:*"))
    )
    warning_only = tmp_path / "warning.json"
    warning_only.write_text(policy_text(statement("Allow", ROOT, "kms:*"), version=None))
    assert main(["lint", str(clean)]) == 0
    assert main(["lint", str(warning_only)]) == 0
    assert main(["lint", str(risky)]) == 1
    output = capsys.readouterr().out
    assert f"{clean}: no findings" in output
    assert "error: separation-of-duties" in output
    assert "warning: missing-version" in output


def test_simulate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key = tmp_path / "key.json"
    key.write_text(KEY_POLICY)
    identity = tmp_path / "alice.json"
    identity.write_text(policy_text(statement()))
    arguments = [
        "simulate", "--policy", str(key), "--identity-policy", str(identity),
        "--principal", ALICE, "--action", "kms:Decrypt", "--action", "kms:Encrypt",
        "--resource", KEY_ARN, "--context", "kms:EncryptionContext:Dept=IT",
        "--context", "aws:TagKeys=a", "--context", "aws:TagKeys=b", "--principal-tag", "team=blue",
    ]  # fmt: skip
    assert main(arguments) == 0
    output = json.loads(capsys.readouterr().out)
    assert [r["Decision"] for r in output["EvaluationResults"]] == ["allowed", "implicitDeny"]
    assert output["Context"]["aws:TagKeys"] == ["a", "b"]


def test_simulate_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key = tmp_path / "key.json"
    key.write_text('{"Statement": []}')
    base = ["simulate", "--principal", ALICE, "--action", "kms:Decrypt", "--resource", KEY_ARN]
    assert main([*base, "--policy", str(key)]) == 1
    assert main([*base, "--policy", str(tmp_path / "absent.json")]) == 1
    assert main([*base, "--context", "no-equals-sign"]) == 1
    assert main(["simulate", "--principal", "nobody", "--action", "kms:Decrypt"]) == 1
    errors = capsys.readouterr().err
    assert "invalid policy" in errors and "KEY=VALUE" in errors


def test_simulate_with_a_grants_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key = tmp_path / "key.json"
    key.write_text(policy_text(statement("Allow", "arn:aws:iam::111122223333:root", "kms:*")))
    grants = tmp_path / "grants.json"
    listed = {"Grants": [{"GrantId": "g-7", "GranteePrincipal": ALICE, "Operations": ["Decrypt"]}]}
    grants.write_text(json.dumps(listed))
    base = ["simulate", "--policy", str(key), "--principal", ALICE, "--resource", KEY_ARN]
    assert main([*base, "--action", "kms:Decrypt", "--grants", str(grants)]) == 0
    (result,) = json.loads(capsys.readouterr().out)["EvaluationResults"]
    assert (result["Basis"], result["DecisiveGrants"]) == ("grant", ["g-7"])
    grants.write_text(json.dumps([{"GranteePrincipal": ALICE, "Operations": ["Fly"]}]))
    assert main([*base, "--action", "kms:Decrypt", "--grants", str(grants)]) == 1
    assert "Fly" in capsys.readouterr().err


def test_usage_errors_exit_with_2() -> None:
    with pytest.raises(SystemExit) as caught:
        main(["frobnicate"])
    assert caught.value.code == 2


def test_python_dash_m_policies_runs_main(tmp_path: Path) -> None:
    path = tmp_path / "key.json"
    path.write_text(KEY_POLICY)
    completed = subprocess.run(
        [sys.executable, "-m", "policies", "validate", str(path)],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[3],
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "valid" in completed.stdout
