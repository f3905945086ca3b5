"""``trent whoami``: the principal ``TRENT_TOKEN`` names, as the server sees it."""

from __future__ import annotations

import click

from app.cli.arguments import show
from app.cli.rest_client import request


@click.command("whoami")
def whoami() -> None:
    """The caller's principal (ARN, account, type, tags), as JSON: a check of TRENT_TOKEN."""
    show(request("GET", "/v1/whoami"))


COMMANDS = (whoami,)
