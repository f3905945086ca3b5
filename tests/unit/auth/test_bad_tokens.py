"""Every bad token is refused with the same UnauthenticatedError, and nothing else.

Each case builds an ``Authorization`` header value from a valid baseline
(see ``conftest.Forge``) with one thing wrong. The assertions are the same
for all of them: the exception class is exactly UnauthenticatedError, the
message is the default one, a reason is attached for the log, and the reason
quotes no part of the token.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from app.auth.jwt_verifier import TokenVerifier
from app.errors import UnauthenticatedError
from tests.unit.auth.conftest import (
    ACCOUNT,
    DROP,
    LEEWAY,
    MAX_LIFETIME,
    NOW,
    Forge,
    b64url,
    bearer,
)

Case = Callable[[Forge], str | None]


def _valid(f: Forge) -> str:
    return f.token()


def _with_claims(**changes: object) -> Case:
    return lambda f: bearer(f.token(claims=f.claims(**changes)))


def _with_header(**changes: object) -> Case:
    return lambda f: bearer(f.token(header=f.header(**changes)))


def _raw_payload(text: str) -> Case:
    return lambda f: bearer(f.token(claims=text.replace("ISS", f.issuer.issuer).encode("utf-8")))


def _padded(f: Forge) -> str:
    """A payload segment with its '=' padding, signed as sent.

    PyJWT 2.15.1 accepts trailing '=' (for AWS ALB tokens), so this token
    verifies with PyJWT alone; Trent gives every token one string form.
    """
    for length in range(1, 5):
        header, payload, _ = f.token(claims=f.claims(jti="x" * length)).split(".")
        if len(payload) % 4:
            signing_input = f"{header}.{payload}{'=' * (-len(payload) % 4)}"
            signature = jwt.get_algorithm_by_name(f.alg).sign(
                signing_input.encode("ascii"), f.private_key
            )
            return bearer(f"{signing_input}.{b64url(signature)}")
    raise AssertionError("no payload length needed padding")


def _unsigned_none(f: Forge) -> str:
    header = b64url(json.dumps({"alg": "none", "typ": "at+jwt"}).encode())
    return bearer(f"{header}.{b64url(json.dumps(f.claims()).encode())}.")


def _signed_none(f: Forge) -> str:
    header = b64url(json.dumps(f.header(alg="none")).encode())
    return bearer(f"{header}.{b64url(json.dumps(f.claims()).encode())}.{b64url(b'sig')}")


def _hs256_with_public_pem(f: Forge) -> str:
    # The classic key-confusion forgery (CVE-2017-11424 and its successors):
    # an HMAC over the token keyed with the issuer's public key file.
    pem = f.issuer.public_key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    signing_input = (
        f"{b64url(json.dumps(f.header(alg='HS256')).encode())}."
        f"{b64url(json.dumps(f.claims()).encode())}"
    )
    mac = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
    return bearer(f"{signing_input}.{b64url(mac)}")


def _es384_to_eddsa_issuer(f: Forge) -> str:
    key = ec.generate_private_key(ec.SECP384R1())
    return bearer(f.token(header=f.header(alg="ES384"), key=key, alg="ES384"))


def _other_key_right_kid(f: Forge) -> str:
    return bearer(f.token(key=Ed25519PrivateKey.generate()))


def _tampered_payload(f: Forge) -> str:
    header, _, signature = f.token().split(".")
    forged = b64url(json.dumps(f.claims(**{"trent:name": "admin"})).encode())
    return bearer(f"{header}.{forged}.{signature}")


def _tampered_signature(f: Forge) -> str:
    header, payload, signature = f.token().split(".")
    first = "B" if signature[0] != "B" else "C"
    return bearer(f"{header}.{payload}.{first}{signature[1:]}")


def _utf16(part: str, encoding: str) -> Case:
    def build(f: Forge) -> str:
        header: dict[str, object] | bytes = f.header()
        claims: dict[str, object] | bytes = f.claims()
        if part == "header":
            header = json.dumps(header).encode(encoding)
        else:
            claims = json.dumps(claims).encode(encoding)
        return bearer(f.token(header=header, claims=claims))

    return build


def _duplicate_header(f: Forge) -> str:
    raw = f'{{"alg":"none","alg":"{f.alg}","kid":"{f.issuer.kid}","typ":"at+jwt"}}'.encode()
    return bearer(f.token(header=raw))


def _duplicate_payload(f: Forge) -> str:
    claims = json.dumps(f.claims(sub="x"))[:-1] + f', "sub": "{f.claims()["sub"]}"}}'
    return bearer(f.token(claims=claims.encode()))


def _nested(depth: int) -> Case:
    def build(f: Forge) -> str:
        text = json.dumps(f.claims())[:-1] + ', "deep": ' + "[" * depth + "]" * depth + "}"
        return bearer(f.token(claims=text.encode()))

    return build


def _huge(f: Forge) -> str:
    return bearer(f.token(claims=f.claims(padding="x" * 9000)))


def _lone_surrogate_tag(f: Forge) -> str:
    claims = f.claims()
    del claims["trent:tags"]
    text = json.dumps(claims)[:-1] + ', "trent:tags": {"k": "\\ud800"}}'
    return bearer(f.token(claims=text.encode()))


BAD_TOKENS: list[tuple[str, Case]] = [
    # The Authorization header itself.
    ("no header", lambda f: None),
    ("empty header", lambda f: ""),
    ("basic scheme", lambda f: "Basic YWxpY2U6cGFzc3dvcmQ="),
    ("token scheme", lambda f: f"Token {_valid(f)}"),
    ("scheme only", lambda f: "Bearer"),
    ("scheme and space only", lambda f: "Bearer "),
    ("two spaces", lambda f: f"Bearer  {_valid(f)}"),
    ("tab separator", lambda f: f"Bearer\t{_valid(f)}"),
    ("trailing space", lambda f: f"Bearer {_valid(f)} "),
    ("leading space", lambda f: f" Bearer {_valid(f)}"),
    ("two tokens", lambda f: f"Bearer {_valid(f)} {_valid(f)}"),
    ("garbage", lambda f: "Bearer garbage"),
    # The compact form.
    ("two segments", lambda f: bearer(".".join(_valid(f).split(".")[:2]))),
    ("four segments", lambda f: bearer(_valid(f) + ".AAAA")),
    ("empty signature segment", lambda f: bearer(_valid(f).rsplit(".", 1)[0] + ".")),
    ("empty header segment", lambda f: bearer("." + _valid(f).split(".", 1)[1])),
    ("plus (base64, not base64url)", lambda f: bearer("+" + _valid(f))),
    ("slash in signature", lambda f: bearer(_valid(f)[:-1] + "/")),
    ("non-ascii character", lambda f: bearer(_valid(f)[:-1] + "é")),
    ("nul byte", lambda f: bearer(_valid(f) + "\x00")),
    ("padded segment", _padded),
    ("impossible segment length", lambda f: bearer(_valid(f) + "AAA")),
    (
        "non-canonical trailing bits",
        lambda f: bearer(_valid(f)[:-1] + ("x" if _valid(f)[-1] != "x" else "y")),
    ),
    ("huge token over the cap", _huge),
    # Algorithms and keys.
    ("alg none unsigned", _unsigned_none),
    ("alg none signed", _signed_none),
    ("HS256 keyed with the public key PEM", _hs256_with_public_pem),
    ("ES384 token to an EdDSA issuer", _es384_to_eddsa_issuer),
    ("alg missing", _with_header(alg=DROP)),
    ("alg not a string", _with_header(alg=["EdDSA"])),
    ("alg in lower case", _with_header(alg="eddsa")),
    ("another key with the right kid", _other_key_right_kid),
    ("tampered payload", _tampered_payload),
    ("tampered signature", _tampered_signature),
    ("unknown kid", _with_header(kid="some-other-key")),
    ("missing kid (local issuer)", _with_header(kid=DROP)),
    ("kid path traversal", _with_header(kid="../../etc/passwd")),
    ("kid not a string", _with_header(kid=7)),
    ("kid null", _with_header(kid=None)),
    ("kid too long", _with_header(kid="k" * 129)),
    # Header parameters that are never accepted.
    ("jku header", _with_header(jku="https://attacker.example/jwks.json")),
    ("x5u header", _with_header(x5u="https://attacker.example/cert.pem")),
    ("x5c header", _with_header(x5c=["MIIB"])),
    ("jwk header", _with_header(jwk={"kty": "OKP", "crv": "Ed25519", "x": "AAAA"})),
    ("crit header", _with_header(crit=["exp"], exp=1)),
    ("crit b64 header", _with_header(crit=["b64"], b64=True)),
    ("zip header", _with_header(zip="DEF")),
    ("enc header", _with_header(enc="A256GCM")),
    ("cty JWT header (nested JWT)", _with_header(cty="JWT")),
    # Explicit typing.
    ("typ JWT", _with_header(typ="JWT")),
    ("typ missing", _with_header(typ=DROP)),
    ("typ not a string", _with_header(typ=1)),
    ("typ of an ID token", _with_header(typ="id_token+jwt")),
    # Time.
    ("expired beyond leeway", _with_claims(iat=NOW - 600, nbf=NOW - 600, exp=NOW - LEEWAY)),
    ("nbf in the future", _with_claims(nbf=NOW + LEEWAY + 1)),
    ("iat in the future", _with_claims(iat=NOW + LEEWAY + 1, nbf=DROP, exp=NOW + 3600)),
    ("exp as a string", _with_claims(exp=str(NOW + 600))),
    ("exp as a float", _with_claims(exp=float(NOW + 600))),
    ("exp 1e300", _with_claims(exp=1e300)),
    ("exp true", _with_claims(exp=True)),
    ("exp null", _with_claims(exp=None)),
    ("exp beyond year 9999", _with_claims(exp=10**20)),
    ("exp huge integer literal", _raw_payload('{"iss":"ISS","exp":' + "9" * 5000 + "}")),
    ("iat as a string", _with_claims(iat=str(NOW))),
    ("iat negative", _with_claims(iat=-1)),
    ("nbf as a float", _with_claims(nbf=float(NOW))),
    ("nbf as a string", _with_claims(nbf="0")),
    ("lifetime over the maximum", _with_claims(exp=NOW + MAX_LIFETIME + 1)),
    ("exp before iat", _with_claims(iat=NOW + 20, nbf=DROP, exp=NOW + 10)),
    ("NaN exp", _raw_payload('{"iss":"ISS","exp":NaN}')),
    # Required claims.
    ("missing exp", _with_claims(exp=DROP)),
    ("missing iat", _with_claims(iat=DROP)),
    ("missing sub", _with_claims(sub=DROP)),
    ("missing aud", _with_claims(aud=DROP)),
    ("missing iss", _with_claims(iss=DROP)),
    # Audience and issuer.
    ("wrong aud", _with_claims(aud="someone-else")),
    ("aud list containing ours", _with_claims(aud=["trent", "other"])),
    ("aud list of only ours", _with_claims(aud=["trent"])),
    ("aud empty", _with_claims(aud="")),
    ("aud different case", _with_claims(aud="Trent")),
    ("wrong iss", _with_claims(iss="urn:trent:local:someone-else")),
    ("iss prefix of ours", lambda f: bearer(f.token(claims=f.claims(iss=f.issuer.issuer[:-1])))),
    ("iss suffix of ours", lambda f: bearer(f.token(claims=f.claims(iss=f.issuer.issuer[1:])))),
    ("iss with extra text", lambda f: bearer(f.token(claims=f.claims(iss=f.issuer.issuer + "x")))),
    ("iss as a list", lambda f: bearer(f.token(claims=f.claims(iss=[f.issuer.issuer])))),
    # Encoding and JSON strictness.
    ("header in UTF-16", _utf16("header", "utf-16")),
    ("header in UTF-16-LE without BOM", _utf16("header", "utf-16-le")),
    ("payload in UTF-16", _utf16("payload", "utf-16")),
    ("payload in UTF-32", _utf16("payload", "utf-32")),
    (
        "payload with UTF-8 BOM",
        lambda f: bearer(f.token(claims=b"\xef\xbb\xbf" + json.dumps(f.claims()).encode())),
    ),
    (
        "payload not UTF-8",
        lambda f: bearer(
            f.token(claims=json.dumps(f.claims(jti="x")).encode().replace(b'"x"', b'"\xff"'))
        ),
    ),
    ("duplicate header member", _duplicate_header),
    ("duplicate payload member", _duplicate_payload),
    ("header is a JSON array", lambda f: bearer(f.token(header=b'["EdDSA"]'))),
    ("payload is a JSON array", lambda f: bearer(f.token(claims=b"[1]"))),
    ("payload is a JSON string", lambda f: bearer(f.token(claims=b'"x"'))),
    ("payload not JSON", lambda f: bearer(f.token(claims=b"not json"))),
    ("payload nested 40 deep", _nested(40)),
    ("payload nested 2500 deep", _nested(2500)),
    ("lone surrogate in a tag", _lone_surrogate_tag),
    # The principal.
    ("account too short", _with_claims(**{"trent:account": "12345"})),
    ("account with a letter", _with_claims(**{"trent:account": "11112222333a"})),
    ("account with a newline", _with_claims(**{"trent:account": ACCOUNT + "\n"})),
    ("account as a number", _with_claims(**{"trent:account": int(ACCOUNT)})),
    ("account in Arabic-Indic digits", _with_claims(**{"trent:account": "١١١١٢٢٢٢٣٣٣٣"})),
    ("account missing", _with_claims(**{"trent:account": DROP})),
    ("type unknown", _with_claims(**{"trent:type": "admin"})),
    ("type missing", _with_claims(**{"trent:type": DROP})),
    ("type in upper case", _with_claims(**{"trent:type": "USER"})),
    (
        "name with a space",
        _with_claims(**{"trent:name": "al ice"}, sub=f"arn:aws:iam::{ACCOUNT}:user/al ice"),
    ),
    (
        "name with a slash",
        _with_claims(**{"trent:name": "a/b"}, sub=f"arn:aws:iam::{ACCOUNT}:user/a/b"),
    ),
    (
        "name of 65 characters",
        _with_claims(**{"trent:name": "a" * 65}, sub=f"arn:aws:iam::{ACCOUNT}:user/{'a' * 65}"),
    ),
    ("name empty", _with_claims(**{"trent:name": ""}, sub=f"arn:aws:iam::{ACCOUNT}:user/")),
    ("name not a string", _with_claims(**{"trent:name": 5})),
    (
        "name with trailing newline",
        _with_claims(**{"trent:name": "alice\n"}, sub=f"arn:aws:iam::{ACCOUNT}:user/alice\n"),
    ),
    ("name missing for a user", _with_claims(**{"trent:name": DROP})),
    (
        "root with a name",
        _with_claims(**{"trent:type": "root"}, sub=f"arn:aws:iam::{ACCOUNT}:root"),
    ),
    (
        "root with a null name",
        _with_claims(
            **{"trent:type": "root", "trent:name": None}, sub=f"arn:aws:iam::{ACCOUNT}:root"
        ),
    ),
    ("tags not an object", _with_claims(**{"trent:tags": ["a", "b"]})),
    ("tags null", _with_claims(**{"trent:tags": None})),
    ("tag value not a string", _with_claims(**{"trent:tags": {"team": 1}})),
    ("tag key too long", _with_claims(**{"trent:tags": {"k" * 129: "v"}})),
    ("tag key empty", _with_claims(**{"trent:tags": {"": "v"}})),
    ("tag value too long", _with_claims(**{"trent:tags": {"k": "v" * 257}})),
    ("too many tags", _with_claims(**{"trent:tags": {f"k{i}": "v" for i in range(51)}})),
    ("tag key with aws: prefix", _with_claims(**{"trent:tags": {"aws:username": "root"}})),
    ("tag value with a control character", _with_claims(**{"trent:tags": {"k": "a\nb"}})),
    ("sub is not the principal ARN", _with_claims(sub=f"arn:aws:iam::{ACCOUNT}:user/bob")),
    ("sub names another account", _with_claims(sub="arn:aws:iam::444455556666:user/alice")),
    ("sub in another partition", _with_claims(sub=f"arn:aws-cn:iam::{ACCOUNT}:user/alice")),
    ("sub of a role for a user", _with_claims(sub=f"arn:aws:iam::{ACCOUNT}:role/alice")),
    ("sub not a string", _with_claims(sub=12)),
    ("jti not a string", _with_claims(jti=12)),
    ("jti empty", _with_claims(jti="")),
    ("jti with a control character", _with_claims(jti="a\x00b")),
]


def test_the_baseline_token_is_valid(verifier: TokenVerifier, forge: Forge) -> None:
    """Every case above is the baseline with one thing wrong."""
    principal = verifier.verify(bearer(forge.token()))
    assert principal.arn == f"arn:aws:iam::{ACCOUNT}:user/alice"


def test_the_table_has_no_duplicate_ids() -> None:
    ids = [case_id for case_id, _ in BAD_TOKENS]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("build", [case for _, case in BAD_TOKENS], ids=[i for i, _ in BAD_TOKENS])
def test_bad_token_is_unauthenticated(verifier: TokenVerifier, forge: Forge, build: Case) -> None:
    value = build(forge)
    with pytest.raises(UnauthenticatedError) as caught:
        verifier.verify(value)
    error = caught.value
    assert type(error) is UnauthenticatedError
    assert error.message == UnauthenticatedError.default_message
    assert str(error) == UnauthenticatedError.default_message
    assert error.__cause__ is None
    assert error.__suppress_context__ or error.__context__ is None
    reason = getattr(error, "reason", None)
    assert isinstance(reason, str) and reason
    assert len(reason) < 200
    token = (value or "").partition(" ")[2]
    for piece in [token, *token.split(".")]:
        if len(piece) >= 8:
            assert piece not in reason


def test_failures_do_not_chain_exceptions(verifier: TokenVerifier, forge: Forge) -> None:
    """A chained JSONDecodeError would keep the whole payload in ``.doc``."""
    with pytest.raises(UnauthenticatedError) as caught:
        verifier.verify(bearer(forge.token(claims=b"{not json")))
    assert caught.value.__context__ is None and caught.value.__cause__ is None


def test_pyjwt_alone_would_accept_the_utf16_and_padded_tokens(forge: Forge) -> None:
    """The lab finding the strict pre-checks exist for (security.md §1.4)."""
    header = json.dumps(forge.header()).encode("utf-16")
    token = forge.token(header=header)
    decoded = jwt.decode(
        token,
        forge.issuer.public_key,
        algorithms=[forge.alg],
        audience="trent",
        options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
    )
    assert decoded["sub"] == f"arn:aws:iam::{ACCOUNT}:user/alice"
    padded = _padded(forge).partition(" ")[2]
    assert "=" in padded
    jwt.decode(
        padded,
        forge.issuer.public_key,
        algorithms=[forge.alg],
        audience="trent",
        options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
    )
