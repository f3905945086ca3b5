"""``trent keys …``, ``trent encrypt`` and ``trent decrypt``: a client of a
running server (``TRENT_URL``, ``TRENT_TOKEN``). Reads print the server's
JSON, changes say what they did, ``encrypt`` prints the ciphertext alone
and ``decrypt`` the plaintext alone, so that they compose in pipes."""

from __future__ import annotations

import base64
import sys
import time
from typing import Any

import click

from app.cli.arguments import pairs, show
from app.cli.rest_client import key_path, pages, request
from app.crypto.key_import import WRAPPING_ALGORITHMS, material_from_file, wrap_key_material


def _context(values: tuple[str, ...]) -> dict[str, str]:
    return pairs(values, "--context")


@click.group("keys")
def keys() -> None:
    """Create, list, describe, update, enable, disable and delete keys."""


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
@click.option(
    "--origin",
    type=click.Choice(["AWS_KMS", "EXTERNAL", "AWS_CLOUDHSM"]),
    default=None,
    help="AWS_KMS (the default); EXTERNAL: no material until `trent keys import` brings "
    "it; AWS_CLOUDHSM: made in a custom key store's token (--custom-key-store-id).",
)
@click.option(
    "--custom-key-store-id",
    default=None,
    help="Make the key in this connected custom key store (Origin AWS_CLOUDHSM).",
)
def create(
    description: str,
    administrators: tuple[str, ...],
    users: tuple[str, ...],
    policy_file: Any,
    key_spec: str | None,
    key_usage: str | None,
    origin: str | None,
    custom_key_store_id: str | None,
) -> None:
    """Create a key, symmetric unless --key-spec says otherwise (default policy,
    administrators/users, or --policy-file)."""
    if custom_key_store_id is not None:
        if origin not in (None, "AWS_CLOUDHSM"):
            raise click.UsageError("--custom-key-store-id makes a key of origin AWS_CLOUDHSM")
        origin = "AWS_CLOUDHSM"
    elif origin == "AWS_CLOUDHSM":
        raise click.UsageError("--origin AWS_CLOUDHSM needs --custom-key-store-id")
    body: dict[str, Any] = {"Description": description}
    if origin not in (None, "AWS_KMS"):
        body["Origin"] = origin
    if custom_key_store_id is not None:
        body["CustomKeyStoreId"] = custom_key_store_id
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
    show(request("POST", "/v1/keys", body))


@keys.command("list")
def list_keys() -> None:
    """The ARN of every key of the caller's account, one a line."""
    for entry in pages("/v1/keys", "Keys"):
        click.echo(entry["KeyArn"])


@keys.command("describe")
@click.argument("key_id")
def describe(key_id: str) -> None:
    """KeyMetadata of a key (id, ARN, alias name or alias ARN)."""
    show(request("GET", key_path(key_id)))


@keys.command("update-description")
@click.argument("key_id")
@click.argument("description")
def update_description(key_id: str, description: str) -> None:
    """Replace a key's description."""
    request("PATCH", key_path(key_id), {"Description": description})
    click.echo(f"updated the description of {key_id}")


@keys.command("enable")
@click.argument("key_id")
def enable(key_id: str) -> None:
    """Enable a disabled key: it may encrypt and decrypt again."""
    request("POST", key_path(key_id, "/enable"), {})
    click.echo(f"enabled {key_id}")


@keys.command("disable")
@click.argument("key_id")
def disable(key_id: str) -> None:
    """Disable a key: every cryptographic request with it fails until it is enabled."""
    request("POST", key_path(key_id, "/disable"), {})
    click.echo(f"disabled {key_id}")


@keys.command("schedule-deletion")
@click.argument("key_id")
@click.option(
    "--days",
    type=click.IntRange(7, 30),
    default=30,
    show_default=True,
    help="Days before the key and its material are deleted.",
)
def schedule_deletion(key_id: str, days: int) -> None:
    """Delete a key after a waiting period of 7-30 days."""
    show(request("POST", key_path(key_id, "/schedule-deletion"), {"PendingWindowInDays": days}))


@keys.command("cancel-deletion")
@click.argument("key_id")
def cancel_deletion(key_id: str) -> None:
    """Cancel a scheduled deletion (the key is left Disabled)."""
    show(request("POST", key_path(key_id, "/cancel-deletion"), {}))


@keys.command("import")
@click.argument("key_id")
@click.option(
    "--material",
    "material_file",
    type=click.File("rb"),
    required=True,
    help="The key material: 32 raw bytes (symmetric), raw bytes (HMAC), or a private "
    "key in DER PKCS#8 or PEM (RSA/ECC).",
)
@click.option(
    "--wrapping-algorithm",
    type=click.Choice(sorted(WRAPPING_ALGORITHMS)),
    default="RSA_AES_KEY_WRAP_SHA_256",
    show_default=True,
)
@click.option(
    "--wrapping-key-spec",
    type=click.Choice(["RSA_2048", "RSA_3072", "RSA_4096"]),
    default="RSA_3072",
    show_default=True,
)
@click.option(
    "--valid-days",
    type=click.IntRange(1, 365),
    default=None,
    help="The material expires after this many days (KEY_MATERIAL_EXPIRES).",
)
@click.option("--no-expiry", is_flag=True, help="The material does not expire.")
def import_material(
    key_id: str,
    material_file: Any,
    wrapping_algorithm: str,
    wrapping_key_spec: str,
    valid_days: int | None,
    no_expiry: bool,
) -> None:
    """Import key material into an EXTERNAL key in one step: fetch a wrapping
    key and import token, wrap the material here, import it. The material
    leaves this machine only wrapped."""
    if (valid_days is None) == (not no_expiry):
        raise click.UsageError("give exactly one of --valid-days N and --no-expiry")
    try:
        material = material_from_file(material_file.read())
    except ValueError as exc:
        raise click.ClickException(f"cannot read the key material: {exc}") from None
    parameters = request(
        "POST",
        key_path(key_id, "/import-parameters"),
        {"WrappingAlgorithm": wrapping_algorithm, "WrappingKeySpec": wrapping_key_spec},
    )
    public_key = base64.b64decode(parameters["PublicKey"])
    try:
        wrapped = wrap_key_material(public_key, wrapping_algorithm, material)
    except ValueError as exc:
        raise click.ClickException(f"cannot wrap the key material: {exc}") from None
    body: dict[str, Any] = {
        "ImportToken": parameters["ImportToken"],
        "EncryptedKeyMaterial": base64.b64encode(wrapped).decode("ascii"),
    }
    if no_expiry:
        body["ExpirationModel"] = "KEY_MATERIAL_DOES_NOT_EXPIRE"
    else:
        assert valid_days is not None
        body["ExpirationModel"] = "KEY_MATERIAL_EXPIRES"
        body["ValidTo"] = int(time.time()) + valid_days * 86400
    show(request("POST", key_path(key_id, "/key-material"), body))


@keys.command("delete-material")
@click.argument("key_id")
def delete_material(key_id: str) -> None:
    """Delete an EXTERNAL key's imported material (the key becomes PendingImport)."""
    show(request("DELETE", key_path(key_id, "/key-material")))


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
    click.echo(request("POST", key_path(key_id, "/encrypt"), body)["CiphertextBlob"])


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


COMMANDS = (keys, encrypt, decrypt)
