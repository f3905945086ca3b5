"""``trent rotation status|enable|disable|rotate-now|list``: a key's rotation,
as a client of a running server (``TRENT_URL``, ``TRENT_TOKEN``).

A rotation adds new key material; the old material stays, so every
ciphertext made before it still decrypts.
"""

from __future__ import annotations

import click

from app.cli.arguments import show, when
from app.cli.rest_client import key_path, pages, request


@click.group("rotation")
def rotation() -> None:
    """Automatic and on-demand rotation of a key's material."""


@rotation.command("status")
@click.argument("key_id")
def status(key_id: str) -> None:
    """Whether automatic rotation is on, its period and the next rotation (JSON)."""
    show(request("GET", key_path(key_id, "/rotation")))


@rotation.command("enable")
@click.argument("key_id")
@click.option(
    "--period-days",
    type=click.IntRange(90, 2560),
    default=None,
    help="Days between rotations (90-2560; the server's default is 365).",
)
def enable(key_id: str, period_days: int | None) -> None:
    """Turn on automatic rotation of KEY_ID."""
    body = {} if period_days is None else {"RotationPeriodInDays": period_days}
    request("PUT", key_path(key_id, "/rotation"), body)
    every = f" every {period_days} days" if period_days is not None else ""
    click.echo(f"automatic rotation of {key_id} is on{every}")


@rotation.command("disable")
@click.argument("key_id")
def disable(key_id: str) -> None:
    """Turn off automatic rotation of KEY_ID (its material is kept)."""
    request("DELETE", key_path(key_id, "/rotation"))
    click.echo(f"automatic rotation of {key_id} is off")


@rotation.command("rotate-now")
@click.argument("key_id")
def rotate_now(key_id: str) -> None:
    """Rotate KEY_ID now: new material encrypts from now on (the server caps how often)."""
    answer = request("POST", key_path(key_id, "/rotations"), {})
    click.echo(f"rotated {answer.get('KeyId', key_id)}")


@rotation.command("list")
@click.argument("key_id")
@click.option(
    "--all-material",
    is_flag=True,
    help="Also the key's first material, which no rotation made.",
)
def list_rotations(key_id: str, all_material: bool) -> None:
    """The rotations of KEY_ID, oldest first: date, type, material id and state."""
    query = {"IncludeKeyMaterial": "ALL_KEY_MATERIAL" if all_material else None}
    for entry in pages(key_path(key_id, "/rotations"), "Rotations", query):
        click.echo(
            f"{when(entry.get('RotationDate'))}  {entry.get('RotationType', '-'):<9}  "
            f"{entry.get('KeyMaterialId', '')}  {entry.get('KeyMaterialState', '')}"
        )


COMMANDS = (rotation,)
