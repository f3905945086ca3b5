"""``trent token issue``: tokens from the local issuer."""

from __future__ import annotations

import os

import click

from app.cli.context import settings_or_exit
from app.config import ConfigError


@click.group()
def token() -> None:
    """Tokens of the local issuer."""


@token.command("issue")
@click.option("--account", required=True, help="12-digit account id.")
@click.option("--user", default=None, help="IAM-style user name.")
@click.option("--role", default=None, help="IAM-style role name.")
@click.option("--root", is_flag=True, help="The account root principal.")
@click.option("--tag", "tags", multiple=True, help="Principal tag KEY=VALUE (repeatable).")
@click.option("--ttl", default="1h", show_default=True, help="Lifetime: 90s, 15m, 1h, 12h …")
def token_issue(
    account: str, user: str | None, role: str | None, root: bool, tags: tuple[str, ...], ttl: str
) -> None:
    """Mint a token for the local issuer; prints the token alone on stdout."""
    click.echo(mint_token(account, user, role, root, tags, ttl))


def mint_token(
    account: str, user: str | None, role: str | None, root: bool, tags: tuple[str, ...], ttl: str
) -> str:
    """A token of the local issuer for one principal (``trent token issue``,
    ``trent console login``); a usage error exits."""
    from app.auth.local_issuer import LocalIssuer

    settings = settings_or_exit()
    chosen = [x for x in (user, role, root or None) if x]
    if len(chosen) != 1:
        raise click.ClickException("give exactly one of --user, --role, --root")
    tag_map: dict[str, str] = {}
    for item in tags:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.ClickException(f"--tag must be KEY=VALUE (got {item!r})")
        tag_map[key] = value
    info_file = settings.issuer_dir / "issuer.json"
    if not os.path.lexists(info_file):
        # Usually a second shell without the server's TRENT_DATA_DIR (`make run`
        # exports it for the server alone).
        raise click.ClickException(
            f"{info_file} does not exist: set TRENT_DATA_DIR to the "
            f"server's data directory (make run: ./var in the repository), or run `trent init`"
        )
    try:
        issuer = LocalIssuer.load(settings)
        minted = issuer.mint(
            account, user=user, role=role, root=root, tags=tag_map, ttl_seconds=_duration(ttl)
        )
    except (ValueError, ConfigError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    return minted


def _duration(text: str) -> int:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    text = text.strip()
    if text[-1:] in units and text[:-1].isdigit():
        return int(text[:-1]) * units[text[-1]]
    if text.isdigit():
        return int(text)
    raise click.ClickException(f"--ttl must look like 90s, 15m or 1h (got {text!r})")


COMMANDS = (token,)
