"""Data keys (GenerateDataKey): random bytes, returned once in plaintext and once
encrypted under a customer key in ciphertext format v1, so Decrypt accepts them."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import NoReturn

from app.crypto.ciphertext import SymmetricKey, encrypt
from app.crypto.randomness import random_bytes
from app.errors import ValidationError

MIN_DATA_KEY_BYTES = 1
MAX_DATA_KEY_BYTES = 1024


@dataclass(frozen=True, slots=True, repr=False)
class DataKey:
    """A new data key. ``plaintext`` goes to the caller once and is never stored or logged."""

    plaintext: bytes = field(repr=False)
    ciphertext: bytes

    def __repr__(self) -> str:
        return f"DataKey(plaintext=<{len(self.plaintext)} secret bytes>, ciphertext=<...>)"

    def __reduce__(self) -> NoReturn:
        raise TypeError("DataKey cannot be pickled")


def generate_data_key(
    material: SymmetricKey,
    *,
    key_id: uuid.UUID,
    key_version: int,
    number_of_bytes: int,
    context: Mapping[str, str],
    random: Callable[[int], bytes] = os.urandom,
) -> DataKey:
    """A fresh ``number_of_bytes``-byte data key (1..1024) encrypted under the material."""
    if isinstance(number_of_bytes, bool) or not (
        isinstance(number_of_bytes, int)
        and MIN_DATA_KEY_BYTES <= number_of_bytes <= MAX_DATA_KEY_BYTES
    ):
        raise ValidationError(
            f"NumberOfBytes must be between {MIN_DATA_KEY_BYTES} and {MAX_DATA_KEY_BYTES}",
            field="NumberOfBytes",
        )
    plaintext = random_bytes(number_of_bytes)
    ciphertext = encrypt(
        material,
        key_id=key_id,
        key_version=key_version,
        plaintext=plaintext,
        context=context,
        random=random,
    )
    return DataKey(plaintext=plaintext, ciphertext=ciphertext)
