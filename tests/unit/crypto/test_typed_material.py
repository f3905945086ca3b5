"""Material of every key spec, sealed: format 1 for symmetric keys unchanged,
format 2 bound to the key ARN, version and spec for the others."""

from __future__ import annotations

import pytest

from app.crypto.hmac_keys import HmacKeyMaterial
from app.crypto.material import KeyMaterial, seal_material, unseal_material
from app.crypto.private_keys import PrivateKeyMaterial
from app.crypto.root_key import EnvRootKeyProvider, RootKeyError
from app.crypto.typed_material import new_material, seal_any, unseal_any
from tests.unit.crypto.leaks import assert_no_leak

ARN = "arn:aws:kms:us-east-1:111122223333:key/6f1c2f0e-8a5b-4c1d-9e2f-3a4b5c6d7e8f"
OTHER = "arn:aws:kms:us-east-1:111122223333:key/00000000-8a5b-4c1d-9e2f-3a4b5c6d7e8f"
KINDS = {
    "SYMMETRIC_DEFAULT": KeyMaterial,
    "HMAC_224": HmacKeyMaterial,
    "HMAC_512": HmacKeyMaterial,
    "RSA_2048": PrivateKeyMaterial,
    "ECC_NIST_P256": PrivateKeyMaterial,
    "ECC_SECG_P256K1": PrivateKeyMaterial,
}


@pytest.mark.parametrize(("spec", "kind"), KINDS.items())
def test_material_of_each_spec_seals_and_unseals(
    root: EnvRootKeyProvider, spec: str, kind: type
) -> None:
    material = new_material(spec)
    assert type(material) is kind
    sealed = seal_any(root, material, key_arn=ARN, version=3, key_spec=spec)
    assert_no_leak(sealed.blob.hex() + repr(sealed), material.expose_secret_bytes())
    again = unseal_any(root, sealed, key_arn=ARN, version=3, key_spec=spec)
    assert type(again) is kind and again == material


@pytest.mark.parametrize("spec", ["HMAC_256", "ECC_NIST_P384"])
def test_a_sealed_version_moved_to_another_key_version_or_spec_does_not_unseal(
    root: EnvRootKeyProvider, spec: str
) -> None:
    sealed = seal_any(root, new_material(spec), key_arn=ARN, version=1, key_spec=spec)
    other_spec = "HMAC_384" if spec.startswith("HMAC") else "ECC_NIST_P256"
    for arn, version, key_spec in ((OTHER, 1, spec), (ARN, 2, spec), (ARN, 1, other_spec)):
        with pytest.raises(RootKeyError):
            unseal_any(root, sealed, key_arn=arn, version=version, key_spec=key_spec)
    # Nor is it format 1 (symmetric) material, in either direction.
    with pytest.raises(RootKeyError):
        unseal_material(root, sealed, key_arn=ARN, version=1)


def test_symmetric_versions_sealed_by_format_1_unseal_unchanged(root: EnvRootKeyProvider) -> None:
    material = new_material("SYMMETRIC_DEFAULT")
    assert isinstance(material, KeyMaterial)
    sealed = seal_material(root, material, key_arn=ARN, version=1)
    assert (
        unseal_any(root, sealed, key_arn=ARN, version=1, key_spec="SYMMETRIC_DEFAULT") == material
    )
    assert (
        seal_any(root, material, key_arn=ARN, version=1, key_spec="SYMMETRIC_DEFAULT").blob[0] == 1
    )
    with pytest.raises(RootKeyError):
        unseal_any(root, sealed, key_arn=ARN, version=1, key_spec="HMAC_256")


def test_material_of_the_wrong_type_for_the_spec_is_never_sealed(root: EnvRootKeyProvider) -> None:
    with pytest.raises(TypeError):
        seal_any(root, new_material("HMAC_256"), key_arn=ARN, version=1, key_spec="RSA_2048")
    with pytest.raises(TypeError):
        seal_any(root, new_material("ECC_NIST_P256"), key_arn=ARN, version=1, key_spec="HMAC_256")
    with pytest.raises(TypeError):
        seal_any(
            root, new_material("HMAC_256"), key_arn=ARN, version=1, key_spec="SYMMETRIC_DEFAULT"
        )


def test_symmetric_and_hmac_material_come_from_the_given_random_source() -> None:
    drawn: list[int] = []

    def source(n: int) -> bytes:
        drawn.append(n)
        return b"\x07" * n

    assert new_material("HMAC_384", source).expose_secret_bytes() == b"\x07" * 48
    assert new_material("SYMMETRIC_DEFAULT", source).expose_secret_bytes() == b"\x07" * 32
    assert drawn == [48, 32]
