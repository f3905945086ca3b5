"""Regenerate tests/vectors/ciphertext_v1.json (known-answer vectors for format v1).

Run from the repository root::

    PYTHONPATH=. .venv/bin/python tests/vectors/generate_ciphertext_v1.py

Every input is fixed: the material is SHA-256 of a case label, and the salt
and IV are fixed byte strings handed to ``encrypt`` through its ``random``
parameter (salt drawn first, then IV). The intermediate values (canonical
context, derived AES key, commitment) are recorded so that another
implementation can check each step. Regenerating must not change the file;
if it does, the format changed and needs a new version byte instead.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.crypto.ciphertext import LABEL_COMMITMENT, LABEL_ENCRYPTION_KEY, encrypt
from app.crypto.encryption_context import canonical_context
from app.crypto.kdf import kbkdf_hmac_sha256
from app.crypto.material import KeyMaterial

OUTPUT = Path(__file__).with_name("ciphertext_v1.json")

CASES: list[dict[str, Any]] = [
    {
        "name": "empty plaintext, empty context",
        "key_id": "00000000-0000-4000-8000-000000000001",
        "key_version": 1,
        "context": {},
        "plaintext": b"",
    },
    {
        "name": "short text with a context",
        "key_id": "1234abcd-12ab-34cd-56ef-1234567890ab",
        "key_version": 2,
        "context": {"tenant": "acme", "purpose": "test"},
        "plaintext": b"Hello, Trent!",
    },
    {
        "name": "unicode context, prefix keys, empty value, largest key version",
        "key_id": "ffffffff-ffff-4fff-bfff-ffffffffffff",
        "key_version": 0xFFFF_FFFF,
        "context": {"ab": "c", "a": "", "abc": "\u00fc\u2192\U0001f511", "\u00e9": "x"},
        "plaintext": bytes(range(32)),
    },
    {
        "name": "largest plaintext (4096 bytes)",
        "key_id": "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f0",
        "key_version": 7,
        "context": {"k": "v"},
        "plaintext": bytes(range(256)) * 16,
    },
]


def _pinned(values: list[bytes]) -> Callable[[int], bytes]:
    queue = list(values)

    def draw(size: int) -> bytes:
        value = queue.pop(0)
        assert len(value) == size
        return value

    return draw


def build() -> dict[str, Any]:
    vectors = []
    for index, case in enumerate(CASES):
        material_bytes = hashlib.sha256(f"trent ciphertext v1 vector {index}".encode()).digest()
        salt = bytes((index * 16 + i) % 256 for i in range(32))
        iv = bytes((0xA0 + index + i) % 256 for i in range(12))
        key_id = uuid.UUID(case["key_id"])
        blob = encrypt(
            KeyMaterial(material_bytes),
            key_id=key_id,
            key_version=case["key_version"],
            plaintext=case["plaintext"],
            context=case["context"],
            random=_pinned([salt, iv]),
        )
        kdf_context = blob[:54]
        vectors.append(
            {
                "name": case["name"],
                "material_hex": material_bytes.hex(),
                "key_id": str(key_id),
                "key_version": case["key_version"],
                "context": case["context"],
                "plaintext_hex": case["plaintext"].hex(),
                "salt_hex": salt.hex(),
                "iv_hex": iv.hex(),
                "canonical_context_hex": canonical_context(case["context"]).hex(),
                "kdf_context_hex": kdf_context.hex(),
                "encryption_key_hex": kbkdf_hmac_sha256(
                    material_bytes, label=LABEL_ENCRYPTION_KEY, context=kdf_context
                ).hex(),
                "commitment_hex": kbkdf_hmac_sha256(
                    material_bytes, label=LABEL_COMMITMENT, context=kdf_context
                ).hex(),
                "ciphertext_hex": blob.hex(),
            }
        )
    return {
        "description": (
            "Known-answer vectors for Trent ciphertext format v1 (format 0x01, suite 0x01: "
            "SP 800-108 counter-mode HMAC-SHA256 -> AES-256-GCM with key commitment)."
        ),
        "generated_by": (
            "PYTHONPATH=. .venv/bin/python tests/vectors/generate_ciphertext_v1.py; material = "
            "SHA-256('trent ciphertext v1 vector <index>'), salt and IV fixed and injected "
            "through encrypt(random=...), salt drawn first, then IV"
        ),
        "layout": [
            "0:1 format version 0x01",
            "1:2 suite 0x01",
            "2:18 key id (UUID bytes)",
            "18:22 key version (u32 big-endian)",
            "22:54 KDF salt",
            "54:86 key commitment",
            "86:98 GCM IV",
            "98:-16 AES-256-GCM ciphertext",
            "-16: GCM tag",
        ],
        "kdf": {
            "function": (
                "NIST SP 800-108 counter mode, PRF HMAC-SHA256, r=32-bit counter before the "
                "fixed input, L=256 as a 32-bit integer: counter || label || 0x00 || context || L"
            ),
            "context": "ciphertext bytes 0:54 (version, suite, key id, key version, salt)",
            "encryption_key_label": LABEL_ENCRYPTION_KEY.decode(),
            "commitment_label": LABEL_COMMITMENT.decode(),
        },
        "aad": "ciphertext bytes 0:98 || canonical encryption context",
        "canonical_context": (
            "u16 pair count, then pairs sorted by UTF-8 key bytes, each as u16 len || key || "
            "u16 len || value (UTF-8, big-endian lengths)"
        ),
        "vectors": vectors,
    }


def main() -> None:
    OUTPUT.write_text(json.dumps(build(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
