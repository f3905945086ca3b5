"""``trent identity-policy get|put|delete|list``: the identity policies
attached to a principal, as a client of a running server (``TRENT_URL``,
``TRENT_TOKEN``).

An identity policy grants a principal actions on the keys of its account
(where the key policy delegates to the account), and the account-wide
actions such as ``kms:CreateKey``. ``put`` lints the file first.
"""

from __future__ import annotations

from urllib.parse import quote

import click

from app.cli.policy import IGNORE_LINT_ERRORS, lint_before_put, read_policy_file
from app.cli.rest_client import request
from policies.model import PolicyKind


def _policies_path(principal_arn: str, policy_name: str | None = None) -> str:
    path = f"/v1/principals/{quote(principal_arn, safe='')}/policies"
    return path if policy_name is None else f"{path}/{quote(policy_name, safe='')}"


@click.group("identity-policy")
def identity_policy() -> None:
    """Attach, read, detach and list a principal's identity policies."""


@identity_policy.command("get")
@click.argument("principal_arn")
@click.argument("policy_name")
def get(principal_arn: str, policy_name: str) -> None:
    """Print the identity policy POLICY_NAME of PRINCIPAL_ARN."""
    answer = request("GET", _policies_path(principal_arn, policy_name))
    document = answer.get("PolicyDocument")
    if not isinstance(document, str):
        raise click.ClickException("the server's answer has no PolicyDocument")
    click.echo(document.rstrip("\n"))


@identity_policy.command("put")
@click.argument("principal_arn")
@click.argument("policy_name")
@click.argument("policy_file", type=click.Path(dir_okay=False))
@IGNORE_LINT_ERRORS
def put(principal_arn: str, policy_name: str, policy_file: str, ignore_lint_errors: bool) -> None:
    """Attach POLICY_FILE to PRINCIPAL_ARN as POLICY_NAME (replacing one of that name)."""
    text = read_policy_file(policy_file)
    lint_before_put(policy_file, text, PolicyKind.IDENTITY, ignore_lint_errors)
    request("PUT", _policies_path(principal_arn, policy_name), {"PolicyDocument": text})
    click.echo(f"attached {policy_name} to {principal_arn}")


@identity_policy.command("delete")
@click.argument("principal_arn")
@click.argument("policy_name")
def delete(principal_arn: str, policy_name: str) -> None:
    """Detach the identity policy POLICY_NAME from PRINCIPAL_ARN."""
    request("DELETE", _policies_path(principal_arn, policy_name))
    click.echo(f"detached {policy_name} from {principal_arn}")


@identity_policy.command("list")
@click.argument("principal_arn")
def list_policies(principal_arn: str) -> None:
    """The names of PRINCIPAL_ARN's identity policies, one a line."""
    names = request("GET", _policies_path(principal_arn)).get("PolicyNames", [])
    if not isinstance(names, list):
        raise click.ClickException("the server's answer has no PolicyNames list")
    for name in names:
        click.echo(name)


COMMANDS = (identity_policy,)
