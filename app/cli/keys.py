"""``trent keys …``, ``trent encrypt`` and ``trent decrypt``: a client of a
running server (``TRENT_URL``, ``TRENT_TOKEN``), printing the server's JSON."""

from __future__ import annotations

import base64
import json
import sys
from typing import Any
from urllib.parse import quote, urlencode

import click

from app.cli.rest_client import request


def _key(key_id: str) -> str:
    return quote(key_id, safe="")


def _show(document: dict[str, Any]) -> None:
    click.echo(json.dumps(document, indent=2, sort_keys=True))


def _context(pairs: tuple[str, ...]) -> dict[str, str]:
    context: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise click.ClickException(f"--context must be KEY=VALUE (got {pair!r})")
        context[name] = value
    return context


@click.group("keys")
def keys() -> None:
    """Create, list, describe, enable, disable and delete keys."""


@keys.command("create")
@click.option("--description", default="", help="The key's description.")
@click.option("--administrator", "administrators", multiple=True, help="Principal ARN (repeat).")
@click.option("--user", "users", multiple=True, help="Principal ARN (repeat).")
@click.option("--policy-file", type=click.File("r"), help="A key policy document.")
@click.option("--key-spec", default=None, help="e.g. HMAC_256, RSA_3072, ECC_NIST_P256.")
@click.option(
    "--key-usage",
    default=None,
    help="ENCRYPT_DECRYPT, SIGN_VERIFY or GENERATE_VERIFY_MAC (needed unless symmetric).",
)
def create(
    description: str,
    administrators: tuple[str, ...],
    users: tuple[str, ...],
    policy_file: Any,
    key_spec: str | None,
    key_usage: str | None,
) -> None:
    """Create a key, symmetric unless --key-spec says otherwise (default policy,
    administrators/users, or --policy-file)."""
    body: dict[str, Any] = {"Description": description}
    if key_spec is not None:
        body["KeySpec"] = key_spec
    if key_usage is not None:
        body["KeyUsage"] = key_usage
    if administrators:
        body["Administrators"] = list(administrators)
    if users:
        body["Users"] = list(users)
    if policy_file is not None:
        body["Policy"] = policy_file.read()
    _show(request("POST", "/v1/keys", body))


@keys.command("list")
def list_keys() -> None:
    """Every key of the caller's account (follows pagination)."""
    marker: str | None = None
    while True:
        query = "" if marker is None else "?" + urlencode({"Marker": marker})
        page = request("GET", "/v1/keys" + query)
        for entry in page.get("Keys", []):
            click.echo(entry["KeyArn"])
        marker = page.get("NextMarker")
        if not page.get("Truncated") or not marker:
            return


@keys.command("describe")
@click.argument("key_id")
def describe(key_id: str) -> None:
    """KeyMetadata of a key (id, ARN, alias name or alias ARN)."""
    _show(request("GET", f"/v1/keys/{_key(key_id)}"))


@keys.command("enable")
@click.argument("key_id")
def enable(key_id: str) -> None:
    request("POST", f"/v1/keys/{_key(key_id)}/enable", {})


@keys.command("disable")
@click.argument("key_id")
def disable(key_id: str) -> None:
    request("POST", f"/v1/keys/{_key(key_id)}/disable", {})


@keys.command("schedule-deletion")
@click.argument("key_id")
@click.option("--days", type=click.IntRange(7, 30), default=30, show_default=True)
def schedule_deletion(key_id: str, days: int) -> None:
    """Delete a key after a waiting period of 7-30 days."""
    _show(
        request("POST", f"/v1/keys/{_key(key_id)}/schedule-deletion", {"PendingWindowInDays": days})
    )


@keys.command("cancel-deletion")
@click.argument("key_id")
def cancel_deletion(key_id: str) -> None:
    """Cancel a scheduled deletion (the key is left Disabled)."""
    _show(request("POST", f"/v1/keys/{_key(key_id)}/cancel-deletion", {}))


@click.command("encrypt")
@click.argument("key_id")
@click.option("--context", multiple=True, help="Encryption context KEY=VALUE (repeat).")
def encrypt(key_id: str, context: tuple[str, ...]) -> None:
    """Encrypt stdin (at most 4096 bytes); prints the base64 ciphertext."""
    plaintext = sys.stdin.buffer.read()
    body = {
        "Plaintext": base64.b64encode(plaintext).decode("ascii"),
        "EncryptionContext": _context(context),
    }
    click.echo(request("POST", f"/v1/keys/{_key(key_id)}/encrypt", body)["CiphertextBlob"])


@click.command("decrypt")
@click.option("--context", multiple=True, help="Encryption context KEY=VALUE (repeat).")
@click.option("--key-id", default=None, help="Refuse a ciphertext of any other key.")
def decrypt(context: tuple[str, ...], key_id: str | None) -> None:
    """Decrypt a base64 ciphertext from stdin; writes the plaintext to stdout."""
    blob = sys.stdin.read().strip()
    body: dict[str, Any] = {"CiphertextBlob": blob, "EncryptionContext": _context(context)}
    if key_id:
        body["KeyId"] = key_id
    plaintext = base64.b64decode(request("POST", "/v1/decrypt", body)["Plaintext"])
    sys.stdout.buffer.write(plaintext)
