"""RSA and ECDSA verification against NIST CAVP known answers shipped by the
``cryptography_vectors`` package: every vector marked valid verifies, every
one marked invalid does not."""

from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from app.crypto.private_keys import spki_der
from app.crypto.signatures import verify_with_public_key
from tests.unit.crypto.vector_files import records, vector_file

RSA_SPECS = {"2048": "RSA_2048", "3072": "RSA_3072", "4096": "RSA_4096"}
PKCS1_ALGORITHMS = {
    "SHA256": "RSASSA_PKCS1_V1_5_SHA_256",
    "SHA384": "RSASSA_PKCS1_V1_5_SHA_384",
    "SHA512": "RSASSA_PKCS1_V1_5_SHA_512",
}
PSS_ALGORITHMS = {
    "SHA256": "RSASSA_PSS_SHA_256",
    "SHA384": "RSASSA_PSS_SHA_384",
    "SHA512": "RSASSA_PSS_SHA_512",
}
ECDSA_SECTIONS = {
    "P-256,SHA-256": ("ECC_NIST_P256", ec.SECP256R1(), "ECDSA_SHA_256"),
    "P-384,SHA-384": ("ECC_NIST_P384", ec.SECP384R1(), "ECDSA_SHA_384"),
    "P-521,SHA-512": ("ECC_NIST_P521", ec.SECP521R1(), "ECDSA_SHA_512"),
}
DIGESTS = {
    "ECDSA_SHA_256": hashlib.sha256,
    "ECDSA_SHA_384": hashlib.sha384,
    "ECDSA_SHA_512": hashlib.sha512,
}


def _rsa_public(record: dict[str, str]) -> bytes:
    numbers = rsa.RSAPublicNumbers(int(record["e"], 16), int(record["n"], 16))
    return spki_der(numbers.public_key())


def _rsa_cases(file: str, algorithms: dict[str, str]) -> list[tuple[str, str, dict[str, str]]]:
    cases = []
    for record in records(vector_file("asymmetric", "RSA", "FIPS_186-2", file)):
        bits = record["section"].removeprefix("mod = ")
        if bits in RSA_SPECS and record["SHAAlg"] in algorithms:
            cases.append((RSA_SPECS[bits], algorithms[record["SHAAlg"]], record))
    return cases


PKCS1_CASES = _rsa_cases("SigVer15_186-3.rsp", PKCS1_ALGORITHMS)
PSS_CASES = _rsa_cases("SigVerPSS_186-3.rsp", PSS_ALGORITHMS)


def test_the_vectors_cover_every_rsa_spec_and_hash_with_both_outcomes() -> None:
    assert {(spec, alg) for spec, alg, _ in PKCS1_CASES} == {
        (spec, alg) for spec in RSA_SPECS.values() for alg in PKCS1_ALGORITHMS.values()
    }
    outcomes = {record["Result"][0] for _, _, record in PKCS1_CASES}
    assert outcomes == {"P", "F"}


@pytest.mark.parametrize(("spec", "algorithm", "record"), PKCS1_CASES)
def test_pkcs1_v1_5_verification_matches_nist(
    spec: str, algorithm: str, record: dict[str, str]
) -> None:
    valid = verify_with_public_key(
        _rsa_public(record),
        key_spec=spec,
        algorithm=algorithm,
        message=bytes.fromhex(record["Msg"]),
        signature=bytes.fromhex(record["S"]),
    )
    assert valid is record["Result"].startswith("P")


@pytest.mark.parametrize(("spec", "algorithm", "record"), PSS_CASES)
def test_pss_signatures_with_another_salt_length_are_refused(
    spec: str, algorithm: str, record: dict[str, str]
) -> None:
    """NIST's PSS vectors use a 10-byte salt; AWS (and Trent) verify PSS with
    a salt as long as the digest, so even the vectors marked valid must fail,
    while they do verify with the salt length they were made with."""
    message, signature = bytes.fromhex(record["Msg"]), bytes.fromhex(record["S"])
    public = rsa.RSAPublicNumbers(int(record["e"], 16), int(record["n"], 16)).public_key()
    chosen = {"RSASSA_PSS_SHA_256": hashes.SHA256, "RSASSA_PSS_SHA_384": hashes.SHA384}.get(
        algorithm, hashes.SHA512
    )()
    if record["Result"].startswith("P"):
        public.verify(
            signature, message, padding.PSS(mgf=padding.MGF1(chosen), salt_length=10), chosen
        )
    assert not verify_with_public_key(
        spki_der(public), key_spec=spec, algorithm=algorithm, message=message, signature=signature
    )


def _ecdsa_cases() -> list[tuple[str, str, bytes, bytes, bytes, bool]]:
    cases = []
    for record in records(vector_file("asymmetric", "ECDSA", "FIPS_186-3", "SigVer.rsp")):
        if record["section"] not in ECDSA_SECTIONS:
            continue
        spec, curve, algorithm = ECDSA_SECTIONS[record["section"]]
        public = ec.EllipticCurvePublicNumbers(
            int(record["Qx"], 16), int(record["Qy"], 16), curve
        ).public_key()
        signature = encode_dss_signature(int(record["R"], 16), int(record["S"], 16))
        valid = record["Result"].startswith("P")
        cases.append(
            (spec, algorithm, spki_der(public), bytes.fromhex(record["Msg"]), signature, valid)
        )
    for record in records(vector_file("asymmetric", "ECDSA", "SECP256K1", "SigGen.txt")):
        if record["section"] != "K-256,SHA-256":
            continue
        public = ec.EllipticCurvePublicNumbers(
            int(record["Qx"], 16), int(record["Qy"], 16), ec.SECP256K1()
        ).public_key()
        signature = encode_dss_signature(int(record["R"], 16), int(record["S"], 16))
        cases.append(
            (
                "ECC_SECG_P256K1",
                "ECDSA_SHA_256",
                spki_der(public),
                bytes.fromhex(record["Msg"]),
                signature,
                True,
            )
        )
    return cases


ECDSA_CASES = _ecdsa_cases()


def test_the_vectors_cover_every_curve_with_both_outcomes() -> None:
    assert {case[0] for case in ECDSA_CASES} == {
        "ECC_NIST_P256",
        "ECC_NIST_P384",
        "ECC_NIST_P521",
        "ECC_SECG_P256K1",
    }
    assert {case[5] for case in ECDSA_CASES if case[0] == "ECC_NIST_P256"} == {True, False}


@pytest.mark.parametrize(
    ("spec", "algorithm", "public", "message", "signature", "valid"), ECDSA_CASES
)
def test_ecdsa_verification_matches_the_vectors(
    spec: str, algorithm: str, public: bytes, message: bytes, signature: bytes, valid: bool
) -> None:
    assert (
        verify_with_public_key(
            public, key_spec=spec, algorithm=algorithm, message=message, signature=signature
        )
        is valid
    )
    # The same answer for the digest of the message (MessageType DIGEST).
    assert (
        verify_with_public_key(
            public,
            key_spec=spec,
            algorithm=algorithm,
            message=DIGESTS[algorithm](message).digest(),
            signature=signature,
            message_type="DIGEST",
        )
        is valid
    )
