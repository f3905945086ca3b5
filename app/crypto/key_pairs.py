"""Data key pairs (GenerateDataKeyPair): a new RSA or EC key pair whose
private key is returned encrypted under a symmetric key, in ciphertext
format 1, so that Decrypt with the same encryption context gives back the
DER PKCS#8 private key. Trent keeps nothing of the pair."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NoReturn

from app.crypto.ciphertext import SymmetricKey, encrypt
from app.crypto.private_keys import generate_private_key, public_key_der
from app.keys.specs import KEY_PAIR_SPECS


@dataclass(frozen=True, slots=True, repr=False)
class DataKeyPair:
    """A new pair. ``private_plaintext`` goes to the caller at most once."""

    private_plaintext: bytes = field(repr=False)
    private_ciphertext: bytes
    public_key: bytes

    def __repr__(self) -> str:
        return (
            f"DataKeyPair(private_plaintext=<{len(self.private_plaintext)} secret bytes>, "
            f"private_ciphertext=<...>, public_key=<{len(self.public_key)} bytes>)"
        )

    def __reduce__(self) -> NoReturn:
        raise TypeError("DataKeyPair cannot be pickled")


def generate_data_key_pair(
    material: SymmetricKey,
    *,
    key_id: uuid.UUID,
    key_version: int,
    key_pair_spec: str,
    context: Mapping[str, str],
) -> DataKeyPair:
    """A fresh pair of ``key_pair_spec``, its private key encrypted under ``material``."""
    if key_pair_spec not in KEY_PAIR_SPECS:
        raise ValueError(f"{key_pair_spec} is not a key pair spec this service makes")
    private = generate_private_key(key_pair_spec)
    der = private.expose_secret_bytes()
    ciphertext = encrypt(
        material, key_id=key_id, key_version=key_version, plaintext=der, context=context
    )
    return DataKeyPair(
        private_plaintext=der, private_ciphertext=ciphertext, public_key=public_key_der(private)
    )
