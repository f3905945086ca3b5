"""The JWT issuers Trent trusts, read from the JSON file ``TRENT_JWT_ISSUERS_FILE`` names."""

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from app.config.settings import ConfigError, IssuerConfig


def parse_issuers(name: str, path_raw: str) -> tuple[IssuerConfig, ...]:
    path = Path(path_raw)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{name}: cannot read {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise ConfigError(f"{name}: {path} is not valid JSON: {exc}") from None
    if not isinstance(document, list):
        raise ConfigError(f"{name}: {path} must hold a JSON list of issuers")
    issuers: list[IssuerConfig] = []
    for index, entry in enumerate(document):
        where = f"{name}: {path} entry {index}"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where} must be an object")
        issuers.append(_issuer_from_mapping(where, entry, path.parent))
    return tuple(issuers)


#: JWT algorithms an issuer may be configured with: asymmetric only (never HMAC,
#: never ``none``), so a public key can never be used as an HMAC secret.
ALLOWED_JWT_ALGORITHMS = frozenset({"ES256", "ES384", "EdDSA", "RS256", "PS256", "RS384", "PS384"})


def _issuer_from_mapping(where: str, entry: Mapping[str, Any], base: Path) -> IssuerConfig:
    known = {
        "issuer",
        "audience",
        "algorithms",
        "pem",
        "jwks_file",
        "jwks_url",
        "account_claim",
        "principal_type_claim",
        "principal_name_claim",
        "tags_claim",
        "token_type",
    }
    unknown = set(entry) - known
    if unknown:
        raise ConfigError(f"{where}: unknown member(s) {sorted(unknown)}")
    issuer = entry.get("issuer")
    audience = entry.get("audience")
    algorithms = entry.get("algorithms")
    if not isinstance(issuer, str) or not issuer:
        raise ConfigError(f"{where}: 'issuer' must be a non-empty string")
    if not isinstance(audience, str) or not audience:
        raise ConfigError(f"{where}: 'audience' must be a non-empty string")
    if (
        not isinstance(algorithms, list)
        or not algorithms
        or not all(isinstance(a, str) and a in ALLOWED_JWT_ALGORITHMS for a in algorithms)
    ):
        raise ConfigError(
            f"{where}: 'algorithms' must be a non-empty list drawn from "
            f"{sorted(ALLOWED_JWT_ALGORITHMS)} (HMAC and 'none' are never accepted)"
        )
    sources = [k for k in ("pem", "jwks_file", "jwks_url") if entry.get(k)]
    if len(sources) != 1:
        raise ConfigError(f"{where}: exactly one of 'pem', 'jwks_file', 'jwks_url' is required")
    jwks_url = entry.get("jwks_url")
    if jwks_url is not None and (
        not isinstance(jwks_url, str) or not jwks_url.startswith("https://")
    ):
        if not (isinstance(jwks_url, str) and jwks_url.startswith("http://127.0.0.1")):
            raise ConfigError(f"{where}: 'jwks_url' must be an https:// URL")

    def _path(key: str) -> Path | None:
        raw = entry.get(key)
        if raw is None:
            return None
        if not isinstance(raw, str):
            raise ConfigError(f"{where}: '{key}' must be a path")
        candidate = Path(raw)
        return candidate if candidate.is_absolute() else base / candidate

    token_type = entry.get("token_type", "at+jwt")
    if token_type is not None and not isinstance(token_type, str):
        raise ConfigError(f"{where}: 'token_type' must be a string or null")
    claims: dict[str, str] = {}
    for claim_key in (
        "account_claim",
        "principal_type_claim",
        "principal_name_claim",
        "tags_claim",
    ):
        value = entry.get(claim_key)
        if value is not None:
            if not isinstance(value, str) or not value:
                raise ConfigError(f"{where}: '{claim_key}' must be a non-empty string")
            claims[claim_key] = value
    return IssuerConfig(
        issuer=issuer,
        audience=audience,
        algorithms=tuple(algorithms),
        pem_path=_path("pem"),
        jwks_path=_path("jwks_file"),
        jwks_url=jwks_url,
        token_type=token_type,
        **claims,
    )
