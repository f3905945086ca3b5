"""Known-answer vectors: tests/vectors/ciphertext_v1.json (see its "generated_by")."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app.crypto.ciphertext import decrypt, encrypt, parse_header
from app.crypto.encryption_context import canonical_context
from app.crypto.material import KeyMaterial
from app.errors import InvalidCiphertextError

VECTORS_FILE = Path(__file__).parents[2] / "vectors" / "ciphertext_v1.json"
DOCUMENT = json.loads(VECTORS_FILE.read_text(encoding="utf-8"))
VECTORS: list[dict[str, Any]] = DOCUMENT["vectors"]


def _pinned(*values: bytes) -> Callable[[int], bytes]:
    queue = list(values)

    def draw(size: int) -> bytes:
        value = queue.pop(0)
        assert len(value) == size
        return value

    return draw


def _sp800_108_single_block(key: bytes, label: bytes, context: bytes) -> bytes:
    """An independent statement of the KDF for 256-bit outputs, to pin the construction."""
    fixed = (1).to_bytes(4, "big") + label + b"\x00" + context + (256).to_bytes(4, "big")
    return hmac.new(key, fixed, hashlib.sha256).digest()


def test_the_file_covers_the_interesting_cases() -> None:
    assert len(VECTORS) >= 4
    assert {len(bytes.fromhex(v["plaintext_hex"])) for v in VECTORS} >= {0, 4096}
    assert "generated_by" in DOCUMENT


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_encrypt_reproduces_the_vector(vector: dict[str, Any]) -> None:
    blob = encrypt(
        KeyMaterial(bytes.fromhex(vector["material_hex"])),
        key_id=uuid.UUID(vector["key_id"]),
        key_version=vector["key_version"],
        plaintext=bytes.fromhex(vector["plaintext_hex"]),
        context=vector["context"],
        random=_pinned(bytes.fromhex(vector["salt_hex"]), bytes.fromhex(vector["iv_hex"])),
    )
    assert blob.hex() == vector["ciphertext_hex"]


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_decrypt_opens_the_stored_blob(vector: dict[str, Any]) -> None:
    blob = bytes.fromhex(vector["ciphertext_hex"])
    material = KeyMaterial(bytes.fromhex(vector["material_hex"]))
    header = parse_header(blob)
    assert header.key_id == uuid.UUID(vector["key_id"])
    assert header.key_version == vector["key_version"]
    assert decrypt(material, header, blob, vector["context"]).hex() == vector["plaintext_hex"]
    with pytest.raises(InvalidCiphertextError):
        decrypt(material, header, blob, {**vector["context"], "extra": "pair"})


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_intermediate_values_follow_the_documented_construction(vector: dict[str, Any]) -> None:
    blob = bytes.fromhex(vector["ciphertext_hex"])
    material = bytes.fromhex(vector["material_hex"])
    kdf = DOCUMENT["kdf"]
    kdf_context = blob[:54]
    assert kdf_context.hex() == vector["kdf_context_hex"]
    assert kdf_context[22:54].hex() == vector["salt_hex"]
    key = _sp800_108_single_block(material, kdf["encryption_key_label"].encode(), kdf_context)
    commitment = _sp800_108_single_block(material, kdf["commitment_label"].encode(), kdf_context)
    assert key.hex() == vector["encryption_key_hex"]
    assert commitment.hex() == vector["commitment_hex"] == blob[54:86].hex()
    assert blob[86:98].hex() == vector["iv_hex"]
    canonical = canonical_context(vector["context"])
    assert canonical.hex() == vector["canonical_context_hex"]
    plaintext = AESGCM(key).decrypt(blob[86:98], blob[98:], blob[:98] + canonical)
    assert plaintext.hex() == vector["plaintext_hex"]
