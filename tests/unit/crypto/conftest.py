from __future__ import annotations

import base64
import uuid

import pytest

from app.crypto.material import KeyMaterial, generate_material
from app.crypto.root_key import EnvRootKeyProvider


@pytest.fixture
def material() -> KeyMaterial:
    return generate_material()


@pytest.fixture
def key_id() -> uuid.UUID:
    return uuid.UUID("6f1c2f0e-8a5b-4c1d-9e2f-3a4b5c6d7e8f")


@pytest.fixture
def root_bytes() -> bytes:
    return bytes(range(100, 132))


@pytest.fixture
def root(root_bytes: bytes) -> EnvRootKeyProvider:
    return EnvRootKeyProvider.from_base64(base64.b64encode(root_bytes).decode())
