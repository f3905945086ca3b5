"""Data key pairs: the private key comes back encrypted in ciphertext format 1."""

from __future__ import annotations

import pickle
import uuid

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from app.crypto.ciphertext import decrypt, parse_header
from app.crypto.key_pairs import generate_data_key_pair
from app.crypto.material import KeyMaterial
from app.errors import InvalidCiphertextError
from app.keys.specs import KEY_PAIR_SPECS
from tests.unit.crypto.leaks import assert_no_leak


@pytest.mark.parametrize("spec", [s for s in KEY_PAIR_SPECS if s != "RSA_4096"])
def test_the_private_key_decrypts_to_the_pkcs8_of_the_public_key(
    material: KeyMaterial, key_id: uuid.UUID, spec: str
) -> None:
    context = {"purpose": "pair"}
    pair = generate_data_key_pair(
        material, key_id=key_id, key_version=2, key_pair_spec=spec, context=context
    )
    header = parse_header(pair.private_ciphertext)
    assert (header.key_id, header.key_version) == (key_id, 2)
    der = decrypt(material, header, pair.private_ciphertext, context)
    assert der == pair.private_plaintext
    private = serialization.load_der_private_key(der, password=None)
    assert isinstance(private, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey)
    assert (
        private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        == pair.public_key
    )
    with pytest.raises(InvalidCiphertextError):
        decrypt(material, header, pair.private_ciphertext, {"purpose": "other"})


def test_a_pair_never_shows_its_private_key(material: KeyMaterial, key_id: uuid.UUID) -> None:
    pair = generate_data_key_pair(
        material, key_id=key_id, key_version=1, key_pair_spec="ECC_NIST_P256", context={}
    )
    assert_no_leak(repr(pair) + str(pair), pair.private_plaintext)
    with pytest.raises(TypeError):
        pickle.dumps(pair)


def test_an_unknown_pair_spec_is_refused(material: KeyMaterial, key_id: uuid.UUID) -> None:
    with pytest.raises(ValueError):
        generate_data_key_pair(
            material, key_id=key_id, key_version=1, key_pair_spec="SM2", context={}
        )
