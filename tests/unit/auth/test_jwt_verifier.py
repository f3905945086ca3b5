"""Tokens the verifier accepts, and the issuer configurations it refuses to start with."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from app.auth.jwt_verifier import TokenVerifier
from app.auth.local_issuer import LocalIssuer
from app.config import ConfigError, IssuerConfig, Settings
from app.crypto.issuer_keys import create_issuer_key
from app.errors import UnauthenticatedError
from tests.unit.auth.conftest import (
    ACCOUNT,
    DROP,
    LEEWAY,
    NOW,
    Forge,
    bearer,
    make_settings,
    sign,
)

EXTERNAL = "https://idp.example.com/"


def _clock() -> float:
    return float(NOW)


def _refused(verifier: TokenVerifier, value: str | None) -> str:
    with pytest.raises(UnauthenticatedError) as caught:
        verifier.verify(value)
    assert caught.value.message == UnauthenticatedError.default_message
    reason = caught.value.reason
    assert isinstance(reason, str)
    return reason


def _external_claims(**changes: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "iss": EXTERNAL,
        "aud": "kms-api",
        "sub": "users/alice",
        "iat": NOW,
        "exp": NOW + 300,
        "jti": "ext-1",
        "trent:account": ACCOUNT,
        "trent:type": "user",
    }
    for name, value in changes.items():
        if value is DROP:
            claims.pop(name, None)
        else:
            claims[name] = value
    return claims


def _write_public_pem(path: Path, private_key: Any) -> Path:
    path.write_bytes(
        private_key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    )
    return path


def _external_settings(tmp_path: Path, *issuers: IssuerConfig, **changes: Any) -> Settings:
    return make_settings(tmp_path / "data", local_issuer=False, issuers=issuers, **changes)


# --- the local issuer ------------------------------------------------------------


def test_local_user_token(verifier: TokenVerifier, local_issuer: LocalIssuer) -> None:
    token = local_issuer.mint(ACCOUNT, user="alice", tags={"team": "blue"}, now=NOW)
    principal = verifier.verify(bearer(token))
    assert principal.arn == f"arn:aws:iam::{ACCOUNT}:user/alice"
    assert (principal.account, principal.type, principal.name) == (ACCOUNT, "user", "alice")
    assert dict(principal.tags) == {"team": "blue"}
    assert principal.auth_method == "jwt"
    assert principal.issuer == local_issuer.issuer
    assert principal.token_id == jwt.decode(token, options={"verify_signature": False})["jti"]


def test_local_role_token(verifier: TokenVerifier, local_issuer: LocalIssuer) -> None:
    token = local_issuer.mint(ACCOUNT, role="Deploy-Bot_1", now=NOW)
    principal = verifier.verify(bearer(token))
    assert principal.arn == f"arn:aws:iam::{ACCOUNT}:role/Deploy-Bot_1"
    assert dict(principal.tags) == {}


def test_local_root_token_with_tags(verifier: TokenVerifier, local_issuer: LocalIssuer) -> None:
    tags = {"cost-center": "42", "empty": "", "Name with space": "é ü"}
    token = local_issuer.mint(ACCOUNT, root=True, tags=tags, now=NOW)
    principal = verifier.verify(bearer(token))
    assert principal.arn == f"arn:aws:iam::{ACCOUNT}:root"
    assert principal.is_root and principal.name is None
    assert dict(principal.tags) == tags


def test_principal_tags_cannot_be_changed(
    verifier: TokenVerifier, local_issuer: LocalIssuer
) -> None:
    principal = verifier.verify(
        bearer(local_issuer.mint(ACCOUNT, user="a", tags={"k": "v"}, now=NOW))
    )
    with pytest.raises(TypeError):
        principal.tags["k"] = "w"  # type: ignore[index]


def test_partition_comes_from_settings(auth_settings: Settings, local_issuer: LocalIssuer) -> None:
    settings = replace(auth_settings, partition="aws-cn")
    cn_issuer = LocalIssuer.load(settings)
    verifier = TokenVerifier(settings, local_issuer=cn_issuer, clock=_clock)
    principal = verifier.verify(bearer(cn_issuer.mint(ACCOUNT, user="li", now=NOW)))
    assert principal.arn == f"arn:aws-cn:iam::{ACCOUNT}:user/li"


def test_lowercase_bearer_scheme_is_accepted(verifier: TokenVerifier, forge: Forge) -> None:
    # RFC 9110 §11.1: authentication scheme names are case-insensitive.
    assert verifier.verify(f"bearer {forge.token()}").name == "alice"
    assert verifier.verify(f"BEARER {forge.token()}").name == "alice"


@pytest.mark.parametrize("typ", ["at+jwt", "AT+JWT", "application/at+jwt", "Application/At+JWT"])
def test_typ_is_a_case_insensitive_media_type(
    verifier: TokenVerifier, forge: Forge, typ: str
) -> None:
    assert verifier.verify(bearer(forge.token(header=forge.header(typ=typ)))).name == "alice"


def test_expiry_just_inside_the_leeway_is_accepted(verifier: TokenVerifier, forge: Forge) -> None:
    token = forge.token(claims=forge.claims(iat=NOW - 600, nbf=NOW - 600, exp=NOW - LEEWAY + 1))
    assert verifier.verify(bearer(token)).name == "alice"


def test_clock_skew_inside_the_leeway_is_accepted(verifier: TokenVerifier, forge: Forge) -> None:
    token = forge.token(claims=forge.claims(iat=NOW + LEEWAY, nbf=NOW + LEEWAY, exp=NOW + 600))
    assert verifier.verify(bearer(token)).name == "alice"


def test_nbf_and_jti_and_tags_are_optional(verifier: TokenVerifier, forge: Forge) -> None:
    claims = forge.claims(nbf=DROP, jti=DROP, **{"trent:tags": DROP})
    principal = verifier.verify(bearer(forge.token(claims=claims)))
    assert principal.token_id is None and dict(principal.tags) == {}


def test_maximum_lifetime_is_accepted(
    auth_settings: Settings, verifier: TokenVerifier, forge: Forge
) -> None:
    claims = forge.claims(exp=NOW + auth_settings.jwt_max_lifetime_seconds)
    assert verifier.verify(bearer(forge.token(claims=claims))).name == "alice"


def test_the_clock_is_the_one_injected(local_issuer: LocalIssuer, auth_settings: Settings) -> None:
    token = local_issuer.mint(ACCOUNT, user="alice", ttl_seconds=600, now=NOW)
    current = [float(NOW)]
    verifier = TokenVerifier(auth_settings, local_issuer=local_issuer, clock=lambda: current[0])
    assert verifier.verify(bearer(token)).name == "alice"
    current[0] = NOW + 600 + LEEWAY
    assert _refused(verifier, bearer(token)) == "the token has expired"


def test_token_at_the_size_cap_is_accepted(
    auth_settings: Settings, local_issuer: LocalIssuer, forge: Forge
) -> None:
    token = forge.token()
    settings = replace(auth_settings, jwt_max_token_bytes=len(token))
    verifier = TokenVerifier(settings, local_issuer=local_issuer, clock=_clock)
    assert verifier.verify(bearer(token)).name == "alice"
    longer = forge.token(claims=forge.claims(jti="token-12"))
    assert "longer than" in _refused(verifier, bearer(longer))


def test_minted_token_layout(local_issuer: LocalIssuer) -> None:
    token = local_issuer.mint(ACCOUNT, user="alice", tags={"k": "v"}, ttl_seconds=900, now=NOW)
    header = jwt.get_unverified_header(token)
    assert header == {"alg": "EdDSA", "kid": local_issuer.kid, "typ": "at+jwt"}
    claims = jwt.decode(token, options={"verify_signature": False})
    assert set(claims) == {
        "iss",
        "aud",
        "sub",
        "iat",
        "nbf",
        "exp",
        "jti",
        "trent:account",
        "trent:type",
        "trent:name",
        "trent:tags",
    }
    assert claims["iss"] == local_issuer.issuer and claims["aud"] == "trent"
    assert (claims["iat"], claims["nbf"], claims["exp"]) == (NOW, NOW, NOW + 900)
    assert claims["sub"] == f"arn:aws:iam::{ACCOUNT}:user/alice"
    assert claims["trent:tags"] == {"k": "v"}


def test_es256_local_issuer_round_trip(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data")
    create_issuer_key(settings.issuer_dir, "ES256")
    issuer = LocalIssuer.load(settings)
    verifier = TokenVerifier(settings, local_issuer=issuer, clock=_clock)
    token = issuer.mint(ACCOUNT, role="Admin", now=NOW)
    assert jwt.get_unverified_header(token)["alg"] == "ES256"
    assert verifier.verify(bearer(token)).arn == f"arn:aws:iam::{ACCOUNT}:role/Admin"


def test_a_token_of_another_local_issuer_is_refused(
    tmp_path: Path, verifier: TokenVerifier
) -> None:
    other = make_settings(tmp_path / "other")
    create_issuer_key(other.issuer_dir)
    token = LocalIssuer.load(other).mint(ACCOUNT, user="alice", now=NOW)
    assert _refused(verifier, bearer(token)) == "the issuer is not trusted"


def test_a_changed_audience_setting_refuses_old_tokens(
    auth_settings: Settings, local_issuer: LocalIssuer
) -> None:
    token = local_issuer.mint(ACCOUNT, user="alice", now=NOW)
    settings = replace(auth_settings, jwt_audience="trent-prod")
    verifier = TokenVerifier(settings, local_issuer=LocalIssuer.load(settings), clock=_clock)
    assert "InvalidAudienceError" in _refused(verifier, bearer(token))


def test_unexpected_exceptions_become_unauthenticated(
    verifier: TokenVerifier, forge: Forge, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever breaks inside token handling, the caller sees a 401, not a 500."""

    def explode(*args: object, **kwargs: object) -> None:
        raise TypeError("Expecting a PEM-formatted key.")

    monkeypatch.setattr(jwt.PyJWT, "decode_complete", explode)
    assert _refused(verifier, bearer(forge.token())) == "token handling failed (TypeError)"


