"""The embedded token issuer: mints RFC 9068 access tokens for Trent principals.

Its key lives in ``Settings.issuer_dir`` (see :mod:`app.crypto.issuer_keys`).
The claim grammar checked here on minting is the same one
:mod:`app.auth.jwt_verifier` enforces on every request, so a token this
module mints is always one the verifier accepts, and nothing else is.

Token layout::

    header   {"alg": "EdDSA" | "ES256", "kid": <thumbprint>, "typ": "at+jwt"}
    payload  iss, aud, sub (the principal ARN), iat, nbf, exp, jti,
             trent:account, trent:type (user | role | root),
             trent:name (user and role only), trent:tags ({key: value})
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final, NoReturn, cast

import jwt

from app.auth.principal import ACCOUNT_RE, NAME_RE, Principal, PrincipalType
from app.config import IssuerConfig, Settings
from app.crypto.issuer_keys import (
    IssuerAlgorithm,
    IssuerKeyError,
    IssuerPrivateKey,
    IssuerPublicKey,
    load_issuer_info,
    load_issuer_private_key,
    load_issuer_public_key,
    public_key_thumbprint,
)

ACCESS_TOKEN_TYPE: Final = "at+jwt"
ACCOUNT_CLAIM: Final = "trent:account"
TYPE_CLAIM: Final = "trent:type"
NAME_CLAIM: Final = "trent:name"
TAGS_CLAIM: Final = "trent:tags"

#: AWS allows at most 50 session tags; principal tags here follow that limit.
MAX_TAGS: Final = 50
MAX_TAG_KEY_CHARS: Final = 128
MAX_TAG_VALUE_CHARS: Final = 256

_NO_TAGS: Final[Mapping[str, str]] = MappingProxyType({})


def check_account(value: object) -> str:
    """A 12-digit account id, or :class:`ValueError`."""
    if not isinstance(value, str) or not ACCOUNT_RE.fullmatch(value):
        raise ValueError("the account must be a string of 12 digits")
    return value


def check_principal_type(value: object) -> PrincipalType:
    """``user``, ``role`` or ``root``, or :class:`ValueError`."""
    if not isinstance(value, str) or value not in ("user", "role", "root"):
        raise ValueError("the principal type must be user, role or root")
    return cast(PrincipalType, value)


def check_name(value: object) -> str:
    """An IAM user or role name (1-64 characters of ``[A-Za-z0-9_+=,.@-]``)."""
    # fullmatch, not match: ``$`` in the shared pattern also matches before
    # a trailing newline, which must not slip into an ARN.
    if not isinstance(value, str) or not NAME_RE.fullmatch(value):
        raise ValueError("a user or role name must be 1-64 characters of A-Z a-z 0-9 _+=,.@-")
    return value


def check_tags(value: object) -> Mapping[str, str]:
    """Principal tags: at most 50 string pairs, keys 1-128 and values 0-256 characters.

    Keys and values must be printable (no control characters, no lone
    surrogates), because they reach policy conditions and the audit log;
    keys may not use the ``aws:`` prefix, which AWS reserves.
    """
    if not isinstance(value, Mapping):
        raise ValueError("principal tags must be an object of strings")
    if len(value) > MAX_TAGS:
        raise ValueError(f"at most {MAX_TAGS} principal tags are allowed")
    tags: dict[str, str] = {}
    for key, item in value.items():
        if not isinstance(key, str) or not 1 <= len(key) <= MAX_TAG_KEY_CHARS:
            raise ValueError(f"a tag key must be 1-{MAX_TAG_KEY_CHARS} characters")
        if not isinstance(item, str) or len(item) > MAX_TAG_VALUE_CHARS:
            raise ValueError(f"a tag value must be a string of 0-{MAX_TAG_VALUE_CHARS} characters")
        if not key.isprintable() or not item.isprintable():
            raise ValueError("tag keys and values must be printable text")
        if key[:4].lower() == "aws:":
            raise ValueError("tag keys starting with 'aws:' are reserved")
        tags[key] = item
    return MappingProxyType(tags)


class LocalIssuer:
    """The local issuer: its public identity, its verification key and ``mint``.

    The signing key is held privately and never shown: ``repr`` names the
    issuer and key id only, and instances refuse to be pickled.
    """

    __slots__ = ("_settings", "_issuer", "_kid", "_algorithm", "_signing_key", "_public_key")

    def __init__(
        self,
        settings: Settings,
        *,
        issuer: str,
        kid: str,
        algorithm: IssuerAlgorithm,
        signing_key: IssuerPrivateKey,
        public_key: IssuerPublicKey,
    ) -> None:
        if public_key_thumbprint(signing_key.public_key()) != kid or (
            public_key_thumbprint(public_key) != kid
        ):
            raise IssuerKeyError("the local issuer's keys do not match its kid")
        self._settings = settings
        self._issuer = issuer
        self._kid = kid
        self._algorithm: IssuerAlgorithm = algorithm
        self._signing_key = signing_key
        self._public_key = public_key

    @classmethod
    def load(cls, settings: Settings) -> LocalIssuer:
        """Load the issuer from ``settings.issuer_dir``; :class:`ConfigError` if unusable."""
        directory = settings.issuer_dir
        info = load_issuer_info(directory)
        return cls(
            settings,
            issuer=info.issuer,
            kid=info.kid,
            algorithm=info.algorithm,
            signing_key=load_issuer_private_key(directory),
            public_key=load_issuer_public_key(directory),
        )

    @property
    def issuer(self) -> str:
        return self._issuer

    @property
    def kid(self) -> str:
        return self._kid

    @property
    def algorithm(self) -> IssuerAlgorithm:
        return self._algorithm

    @property
    def audience(self) -> str:
        return self._settings.jwt_audience

    @property
    def partition(self) -> str:
        return self._settings.partition

    @property
    def public_key(self) -> IssuerPublicKey:
        """The key the verifier checks this issuer's tokens with."""
        return self._public_key

    @property
    def issuer_config(self) -> IssuerConfig:
        """This issuer as the verifier sees any trusted issuer (the key comes from
        :attr:`public_key`, bound to :attr:`kid` and :attr:`algorithm`)."""
        return IssuerConfig(
            issuer=self._issuer,
            audience=self._settings.jwt_audience,
            algorithms=(self._algorithm,),
            account_claim=ACCOUNT_CLAIM,
            principal_type_claim=TYPE_CLAIM,
            principal_name_claim=NAME_CLAIM,
            tags_claim=TAGS_CLAIM,
            token_type=ACCESS_TOKEN_TYPE,
        )

    def mint(
        self,
        account: str,
        *,
        user: str | None = None,
        role: str | None = None,
        root: bool = False,
        tags: Mapping[str, str] = _NO_TAGS,
        ttl_seconds: int = 3600,
        now: int | None = None,
    ) -> str:
        """A signed access token for one principal; :class:`ValueError` on bad input.

        Exactly one of ``user``, ``role`` and ``root`` names the principal.
        ``ttl_seconds`` is at most ``Settings.jwt_max_lifetime_seconds``.
        """
        check_account(account)
        if not isinstance(root, bool):
            raise ValueError("root must be true or false")
        chosen = [user is not None, role is not None, root]
        if chosen.count(True) != 1:
            raise ValueError("give exactly one of user, role and root")
        principal_type: PrincipalType
        name: str | None
        if user is not None:
            principal_type, name = "user", check_name(user)
        elif role is not None:
            principal_type, name = "role", check_name(role)
        else:
            principal_type, name = "root", None
        checked_tags = check_tags(tags)
        max_lifetime = self._settings.jwt_max_lifetime_seconds
        if type(ttl_seconds) is not int or not 1 <= ttl_seconds <= max_lifetime:
            raise ValueError(f"the token lifetime must be 1-{max_lifetime} seconds")
        if now is None:
            now = int(time.time())
        elif type(now) is not int or now < 0:
            raise ValueError("now must be a non-negative integer")

        principal = Principal(
            partition=self._settings.partition,
            account=account,
            type=principal_type,
            name=name,
            tags=checked_tags,
        )
        claims: dict[str, Any] = {
            "iss": self._issuer,
            "aud": self._settings.jwt_audience,
            "sub": principal.arn,
            "iat": now,
            "nbf": now,
            "exp": now + ttl_seconds,
            "jti": secrets.token_urlsafe(16),
            ACCOUNT_CLAIM: account,
            TYPE_CLAIM: principal_type,
            TAGS_CLAIM: dict(checked_tags),
        }
        if name is not None:
            claims[NAME_CLAIM] = name
        return jwt.encode(
            claims,
            self._signing_key,
            algorithm=self._algorithm,
            headers={"typ": ACCESS_TOKEN_TYPE, "kid": self._kid},
        )

    def __repr__(self) -> str:
        return (
            f"LocalIssuer(issuer={self._issuer!r}, kid={self._kid!r}, "
            f"algorithm={self._algorithm!r})"
        )

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("LocalIssuer holds a signing key and cannot be pickled")
