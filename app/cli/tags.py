"""``trent tags tag|untag|list``: a key's tags, as a client of a running
server (``TRENT_URL``, ``TRENT_TOKEN``).

``list`` prints ``KEY=VALUE`` lines, the form ``tag`` takes back.
"""

from __future__ import annotations

import click

from app.cli.arguments import pairs
from app.cli.rest_client import key_path, pages, request, with_query


@click.group("tags")
def tags() -> None:
    """Tag and untag a key, and list its tags."""


@tags.command("tag")
@click.argument("key_id")
@click.argument("tag_pairs", nargs=-1, required=True, metavar="KEY=VALUE...")
def tag(key_id: str, tag_pairs: tuple[str, ...]) -> None:
    """Add tags to KEY_ID, or change the value of tags it has."""
    given = pairs(tag_pairs, "a tag")
    body = {"Tags": [{"TagKey": name, "TagValue": value} for name, value in given.items()]}
    request("POST", key_path(key_id, "/tags"), body)
    click.echo(f"tagged {key_id}: {', '.join(given)}")


@tags.command("untag")
@click.argument("key_id")
@click.argument("tag_keys", nargs=-1, required=True, metavar="TAG_KEY...")
def untag(key_id: str, tag_keys: tuple[str, ...]) -> None:
    """Remove tags from KEY_ID by their keys (a key it lacks is no error)."""
    request("DELETE", with_query(key_path(key_id, "/tags"), {"TagKeys": list(tag_keys)}))
    click.echo(f"untagged {key_id}: {', '.join(tag_keys)}")


@tags.command("list")
@click.argument("key_id")
def list_tags(key_id: str) -> None:
    """KEY_ID's tags, one KEY=VALUE a line."""
    for entry in pages(key_path(key_id, "/tags"), "Tags"):
        click.echo(f"{entry.get('TagKey', '')}={entry.get('TagValue', '')}")


COMMANDS = (tags,)
