"""``trent policy validate|lint|simulate|test``: the policy library offline.

The same commands, options, output and exit codes as ``python -m policies``
(both run :mod:`policies.commands`); here they are click commands like the
rest of ``trent``, with its help and its shell completion. Nothing here
talks to a server.
"""

from __future__ import annotations

import sys

import click

from policies.commands import (
    lint_files,
    lint_text,
    run_test_files,
    simulate_files,
    validate_files,
)
from policies.model import PolicyKind

FILES = click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
IDENTITY = click.option("--identity", is_flag=True, help="The files are identity policies.")


def _kind(identity: bool) -> PolicyKind:
    return PolicyKind.IDENTITY if identity else PolicyKind.KEY


IGNORE_LINT_ERRORS = click.option(
    "--ignore-lint-errors",
    is_flag=True,
    help="Send the policy even when the lint finds errors in it.",
)


def read_policy_file(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise click.ClickException(f"{path}: {reason}") from None


def lint_before_put(path: str, text: str, kind: PolicyKind, ignore_errors: bool) -> None:
    """Lint a policy before a client command sends it, findings on stderr.

    The lint is the same one ``trent policy lint`` runs, so a policy that
    would be refused (invalid, or with error findings such as separation of
    duties) stops here with its findings shown, before the request; warnings
    are shown and the policy is sent.
    """
    if lint_text(path, text, kind, sys.stderr, sys.stderr) and not ignore_errors:
        raise click.ClickException(
            f"{path} was not sent: the lint found errors (--ignore-lint-errors sends it anyway)"
        )


def _exit(status: int) -> None:
    if status:
        sys.exit(status)


@click.group("policy")
def policy() -> None:
    """Validate, lint, simulate and test key and identity policies offline.

    Exit status 1 when a policy is invalid, a lint finding is an error or a
    test case fails; 2 for a usage error.
    """


@policy.command("validate")
@FILES
@IDENTITY
def validate(files: tuple[str, ...], identity: bool) -> None:
    """Check policies against the grammar (FILE is a JSON policy document)."""
    _exit(validate_files(files, _kind(identity), sys.stdout, sys.stderr))


@policy.command("lint")
@FILES
@IDENTITY
def lint(files: tuple[str, ...], identity: bool) -> None:
    """Report dangerous or ineffective policy constructs (errors and warnings)."""
    _exit(lint_files(files, _kind(identity), sys.stdout, sys.stderr))


@policy.command("simulate")
@click.option("--policy", "policy_file", type=click.Path(dir_okay=False), help="The key policy.")
@click.option(
    "--identity-policy",
    "identity_policies",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="An identity policy of the principal (repeat).",
)
@click.option("--principal", required=True, metavar="ARN", help="The caller's principal ARN.")
@click.option(
    "--action",
    "actions",
    multiple=True,
    required=True,
    help="An action to decide, e.g. kms:Decrypt (repeat).",
)
@click.option("--resource", metavar="ARN", help="The key ARN.")
@click.option(
    "--context",
    multiple=True,
    metavar="KEY=VALUE",
    help="A request context value (repeat a key for a list).",
)
@click.option(
    "--principal-tag", "tags", multiple=True, metavar="KEY=VALUE", help="A principal tag (repeat)."
)
@click.option(
    "--grants",
    "grants_file",
    type=click.Path(dir_okay=False),
    help="The key's grants: a JSON list of GrantListEntry objects (as ListGrants shows them).",
)
@click.option(
    "--summary",
    is_flag=True,
    help="One line per action (decision, basis, deciding statement or grant) instead of JSON.",
)
def simulate(
    policy_file: str | None,
    identity_policies: tuple[str, ...],
    principal: str,
    actions: tuple[str, ...],
    resource: str | None,
    context: tuple[str, ...],
    tags: tuple[str, ...],
    grants_file: str | None,
    summary: bool,
) -> None:
    """Decide actions for a principal and explain the result (JSON, or --summary).

    Warnings about the request (an unknown action, a context key without a
    namespace) go to stderr.
    """
    _exit(
        simulate_files(
            policy=policy_file,
            identity_policies=identity_policies,
            principal=principal,
            actions=actions,
            resource=resource,
            context=context,
            principal_tags=tags,
            grants=grants_file,
            summary=summary,
            out=sys.stdout,
            err=sys.stderr,
        )
    )


@policy.command("test")
@FILES
def test(files: tuple[str, ...]) -> None:
    """Run policy test files: one PASS or FAIL line per case, then the counts."""
    _exit(run_test_files(files, sys.stdout, sys.stderr))


COMMANDS = (policy,)
