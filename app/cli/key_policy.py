"""``trent key-policy get|put|list``: a key's policy document, as a client of
a running server (``TRENT_URL``, ``TRENT_TOKEN``).

``put`` lints the file first (the lint of ``trent policy lint``) and sends
nothing when the lint finds errors, unless told to.
"""

from __future__ import annotations

from typing import Any

import click

from app.cli.policy import IGNORE_LINT_ERRORS, lint_before_put, read_policy_file
from app.cli.rest_client import key_path, pages, request, with_query
from policies.model import PolicyKind

POLICY_NAME = click.option(
    "--name",
    "policy_name",
    default=None,
    help="The policy's name (a key has one policy, named default).",
)


@click.group("key-policy")
def key_policy() -> None:
    """Get, replace and list a key's policy (key policies decide every call)."""


@key_policy.command("get")
@click.argument("key_id")
@POLICY_NAME
def get(key_id: str, policy_name: str | None) -> None:
    """Print KEY_ID's policy document, as stored (edit it and `put` it back)."""
    answer = request("GET", with_query(key_path(key_id, "/policy"), {"PolicyName": policy_name}))
    document = answer.get("Policy")
    if not isinstance(document, str):
        raise click.ClickException("the server's answer has no Policy")
    click.echo(document.rstrip("\n"))


@key_policy.command("put")
@click.argument("key_id")
@click.argument("policy_file", type=click.Path(dir_okay=False))
@POLICY_NAME
@IGNORE_LINT_ERRORS
@click.option(
    "--bypass-lockout-check",
    is_flag=True,
    help="Accept a policy that would stop the caller from changing it again.",
)
@click.option(
    "--bypass-separation-of-duties-check",
    is_flag=True,
    help="Accept a policy that lets one principal both manage and use the key.",
)
def put(
    key_id: str,
    policy_file: str,
    policy_name: str | None,
    ignore_lint_errors: bool,
    bypass_lockout_check: bool,
    bypass_separation_of_duties_check: bool,
) -> None:
    """Replace KEY_ID's policy with POLICY_FILE, after linting it (findings on stderr)."""
    text = read_policy_file(policy_file)
    lint_before_put(policy_file, text, PolicyKind.KEY, ignore_lint_errors)
    body: dict[str, Any] = {"Policy": text}
    if policy_name is not None:
        body["PolicyName"] = policy_name
    if bypass_lockout_check:
        body["BypassPolicyLockoutSafetyCheck"] = True
    if bypass_separation_of_duties_check:
        body["BypassSeparationOfDutiesCheck"] = True
    request("PUT", key_path(key_id, "/policy"), body)
    click.echo(f"replaced the policy of {key_id} with {policy_file}")


@key_policy.command("list")
@click.argument("key_id")
def list_policies(key_id: str) -> None:
    """The names of KEY_ID's policies, one a line."""
    for name in pages(key_path(key_id, "/policies"), "PolicyNames"):
        click.echo(name)


COMMANDS = (key_policy,)
