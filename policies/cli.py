"""``python -m policies``: validate, lint, simulate and test policies offline.

The library's own entry point, on the standard library's argparse so that
the package needs nothing else; ``trent policy`` offers the same commands
and options with click. Both run :mod:`policies.commands`.

Exit codes: 0 when everything is fine, 1 when a policy is invalid, a lint finding
is an error, or a test case fails; 2 for a usage error (argparse's convention).
"""

from __future__ import annotations

import argparse
import sys

from policies.commands import lint_files, run_test_files, simulate_files, validate_files
from policies.model import PolicyKind


def main(argv: list[str] | None = None) -> int:
    arguments = _argument_parser().parse_args(argv)
    out, err = sys.stdout, sys.stderr
    kind = PolicyKind.IDENTITY if getattr(arguments, "identity", False) else PolicyKind.KEY
    if arguments.command == "validate":
        return validate_files(arguments.files, kind, out, err)
    if arguments.command == "lint":
        return lint_files(arguments.files, kind, out, err)
    if arguments.command == "simulate":
        return simulate_files(
            policy=arguments.policy,
            identity_policies=arguments.identity_policies,
            principal=arguments.principal,
            actions=arguments.actions,
            resource=arguments.resource,
            context=arguments.context,
            principal_tags=arguments.tags,
            out=out,
            err=err,
            grants=arguments.grants,
            summary=arguments.summary,
        )
    return run_test_files(arguments.files, out, err)


def _argument_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m policies", description="Validate, lint, simulate and test key policies."
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
    simulate_command.add_argument(
        "--summary",
        action="store_true",
        help="one line per action (decision, basis, deciding statement or grant) instead of JSON",
    )
    test_command = commands.add_parser("test", help="run policy test files")
    test_command.add_argument("files", nargs="+", metavar="FILE")
    return parser