def test_repr_shows_no_key_material(
    verifier: TokenVerifier, local_issuer: LocalIssuer, auth_settings: Settings
) -> None:
    secret_pem = (auth_settings.issuer_dir / "signing_key.pem").read_text()
    secret_body = "".join(secret_pem.strip().splitlines()[1:-1])
    public_pem = (auth_settings.issuer_dir / "public_key.pem").read_text()
    public_body = "".join(public_pem.strip().splitlines()[1:-1])
    for text in (repr(verifier), str(verifier), repr(local_issuer), str(local_issuer)):
        assert secret_body not in text and public_body not in text
        assert "PRIVATE" not in text and "BEGIN" not in text
    assert local_issuer.issuer in repr(local_issuer)


# --- external issuers ------------------------------------------------------------


def test_external_pem_issuer_es256(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    config = IssuerConfig(
        issuer=EXTERNAL,
        audience="kms-api",
        algorithms=("ES256",),
        pem_path=_write_public_pem(tmp_path / "idp.pem", key),
    )
    verifier = TokenVerifier(_external_settings(tmp_path, config), local_issuer=None, clock=_clock)
    token = jwt.encode(
        _external_claims(**{"trent:tags": {"dept": "ops"}}),
        key,
        algorithm="ES256",
        headers={"typ": "at+jwt", "kid": "any-kid.1"},
    )
    principal = verifier.verify(bearer(token))
    assert principal.arn == f"arn:aws:iam::{ACCOUNT}:user/alice"
    assert principal.issuer == EXTERNAL and principal.token_id == "ext-1"
    assert dict(principal.tags) == {"dept": "ops"}

    # A PEM has no kid: any well-formed kid (or none) selects the one key.
    no_kid = jwt.encode(_external_claims(), key, algorithm="ES256", headers={"typ": "at+jwt"})
    assert verifier.verify(bearer(no_kid)).name == "alice"
    # The audience is the issuer's, not the local one.
    local_aud = jwt.encode(
        _external_claims(aud="trent"), key, algorithm="ES256", headers={"typ": "at+jwt"}
    )
    assert "InvalidAudienceError" in _refused(verifier, bearer(local_aud))
    # Another key of the same curve does not verify.
    other = ec.generate_private_key(ec.SECP256R1())
    forged = jwt.encode(_external_claims(), other, algorithm="ES256", headers={"typ": "at+jwt"})
    assert "InvalidSignatureError" in _refused(verifier, bearer(forged))
    # The ES256 public key used as an HMAC secret, with an HS256 header.
    pem = (tmp_path / "idp.pem").read_bytes()
    import hashlib
    import hmac as hmac_module

    from tests.unit.auth.conftest import b64url

    signing_input = (
        b64url(json.dumps({"alg": "HS256", "typ": "at+jwt"}).encode())
        + "."
        + b64url(json.dumps(_external_claims()).encode())
    )
    mac = hmac_module.new(pem, signing_input.encode(), hashlib.sha256).digest()
    assert _refused(verifier, bearer(f"{signing_input}.{b64url(mac)}")) == (
        "the alg is not allowed for this issuer"
    )


def test_external_pem_issuer_ps256(tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    config = IssuerConfig(
        issuer=EXTERNAL,
        audience="kms-api",
        algorithms=("PS256",),
        pem_path=_write_public_pem(tmp_path / "idp.pem", key),
    )
    verifier = TokenVerifier(_external_settings(tmp_path, config), local_issuer=None, clock=_clock)
    token = jwt.encode(_external_claims(), key, algorithm="PS256", headers={"typ": "at+jwt"})
    assert verifier.verify(bearer(token)).name == "alice"
    # The same RSA key under RS256 is another algorithm: refused.
    rs256 = jwt.encode(_external_claims(), key, algorithm="RS256", headers={"typ": "at+jwt"})
    assert _refused(verifier, bearer(rs256)) == "the alg is not allowed for this issuer"


def test_external_issuer_name_claim_and_arn_subject(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    config = IssuerConfig(
        issuer=EXTERNAL,
        audience="kms-api",
        algorithms=("EdDSA",),
        pem_path=_write_public_pem(tmp_path / "idp.pem", key),
        account_claim="https://example.com/account",
        principal_type_claim="https://example.com/kind",
        principal_name_claim="preferred_username",
        tags_claim="https://example.com/tags",
        token_type=None,
    )
    verifier = TokenVerifier(_external_settings(tmp_path, config), local_issuer=None, clock=_clock)

    def token(**changes: Any) -> str:
        claims = {
            "iss": EXTERNAL,
            "aud": "kms-api",
            "sub": "auth0|5f7c8ec7c33c6c004bbafe82",
            "iat": NOW,
            "exp": NOW + 300,
            "https://example.com/account": ACCOUNT,
            "https://example.com/kind": "role",
            "preferred_username": "Builder",
            "https://example.com/tags": {"env": "ci"},
        }
        claims.update(changes)
        return bearer(jwt.encode(claims, key, algorithm="EdDSA"))

    principal = verifier.verify(token())
    assert principal.arn == f"arn:aws:iam::{ACCOUNT}:role/Builder"
    assert dict(principal.tags) == {"env": "ci"}
    # token_type None: typ is not required (PyJWT adds typ JWT by default).
    assert verifier.verify(token(sub=f"arn:aws:iam::{ACCOUNT}:role/Builder")).name == "Builder"
    # A subject that is an ARN must be this principal's ARN.
    assert _refused(verifier, token(sub=f"arn:aws:iam::{ACCOUNT}:role/Other")) == (
        "sub is not the principal's ARN"
    )
    # The default Trent claim names mean nothing for this issuer.
    assert _refused(verifier, token(**{"https://example.com/account": None})) == (
        "the account claim is invalid"
    )


def test_external_issuer_without_name_claim_uses_last_sub_segment(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    config = IssuerConfig(
        issuer=EXTERNAL,
        audience="kms-api",
        algorithms=("ES256",),
        pem_path=_write_public_pem(tmp_path / "idp.pem", key),
    )
    verifier = TokenVerifier(_external_settings(tmp_path, config), local_issuer=None, clock=_clock)

    def token(sub: str) -> str:
        claims = _external_claims(sub=sub)
        return bearer(jwt.encode(claims, key, algorithm="ES256", headers={"typ": "at+jwt"}))

    assert verifier.verify(token("users/alice")).name == "alice"
    assert verifier.verify(token("bob")).name == "bob"
    assert _refused(verifier, token("auth0|123")) == "the principal name is invalid"
    assert _refused(verifier, token("users/")) == "the principal name is invalid"


def test_jwks_file_binds_each_key_to_its_own_alg(tmp_path: Path) -> None:
    ed_key = Ed25519PrivateKey.generate()
    ec_key = ec.generate_private_key(ec.SECP256R1())
    jwks = {
        "keys": [
            {
                **jwt.algorithms.OKPAlgorithm.to_jwk(ed_key.public_key(), as_dict=True),
                "kid": "ed",
                "alg": "EdDSA",
                "use": "sig",
            },
            {
                **jwt.algorithms.ECAlgorithm.to_jwk(ec_key.public_key(), as_dict=True),
                "kid": "ec",
                "alg": "ES256",
            },
        ]
    }
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(jwks))
    config = IssuerConfig(
        issuer=EXTERNAL, audience="kms-api", algorithms=("EdDSA", "ES256"), jwks_path=path
    )
    verifier = TokenVerifier(_external_settings(tmp_path, config), local_issuer=None, clock=_clock)

    def token(kid: str | None, key: Any, alg: str) -> str:
        header: dict[str, Any] = {"alg": alg, "typ": "at+jwt"}
        if kid is not None:
            header["kid"] = kid
        return bearer(sign(header, _external_claims(), key, alg))

    assert verifier.verify(token("ed", ed_key, "EdDSA")).name == "alice"
    assert verifier.verify(token("ec", ec_key, "ES256")).name == "alice"
    # Each key verifies only with its own algorithm, whatever the header says.
    assert (
        _refused(verifier, token("ed", ec_key, "ES256"))
        == "the alg is not the algorithm bound to the key"
    )
    assert (
        _refused(verifier, token("ec", ed_key, "EdDSA"))
        == "the alg is not the algorithm bound to the key"
    )
    other_ec = ec.generate_private_key(ec.SECP256R1())
    assert "InvalidSignatureError" in _refused(verifier, token("ec", other_ec, "ES256"))
    # With several keys, a kid is required and must be known.
    assert (
        _refused(verifier, token(None, ed_key, "EdDSA"))
        == "no key of this issuer has the token's kid"
    )
    assert (
        _refused(verifier, token("ed2", ed_key, "EdDSA"))
        == "no key of this issuer has the token's kid"
    )


def test_local_and_external_issuers_together(
    tmp_path: Path, auth_settings: Settings, local_issuer: LocalIssuer
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    config = IssuerConfig(
        issuer=EXTERNAL,
        audience="kms-api",
        algorithms=("ES256",),
        pem_path=_write_public_pem(tmp_path / "idp.pem", key),
    )
    settings = replace(auth_settings, issuers=(config,))
    verifier = TokenVerifier(settings, local_issuer=local_issuer, clock=_clock)
    assert verifier.verify(bearer(local_issuer.mint(ACCOUNT, user="alice", now=NOW))).issuer == (
        local_issuer.issuer
    )
    external = jwt.encode(_external_claims(), key, algorithm="ES256", headers={"typ": "at+jwt"})
    assert verifier.verify(bearer(external)).issuer == EXTERNAL
    # The external key cannot sign for the local issuer, nor the other way round.
    claims = _external_claims(iss=local_issuer.issuer, aud="trent")
    crossed = jwt.encode(
        claims, key, algorithm="ES256", headers={"typ": "at+jwt", "kid": local_issuer.kid}
    )
    assert _refused(verifier, bearer(crossed)) == "the alg is not allowed for this issuer"


# --- configurations refused at start-up ------------------------------------------


def _jwk(private_key: Any, **members: Any) -> dict[str, Any]:
    if isinstance(private_key, Ed25519PrivateKey):
        base = jwt.algorithms.OKPAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
    elif isinstance(private_key, rsa.RSAPrivateKey):
        base = jwt.algorithms.RSAAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
    else:
        base = jwt.algorithms.ECAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
    return {**base, **members}


ED = Ed25519PrivateKey.generate()
P256 = ec.generate_private_key(ec.SECP256R1())
P384 = ec.generate_private_key(ec.SECP384R1())

BAD_JWKS: list[tuple[str, Any, str]] = [
    (
        "oct key",
        {
            "keys": [
                {
                    "kty": "oct",
                    "k": "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0",
                    "kid": "h",
                    "alg": "HS256",
                }
            ]
        },
        "symmetric",
    ),
    ("oct key without alg", {"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "h"}]}, "symmetric"),
    ("missing alg", {"keys": [_jwk(ED, kid="a")]}, "alg"),
    ("alg outside the allow-list", {"keys": [_jwk(P384, kid="a", alg="ES384")]}, "alg"),
    ("alg that does not fit the key", {"keys": [_jwk(P384, kid="a", alg="ES256")]}, "ES256"),
    ("EdDSA alg on an EC key", {"keys": [_jwk(P256, kid="a", alg="EdDSA")]}, "EdDSA"),
    ("private key members", {"keys": [{**_jwk(ED, kid="a", alg="EdDSA"), "d": "AAAA"}]}, "private"),
    ("missing kid", {"keys": [_jwk(ED, alg="EdDSA")]}, "kid"),
    ("malformed kid", {"keys": [_jwk(ED, kid="../x", alg="EdDSA")]}, "kid"),
    (
        "duplicate kid",
        {"keys": [_jwk(ED, kid="a", alg="EdDSA"), _jwk(P256, kid="a", alg="ES256")]},
        "twice",
    ),
    ("encryption key", {"keys": [_jwk(ED, kid="a", alg="EdDSA", use="enc")]}, "use"),
    (
        "key_ops without verify",
        {"keys": [_jwk(ED, kid="a", alg="EdDSA", key_ops=["sign"])]},
        "key_ops",
    ),
    ("no keys", {"keys": []}, "non-empty"),
    ("not a JWK Set", [1, 2], "non-empty"),
    (
        "broken key",
        {"keys": [{"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA", "kid": "a", "alg": "ES256"}]},
        "ES256",
    ),
]


@pytest.mark.parametrize(
    ("document", "fragment"), [(d, f) for _, d, f in BAD_JWKS], ids=[i for i, _, _ in BAD_JWKS]
)
def test_bad_jwks_file_is_refused_at_start(tmp_path: Path, document: Any, fragment: str) -> None:
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(document))
    config = IssuerConfig(
        issuer=EXTERNAL, audience="kms-api", algorithms=("EdDSA", "ES256"), jwks_path=path
    )
    with pytest.raises(ConfigError, match=fragment) as caught:
        TokenVerifier(_external_settings(tmp_path, config), local_issuer=None)
    assert "c2VjcmV0" not in str(caught.value)


def test_jwks_file_with_duplicate_json_members_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "jwks.json"
    path.write_text('{"keys": [], "keys": [' + json.dumps(_jwk(ED, kid="a", alg="EdDSA")) + "]}")
    config = IssuerConfig(
        issuer=EXTERNAL, audience="kms-api", algorithms=("EdDSA",), jwks_path=path
    )
    with pytest.raises(ConfigError, match="not valid UTF-8 JSON"):
        TokenVerifier(_external_settings(tmp_path, config), local_issuer=None)


def test_rsa_jwks_key_under_2048_bits_is_refused(tmp_path: Path) -> None:
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [_jwk(small, kid="r", alg="RS256")]}))
    config = IssuerConfig(
        issuer=EXTERNAL, audience="kms-api", algorithms=("RS256",), jwks_path=path
    )
    with pytest.raises(ConfigError, match="2048"):
        TokenVerifier(_external_settings(tmp_path, config), local_issuer=None)


def test_pem_issuer_with_several_algorithms_is_refused(tmp_path: Path) -> None:
    config = IssuerConfig(
        issuer=EXTERNAL,
        audience="kms-api",
        algorithms=("ES256", "EdDSA"),
        pem_path=_write_public_pem(tmp_path / "idp.pem", P256),
    )
    with pytest.raises(ConfigError, match="exactly one algorithm"):
        TokenVerifier(_external_settings(tmp_path, config), local_issuer=None)


@pytest.mark.parametrize(
    ("writer", "algorithm", "fragment"),
    [
        (lambda p: p.write_text("not a pem"), "ES256", "not a PEM public key"),
        (
            lambda p: p.write_bytes(
                P256.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
            ),
            "ES256",
            "private key",
        ),
        (lambda p: _write_public_pem(p, P384), "ES256", "cannot be used with ES256"),
        (lambda p: _write_public_pem(p, P256), "EdDSA", "cannot be used with EdDSA"),
        (lambda p: None, "ES256", "does not exist"),
    ],
    ids=["garbage", "private key", "wrong curve", "wrong family", "missing"],
)
def test_unusable_pem_is_refused_at_start(
    tmp_path: Path, writer: Any, algorithm: str, fragment: str
) -> None:
    path = tmp_path / "idp.pem"
    writer(path)
    config = IssuerConfig(
        issuer=EXTERNAL, audience="kms-api", algorithms=(algorithm,), pem_path=path
    )
    with pytest.raises(ConfigError, match=fragment) as caught:
        TokenVerifier(_external_settings(tmp_path, config), local_issuer=None)
    assert "BEGIN" not in str(caught.value)


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"algorithms": ("HS256",)}, "algorithms"),
        ({"algorithms": ("none",)}, "algorithms"),
        ({"algorithms": ()}, "algorithms"),
        ({"audience": ""}, "audience"),
        ({"token_type": ""}, "token_type"),
        ({"pem_path": None}, "exactly one"),
        ({"jwks_url": "https://idp.example.com/jwks"}, "exactly one"),
    ],
)
def test_bad_issuer_config_is_refused(
    tmp_path: Path, changes: dict[str, Any], fragment: str
) -> None:
    config = IssuerConfig(
        issuer=EXTERNAL,
        audience="kms-api",
        algorithms=("ES256",),
        pem_path=_write_public_pem(tmp_path / "idp.pem", P256),
    )
    with pytest.raises(ConfigError, match=fragment):
        TokenVerifier(_external_settings(tmp_path, replace(config, **changes)), local_issuer=None)


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "http://idp.example.com/jwks",
        "http://127.0.0.1.evil.example/jwks",
        "http://127.0.0.1@evil.example/jwks",
        "https://user:pass@idp.example.com/jwks",
        "ftp://idp.example.com/jwks",
        "https:///jwks",
        "https://idp.example.com:99999/jwks",
    ],
)
def test_unsafe_jwks_url_is_refused(tmp_path: Path, url: str) -> None:
    config = IssuerConfig(issuer=EXTERNAL, audience="kms-api", algorithms=("ES256",), jwks_url=url)
    with pytest.raises(ConfigError, match="jwks_url"):
        TokenVerifier(_external_settings(tmp_path, config), local_issuer=None)


def test_the_same_issuer_twice_is_refused(tmp_path: Path) -> None:
    config = IssuerConfig(
        issuer=EXTERNAL,
        audience="kms-api",
        algorithms=("ES256",),
        pem_path=_write_public_pem(tmp_path / "idp.pem", P256),
    )
    with pytest.raises(ConfigError, match="twice"):
        TokenVerifier(_external_settings(tmp_path, config, config), local_issuer=None)


def test_local_issuer_setting_and_argument_must_agree(
    auth_settings: Settings, local_issuer: LocalIssuer
) -> None:
    with pytest.raises(ConfigError, match="not loaded"):
        TokenVerifier(auth_settings, local_issuer=None)
    with pytest.raises(ConfigError, match="is false"):
        TokenVerifier(replace(auth_settings, local_issuer=False), local_issuer=local_issuer)
    with pytest.raises(ConfigError, match="no trusted token issuer"):
        TokenVerifier(replace(auth_settings, local_issuer=False), local_issuer=None)
    for changes in ({"jwt_audience": "other"}, {"partition": "aws-cn"}):
        with pytest.raises(ConfigError, match="different settings"):
            TokenVerifier(replace(auth_settings, **changes), local_issuer=local_issuer)
