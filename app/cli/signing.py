"""``trent sign``, ``trent verify``, ``trent mac`` and ``trent public-key``:
a client of a running server (``TRENT_URL``, ``TRENT_TOKEN``).

Messages are read from stdin as bytes (at most 4096; with ``--digest`` the
digest itself); signatures and MACs are printed and taken as base64. A
signature or MAC that does not verify is a failure: the command exits
non-zero with the server's error code on stderr.
"""

from __future__ import annotations

import base64
import binascii
import json
import sys
import textwrap
from typing import Any
from urllib.parse import quote

import click

from app.cli.rest_client import request


def _key(key_id: str) -> str:
    return quote(key_id, safe="")


def _message(digest: bool) -> dict[str, str]:
    message = sys.stdin.buffer.read()
    if not message:
        raise click.ClickException("the message to sign or verify is read from stdin; it is empty")
    return {
        "Message": base64.b64encode(message).decode("ascii"),
        "MessageType": "DIGEST" if digest else "RAW",
    }


def _base64(value: str, what: str) -> str:
    try:
        base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise click.ClickException(f"{what} must be base64") from None
    return value.strip()


_ALGORITHM = click.option(
    "--algorithm", required=True, help="The signing algorithm, e.g. ECDSA_SHA_256."
)
_DIGEST = click.option(
    "--digest", is_flag=True, help="stdin is the digest of the message (MessageType DIGEST)."
)


@click.command("sign")
@click.argument("key_id")
@_ALGORITHM
@_DIGEST
def sign(key_id: str, algorithm: str, digest: bool) -> None:
    """Sign stdin with an asymmetric key; prints the base64 signature."""
    body = {**_message(digest), "SigningAlgorithm": algorithm}
    click.echo(request("POST", f"/v1/keys/{_key(key_id)}/sign", body)["Signature"])


@click.command("verify")
@click.argument("key_id")
@_ALGORITHM
@click.option("--signature", required=True, help="The base64 signature to check.")
@_DIGEST
def verify(key_id: str, algorithm: str, signature: str, digest: bool) -> None:
    """Verify a signature of stdin; exits non-zero unless it is valid."""
    body = {
        **_message(digest),
        "Signature": _base64(signature, "--signature"),
        "SigningAlgorithm": algorithm,
    }
    request("POST", f"/v1/keys/{_key(key_id)}/verify", body)
    click.echo("signature valid")


@click.command("mac")
@click.argument("key_id")
@click.option("--algorithm", required=True, help="The MAC algorithm, e.g. HMAC_SHA_256.")
@click.option("--verify", "expected", default=None, help="Check this base64 MAC instead.")
def mac(key_id: str, algorithm: str, expected: str | None) -> None:
    """The HMAC of stdin (base64); with --verify, exits non-zero unless it matches."""
    message = sys.stdin.buffer.read()
    body: dict[str, Any] = {
        "Message": base64.b64encode(message).decode("ascii"),
        "MacAlgorithm": algorithm,
    }
    if expected is None:
        click.echo(request("POST", f"/v1/keys/{_key(key_id)}/mac", body)["Mac"])
        return
    body["Mac"] = _base64(expected, "--verify")
    request("POST", f"/v1/keys/{_key(key_id)}/verify-mac", body)
    click.echo("MAC valid")


@click.command("public-key")
@click.argument("key_id")
@click.option(
    "--format",
    "output",
    type=click.Choice(["pem", "der", "json"]),
    default="pem",
    show_default=True,
    help="PEM text, raw DER bytes, or the server's whole answer.",
)
def public_key(key_id: str, output: str) -> None:
    """The public key of an asymmetric key (SubjectPublicKeyInfo)."""
    answer = request("GET", f"/v1/keys/{_key(key_id)}/public-key")
    if output == "json":
        click.echo(json.dumps(answer, indent=2, sort_keys=True))
        return
    der_b64 = answer["PublicKey"]
    if output == "der":
        sys.stdout.buffer.write(base64.b64decode(der_b64))
        return
    lines = textwrap.wrap(der_b64, 64)
    click.echo("\n".join(["-----BEGIN PUBLIC KEY-----", *lines, "-----END PUBLIC KEY-----"]))


COMMANDS = (sign, verify, mac, public_key)
