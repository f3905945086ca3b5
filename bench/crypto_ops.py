"""Cost of the per-request cryptography: ``.venv/bin/python -m bench.crypto_ops``.

Prints microseconds per operation (best of several rounds, so noise from other
processes inflates nothing): Encrypt and Decrypt of 1 KiB, sealing and
unsealing one key version, and the material id.
"""

from __future__ import annotations

import base64
import os
import timeit
import uuid
from collections.abc import Callable

from app.crypto.ciphertext import decrypt, encrypt, parse_header
from app.crypto.material import generate_material, material_id, seal_material, unseal_material
from app.crypto.root_key import EnvRootKeyProvider

ARN = "arn:aws:kms:us-east-1:111122223333:key/6f1c2f0e-8a5b-4c1d-9e2f-3a4b5c6d7e8f"
CONTEXT = {"purpose": "bench", "tenant": "acme"}


def _microseconds(operation: Callable[[], object], number: int = 2000, repeat: int = 5) -> float:
    best = min(timeit.repeat(operation, number=number, repeat=repeat))
    return best / number * 1e6


def main() -> None:
    root = EnvRootKeyProvider.from_base64(base64.b64encode(os.urandom(32)).decode())
    material = generate_material()
    key_id = uuid.uuid4()
    plaintext = os.urandom(1024)
    blob = encrypt(material, key_id=key_id, key_version=1, plaintext=plaintext, context=CONTEXT)
    sealed = seal_material(root, material, key_arn=ARN, version=1)

    rows = [
        (
            "encrypt 1 KiB",
            lambda: encrypt(
                material, key_id=key_id, key_version=1, plaintext=plaintext, context=CONTEXT
            ),
        ),
        ("decrypt 1 KiB", lambda: decrypt(material, parse_header(blob), blob, CONTEXT)),
        ("seal key material", lambda: seal_material(root, material, key_arn=ARN, version=1)),
        ("unseal key material", lambda: unseal_material(root, sealed, key_arn=ARN, version=1)),
        ("material id", lambda: material_id(key_id, material)),
    ]
    print(f"{'operation':<22} {'us/op':>8}")
    print(f"{'-' * 22} {'-' * 8}")
    for name, operation in rows:
        print(f"{name:<22} {_microseconds(operation):>8.1f}")


if __name__ == "__main__":
    main()
