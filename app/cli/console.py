"""``trent console login``: a sign-in link for the console.

The link carries a fresh token of the local issuer in its fragment (the part
after ``#``, which browsers never send to a server, so it is in no request
log); the console's sign-in page signs in with it and takes it out of the
address bar. A link signs in once: the console refuses a link whose token
has signed in before.
"""

from __future__ import annotations

import os

import click

from app.cli.token import mint_token


@click.group()
def console() -> None:
    """The web console (/console)."""


@console.command("login")
@click.option("--account", required=True, help="12-digit account id.")
@click.option("--user", default=None, help="IAM-style user name.")
@click.option("--role", default=None, help="IAM-style role name.")
@click.option("--root", is_flag=True, help="The account root principal.")
@click.option("--tag", "tags", multiple=True, help="Principal tag KEY=VALUE (repeatable).")
@click.option("--ttl", default="1h", show_default=True, help="How long the session may last.")
@click.option(
    "--url",
    default=None,
    help="The server's URL as the browser reaches it [default: TRENT_URL, else http://TRENT_BIND].",
)
def console_login(
    account: str,
    user: str | None,
    role: str | None,
    root: bool,
    tags: tuple[str, ...],
    ttl: str,
    url: str | None,
) -> None:
    """Print a one-time sign-in link to the console (the session ends with its token)."""
    token = mint_token(account, user, role, root, tags, ttl)
    base = (
        url
        or os.environ.get("TRENT_URL")
        or f"http://{os.environ.get('TRENT_BIND', '127.0.0.1:8080')}"
    )
    click.echo(f"{base.rstrip('/')}/console#login={token}")


COMMANDS = (console,)
