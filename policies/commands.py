"""What the policy command lines run: validate, lint, simulate and test.

Two front ends call these functions, ``python -m policies`` (argparse, in
:mod:`policies.cli`, so that the library needs nothing outside the standard
library) and ``trent policy`` (click, in ``app.cli``); both print the same
lines and exit with the same codes because both call these. Each function
writes results to ``out`` and problems to ``err`` and returns the exit code:
0 when everything is fine, 1 when a policy is invalid, a lint finding is an
error, or a test case fails.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from policies.errors import PolicyDocumentError, PolicyError, PolicyTooLargeError
from policies.findings import Finding
from policies.lint import has_errors, lint_policy
from policies.model import Policy, PolicyKind
from policies.parser import parse_policy
from policies.request import ContextError, ContextValue
from policies.simulate import simulate
from policies.simulation_report import summary_lines
from policies.testing import TestFileError, run_test_file


def read_text(path: str) -> str:
    return Path(path).read_text(encoding="utf-8")


def report_parse_error(name: str, error: PolicyError | PolicyTooLargeError, err: TextIO) -> None:
    """One line per issue, ``name:line:column: code: message (at pointer)``."""
    if isinstance(error, PolicyTooLargeError):
        print(f"{name}: LimitExceededException: {error}", file=err)
        return
    for issue in error.issues:
        print(
            f"{name}:{issue.line}:{issue.column}: {issue.code}: {issue.message} "
            f"(at {issue.pointer or '/'})",
            file=err,
        )


def load_policy(path: str, kind: PolicyKind, err: TextIO) -> Policy | None:
    """The parsed policy in ``path``, or ``None`` after reporting why not."""
    try:
        return parse_policy(read_text(path), kind, source=path)
    except OSError as error:
        print(f"{path}: {error.strerror or error}", file=err)
    except (PolicyError, PolicyTooLargeError) as error:
        report_parse_error(path, error, err)
    return None


def lint_text(name: str, text: str, kind: PolicyKind, out: TextIO, err: TextIO) -> int:
    """Parse and lint one policy document given as text; prints its findings
    (or ``name: no findings``). 1 if it is invalid or has an error finding."""
    try:
        policy = parse_policy(text, kind, source=name)
    except (PolicyError, PolicyTooLargeError) as error:
        report_parse_error(name, error, err)
        return 1
    return _report_findings(name, lint_policy(policy), out)


def _report_findings(name: str, findings: list[Finding], out: TextIO) -> int:
    for finding in findings:
        print(f"{name}:{finding}", file=out)
    if has_errors(findings):
        return 1
    if not findings:
        print(f"{name}: no findings", file=out)
    return 0


def validate_files(files: Sequence[str], kind: PolicyKind, out: TextIO, err: TextIO) -> int:
    status = 0
    for path in files:
        if load_policy(path, kind, err) is None:
            status = 1
        else:
            print(f"{path}: valid", file=out)
    return status


def lint_files(files: Sequence[str], kind: PolicyKind, out: TextIO, err: TextIO) -> int:
    status = 0
    for path in files:
        policy = load_policy(path, kind, err)
        if policy is None:
            status = 1
        elif _report_findings(path, lint_policy(policy), out):
            status = 1
    return status


def _pairs(values: Sequence[str], what: str) -> dict[str, list[str]]:
    pairs: dict[str, list[str]] = {}
    for value in values:
        key, separator, text = value.partition("=")
        if not separator or not key:
            raise ValueError(f"{what} must be KEY=VALUE, not {value!r}")
        pairs.setdefault(key, []).append(text)
    return pairs


def _grants(path: str | None) -> list[Any]:
    """The grants file: a JSON list, or ListGrants' own answer (``{"Grants": [...]}``)."""
    if path is None:
        return []
    try:
        document = json.loads(read_text(path))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not JSON: {error}") from None
    if isinstance(document, dict) and "Grants" in document:
        document = document["Grants"]
    if not isinstance(document, list):
        raise ValueError(f"{path}: grants must be a JSON list (or ListGrants' answer)")
    return document


def simulate_files(
    *,
    policy: str | None,
    identity_policies: Sequence[str],
    principal: str,
    actions: Sequence[str],
    resource: str | None,
    context: Sequence[str],
    principal_tags: Sequence[str],
    out: TextIO,
    err: TextIO,
    grants: str | None = None,
    summary: bool = False,
) -> int:
    """Decide ``actions`` and print the explained result as JSON, or with
    ``summary`` one line per action (decision, basis, deciding statements or
    grants). ``context`` and ``principal_tags`` are ``KEY=VALUE`` texts; a
    context key given more than once is a list; ``grants`` is a file of the
    key's grants (a JSON list of ``GrantListEntry`` objects, or ListGrants'
    own answer). Warnings go to ``err`` either way (and into the JSON)."""
    try:
        values: dict[str, ContextValue] = {
            key: found[0] if len(found) == 1 else list(found)
            for key, found in _pairs(context, "--context").items()
        }
        tags = {key: found[-1] for key, found in _pairs(principal_tags, "--principal-tag").items()}
        key_policy = read_text(policy) if policy else None
        identity = {path: read_text(path) for path in identity_policies}
        result = simulate(
            key_policy,
            identity,
            principal,
            list(actions),
            resource,
            values,
            principal_tags=tags,
            grants=_grants(grants),
        )
    except OSError as error:
        print(f"{error.filename}: {error.strerror or error}", file=err)
        return 1
    except PolicyDocumentError as error:
        print(f"invalid policy: {error}", file=err)
        return 1
    except (ContextError, ValueError) as error:
        print(f"error: {error}", file=err)
        return 1
    for warning in result["Warnings"]:
        print(f"warning: {warning}", file=err)
    if summary:
        for line in summary_lines(result):
            print(line, file=out)
    else:
        print(json.dumps(result, indent=2, sort_keys=True), file=out)
    return 0


def run_test_files(files: Sequence[str], out: TextIO, err: TextIO) -> int:
    """Run policy test files; one PASS or FAIL line per case, then the counts."""
    status = 0
    passed = failed = 0
    for path in files:
        try:
            report = run_test_file(path)
        except TestFileError as error:
            print(f"ERROR {error}", file=err)
            status = 1
            continue
        for result in report.results:
            if result.passed:
                passed += 1
                print(f"PASS {path}: {result.name}", file=out)
                continue
            failed += 1
            status = 1
            got = result.error or f"got {result.actual} ({result.basis})"
            print(f"FAIL {path}: {result.name}: expected {result.expected}, {got}", file=out)
    print(f"{passed} passed, {failed} failed", file=out)
    return status
