"""``python -m policies`` (and ``trent policy``): validate, lint, simulate and test policies.

Exit codes: 0 when everything is fine, 1 when a policy is invalid, a lint finding
is an error, or a test case fails; 2 for a usage error (argparse's convention).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from policies.errors import PolicyDocumentError, PolicyError, PolicyTooLargeError
from policies.lint import has_errors, lint_policy
from policies.model import Policy, PolicyKind
from policies.parser import parse_policy
from policies.request import ContextError, ContextValue
from policies.simulate import simulate
from policies.testing import TestFileError, run_test_file


def main(argv: list[str] | None = None) -> int:
    parser = _argument_parser()
    arguments = parser.parse_args(argv)
    handler = _COMMANDS[arguments.command]
    return handler(arguments, sys.stdout, sys.stderr)


def _argument_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trent policy", description="Validate, lint, simulate and test key policies."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for name, summary in (
        ("validate", "check policies against the grammar"),
        ("lint", "report dangerous or ineffective policy constructs"),
    ):
        command = commands.add_parser(name, help=summary, description=summary)
        command.add_argument("files", nargs="+", metavar="FILE")
        command.add_argument(
            "--identity", action="store_true", help="the files are identity policies"
        )
    simulate_command = commands.add_parser(
        "simulate", help="decide actions for a principal and explain the result"
    )
    simulate_command.add_argument("--policy", metavar="FILE", help="the key policy")
    simulate_command.add_argument(
        "--identity-policy", action="append", default=[], metavar="FILE", dest="identity_policies"
    )
    simulate_command.add_argument("--principal", required=True, metavar="ARN")
    simulate_command.add_argument(
        "--action", action="append", required=True, metavar="ACTION", dest="actions"
    )
    simulate_command.add_argument("--resource", metavar="ARN", help="the key ARN")
    simulate_command.add_argument(
        "--context", action="append", default=[], metavar="KEY=VALUE", help="repeat for lists"
    )
    simulate_command.add_argument(
        "--principal-tag", action="append", default=[], metavar="KEY=VALUE", dest="tags"
    )
    simulate_command.add_argument(
        "--grants",
        metavar="FILE",
        help="the key's grants: a JSON list of GrantListEntry objects (as ListGrants shows them)",
    )
    test_command = commands.add_parser("test", help="run policy test files")
    test_command.add_argument("files", nargs="+", metavar="FILE")
    return parser


def _read(path: str) -> str:
    return Path(path).read_text(encoding="utf-8")


def _load(path: str, kind: PolicyKind, err: TextIO) -> Policy | None:
    try:
        return parse_policy(_read(path), kind, source=path)
    except OSError as error:
        print(f"{path}: {error.strerror or error}", file=err)
    except PolicyTooLargeError as error:
        print(f"{path}: LimitExceededException: {error}", file=err)
    except PolicyError as error:
        for issue in error.issues:
            print(
                f"{path}:{issue.line}:{issue.column}: {issue.code}: {issue.message} "
                f"(at {issue.pointer or '/'})",
                file=err,
            )
    return None


def _kind(arguments: argparse.Namespace) -> PolicyKind:
    return PolicyKind.IDENTITY if arguments.identity else PolicyKind.KEY


def _validate(arguments: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    status = 0
    for path in arguments.files:
        if _load(path, _kind(arguments), err) is None:
            status = 1
        else:
            print(f"{path}: valid", file=out)
    return status


def _lint(arguments: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    status = 0
    for path in arguments.files:
        policy = _load(path, _kind(arguments), err)
        if policy is None:
            status = 1
            continue
        findings = lint_policy(policy)
        for finding in findings:
            print(f"{path}:{finding}", file=out)
        if has_errors(findings):
            status = 1
        elif not findings:
            print(f"{path}: no findings", file=out)
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
        document = json.loads(_read(path))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not JSON: {error}") from None
    if isinstance(document, dict) and "Grants" in document:
        document = document["Grants"]
    if not isinstance(document, list):
        raise ValueError(f"{path}: grants must be a JSON list (or ListGrants' answer)")
    return document


def _simulate(arguments: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    try:
        context: dict[str, ContextValue] = {
            key: values[0] if len(values) == 1 else list(values)
            for key, values in _pairs(arguments.context, "--context").items()
        }
        tags = {
            key: values[-1] for key, values in _pairs(arguments.tags, "--principal-tag").items()
        }
        key_policy = _read(arguments.policy) if arguments.policy else None
        identity = {path: _read(path) for path in arguments.identity_policies}
        grants = _grants(arguments.grants)
        result = simulate(
            key_policy,
            identity,
            arguments.principal,
            arguments.actions,
            arguments.resource,
            context,
            principal_tags=tags,
            grants=grants,
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
    print(json.dumps(result, indent=2, sort_keys=True), file=out)
    return 0


def _test(arguments: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    status = 0
    passed = failed = 0
    for path in arguments.files:
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


_COMMANDS = {"validate": _validate, "lint": _lint, "simulate": _simulate, "test": _test}
