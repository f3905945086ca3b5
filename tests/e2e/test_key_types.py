"""HMAC and asymmetric keys against a real server: boto3 for each operation,
the ``trent`` client commands, and signatures that ``openssl`` verifies."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from policies import administrators_users_policy
from tests.e2e.conftest import ACCOUNT, TRENT, Server, kms_client

pytestmark = pytest.mark.e2e

# Principals of their own: other modules hold access keys for the usual ones, and a
# principal may have only so many.
ADMIN = f"arn:aws:iam::{ACCOUNT}:user/signing-admin"
APP = f"arn:aws:iam::{ACCOUNT}:role/SigningApp"


@pytest.fixture(scope="module")
def clients(server: Server) -> dict[str, Any]:
    return {
        "server": server,
        "admin": kms_client(server, *server.access_key("--user", "signing-admin")),
        "app": kms_client(server, *server.access_key("--role", "SigningApp")),
    }


def create(clients: dict[str, Any], spec: str, usage: str) -> dict[str, Any]:
    """A key made by the account root over REST, administered by ADMIN, used by APP."""
    server: Server = clients["server"]
    policy = administrators_users_policy("aws", ACCOUNT, [ADMIN], [APP])
    body = {"KeySpec": spec, "KeyUsage": usage, "Policy": policy}
    created = server.rest("POST", "/v1/keys", server.token("--root"), body)
    assert isinstance(created, dict)
    metadata: dict[str, Any] = created["KeyMetadata"]
    return metadata


def code(error: ClientError) -> str:
    return str(error.response["Error"]["Code"])


def test_boto3_sign_verify_and_get_public_key(clients: dict[str, Any]) -> None:
    app = clients["app"]
    key = create(clients, "RSA_3072", "SIGN_VERIFY")
    assert key["SigningAlgorithms"][0] == "RSASSA_PKCS1_V1_5_SHA_256"
    signed = app.sign(KeyId=key["Arn"], Message=b"boto3", SigningAlgorithm="RSASSA_PSS_SHA_512")
    assert signed["KeyId"] == key["Arn"] and signed["SigningAlgorithm"] == "RSASSA_PSS_SHA_512"
    verified = app.verify(
        KeyId=key["KeyId"],
        Message=hashlib.sha512(b"boto3").digest(),
        MessageType="DIGEST",
        Signature=signed["Signature"],
        SigningAlgorithm="RSASSA_PSS_SHA_512",
    )
    assert verified["SignatureValid"] is True
    with pytest.raises(ClientError) as info:
        app.verify(
            KeyId=key["KeyId"],
            Message=b"other",
            Signature=signed["Signature"],
            SigningAlgorithm="RSASSA_PSS_SHA_512",
        )
    assert code(info.value) == "KMSInvalidSignatureException"
    answer = app.get_public_key(KeyId=key["KeyId"])
    assert answer["KeySpec"] == "RSA_3072" and answer["KeyUsage"] == "SIGN_VERIFY"
    public = serialization.load_der_public_key(answer["PublicKey"])
    assert isinstance(public, rsa.RSAPublicKey) and public.key_size == 3072
    public.verify(
        signed["Signature"],
        b"boto3",
        padding.PSS(mgf=padding.MGF1(hashes.SHA512()), salt_length=64),
        hashes.SHA512(),
    )
    # Separation of duties: the administrator may neither sign nor fetch the public key.
    for call in (
        lambda: clients["admin"].sign(
            KeyId=key["KeyId"], Message=b"x", SigningAlgorithm="RSASSA_PSS_SHA_256"
        ),
        lambda: clients["admin"].get_public_key(KeyId=key["KeyId"]),
    ):
        with pytest.raises(ClientError) as info:
            call()
        assert code(info.value) == "AccessDeniedException"


def test_boto3_generate_mac_and_verify_mac(clients: dict[str, Any]) -> None:
    app = clients["app"]
    key = create(clients, "HMAC_256", "GENERATE_VERIFY_MAC")
    assert key["MacAlgorithms"] == ["HMAC_SHA_256"]
    made = app.generate_mac(KeyId=key["KeyId"], Message=b"webhook", MacAlgorithm="HMAC_SHA_256")
    assert made["KeyId"] == key["Arn"] and len(made["Mac"]) == 32
    checked = app.verify_mac(
        KeyId=key["KeyId"], Message=b"webhook", Mac=made["Mac"], MacAlgorithm="HMAC_SHA_256"
    )
    assert checked["MacValid"] is True
    with pytest.raises(ClientError) as info:
        app.verify_mac(
            KeyId=key["KeyId"], Message=b"webhook!", Mac=made["Mac"], MacAlgorithm="HMAC_SHA_256"
        )
    assert code(info.value) == "KMSInvalidMacException"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(ClientError) as info:
        app.generate_mac(KeyId=key["KeyId"], Message=b"x", MacAlgorithm="HMAC_SHA_384")
    assert code(info.value) == "InvalidKeyUsageException"


def test_boto3_generate_data_key_pair_with_and_without_plaintext(clients: dict[str, Any]) -> None:
    app = clients["app"]
    key = create(clients, "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT")
    context = {"tenant": "acme"}
    pair = app.generate_data_key_pair(
        KeyId=key["KeyId"], KeyPairSpec="ECC_NIST_P521", EncryptionContext=context
    )
    assert pair["KeyId"] == key["Arn"] and pair["KeyPairSpec"] == "ECC_NIST_P521"
    private = serialization.load_der_private_key(pair["PrivateKeyPlaintext"], password=None)
    assert isinstance(private, ec.EllipticCurvePrivateKey)
    decrypted = app.decrypt(
        CiphertextBlob=pair["PrivateKeyCiphertextBlob"], EncryptionContext=context
    )
    assert decrypted["Plaintext"] == pair["PrivateKeyPlaintext"]
    signature = private.sign(b"made with the pair", ec.ECDSA(hashes.SHA512()))
    public = serialization.load_der_public_key(pair["PublicKey"])
    assert isinstance(public, ec.EllipticCurvePublicKey)
    public.verify(signature, b"made with the pair", ec.ECDSA(hashes.SHA512()))
    without = app.generate_data_key_pair_without_plaintext(
        KeyId=key["KeyId"], KeyPairSpec="RSA_2048"
    )
    assert "PrivateKeyPlaintext" not in without and without["KeyPairSpec"] == "RSA_2048"


def test_boto3_asymmetric_encrypt_and_decrypt(clients: dict[str, Any]) -> None:
    app = clients["app"]
    key = create(clients, "RSA_2048", "ENCRYPT_DECRYPT")
    encrypted = app.encrypt(
        KeyId=key["KeyId"], Plaintext=b"to rsa", EncryptionAlgorithm="RSAES_OAEP_SHA_256"
    )
    assert encrypted["EncryptionAlgorithm"] == "RSAES_OAEP_SHA_256"
    decrypted = app.decrypt(
        CiphertextBlob=encrypted["CiphertextBlob"],
        KeyId=key["Arn"],
        EncryptionAlgorithm="RSAES_OAEP_SHA_256",
    )
    assert decrypted["Plaintext"] == b"to rsa" and decrypted["KeyId"] == key["Arn"]
    public = serialization.load_der_public_key(app.get_public_key(KeyId=key["KeyId"])["PublicKey"])
    assert isinstance(public, rsa.RSAPublicKey)
    outside = public.encrypt(
        b"encrypted outside",
        padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None),
    )
    again = app.decrypt(
        CiphertextBlob=outside, KeyId=key["KeyId"], EncryptionAlgorithm="RSAES_OAEP_SHA_1"
    )
    assert again["Plaintext"] == b"encrypted outside"


def run(
    server: Server, token: str, *args: str, stdin: bytes = b""
) -> subprocess.CompletedProcess[bytes]:
    env = {**server.env, "TRENT_URL": server.url, "TRENT_TOKEN": token}
    return subprocess.run([TRENT, *args], env=env, input=stdin, capture_output=True, timeout=60)


def test_cli_sign_verify_mac_and_public_key(server: Server) -> None:
    root = server.token("--root")
    created = run(
        server, root, "keys", "create", "--key-spec", "ECC_NIST_P256", "--key-usage", "SIGN_VERIFY"
    )
    assert created.returncode == 0, created.stderr
    key_id = json.loads(created.stdout)["KeyMetadata"]["KeyId"]
    signed = run(server, root, "sign", key_id, "--algorithm", "ECDSA_SHA_256", stdin=b"cli")
    assert signed.returncode == 0, signed.stderr
    signature = signed.stdout.decode().strip()
    ok = run(
        server,
        root,
        "verify",
        key_id,
        "--algorithm",
        "ECDSA_SHA_256",
        "--signature",
        signature,
        stdin=b"cli",
    )
    assert ok.returncode == 0 and b"valid" in ok.stdout
    digest = run(
        server,
        root,
        "verify",
        key_id,
        "--algorithm",
        "ECDSA_SHA_256",
        "--signature",
        signature,
        "--digest",
        stdin=hashlib.sha256(b"cli").digest(),
    )
    assert digest.returncode == 0, digest.stderr
    bad = run(
        server,
        root,
        "verify",
        key_id,
        "--algorithm",
        "ECDSA_SHA_256",
        "--signature",
        signature,
        stdin=b"clj",
    )
    assert bad.returncode != 0 and b"KMSInvalidSignatureException" in bad.stderr
    pem = run(server, root, "public-key", key_id)
    assert pem.returncode == 0 and pem.stdout.startswith(b"-----BEGIN PUBLIC KEY-----")
    public = serialization.load_pem_public_key(pem.stdout)
    assert isinstance(public, ec.EllipticCurvePublicKey)
    public.verify(base64.b64decode(signature), b"cli", ec.ECDSA(hashes.SHA256()))
    der = run(server, root, "public-key", key_id, "--format", "der")
    assert serialization.load_der_public_key(der.stdout) == public

    hmac_key = json.loads(
        run(
            server,
            root,
            "keys",
            "create",
            "--key-spec",
            "HMAC_512",
            "--key-usage",
            "GENERATE_VERIFY_MAC",
        ).stdout
    )["KeyMetadata"]["KeyId"]
    made = run(server, root, "mac", hmac_key, "--algorithm", "HMAC_SHA_512", stdin=b"hook")
    assert made.returncode == 0, made.stderr
    value = made.stdout.decode().strip()
    assert len(base64.b64decode(value)) == 64
    good = run(
        server,
        root,
        "mac",
        hmac_key,
        "--algorithm",
        "HMAC_SHA_512",
        "--verify",
        value,
        stdin=b"hook",
    )
    assert good.returncode == 0
    wrong = run(
        server,
        root,
        "mac",
        hmac_key,
        "--algorithm",
        "HMAC_SHA_512",
        "--verify",
        value,
        stdin=b"hooks",
    )
    assert wrong.returncode != 0 and b"KMSInvalidMacException" in wrong.stderr
    symmetric = run(server, root, "public-key", hmac_key)
    assert symmetric.returncode != 0 and b"UnsupportedOperationException" in symmetric.stderr


OPENSSL = shutil.which("openssl")


@pytest.mark.skipif(OPENSSL is None, reason="openssl is not installed on this machine")
@pytest.mark.parametrize(
    ("spec", "algorithm", "digest", "options"),
    [
        ("ECC_NIST_P256", "ECDSA_SHA_256", "-sha256", []),
        ("ECC_NIST_P384", "ECDSA_SHA_384", "-sha384", []),
        ("ECC_SECG_P256K1", "ECDSA_SHA_256", "-sha256", []),
        ("RSA_2048", "RSASSA_PKCS1_V1_5_SHA_256", "-sha256", []),
        (
            "RSA_2048",
            "RSASSA_PSS_SHA_384",
            "-sha384",
            ["-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:48"],
        ),
    ],
)
def test_openssl_verifies_a_trent_signature_with_the_public_key(
    server: Server, tmp_path: Path, spec: str, algorithm: str, digest: str, options: list[str]
) -> None:
    assert OPENSSL is not None
    root = server.token("--root")
    created = run(server, root, "keys", "create", "--key-spec", spec, "--key-usage", "SIGN_VERIFY")
    key_id = json.loads(created.stdout)["KeyMetadata"]["KeyId"]
    message = tmp_path / "message"
    message.write_bytes(b"verified by openssl " * 10)
    signed = run(server, root, "sign", key_id, "--algorithm", algorithm, stdin=message.read_bytes())
    assert signed.returncode == 0, signed.stderr
    (tmp_path / "signature").write_bytes(base64.b64decode(signed.stdout))
    (tmp_path / "public.pem").write_bytes(run(server, root, "public-key", key_id).stdout)
    command = [
        OPENSSL,
        "dgst",
        digest,
        "-verify",
        str(tmp_path / "public.pem"),
        *options,
        "-signature",
        str(tmp_path / "signature"),
        str(message),
    ]
    verified = subprocess.run(command, capture_output=True, timeout=60)
    assert verified.returncode == 0 and b"Verified OK" in verified.stdout, verified.stderr
    message.write_bytes(b"tampered")
    refused = subprocess.run(command, capture_output=True, timeout=60)
    assert refused.returncode != 0
