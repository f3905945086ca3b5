"""Access keys for SigV4: the formats of ids and secrets, and what a lookup returns.

An access key is an id (public, like a user name) and a secret (shown to its
owner once, then stored only sealed under the root key). Their forms follow
AWS so that SDKs and secret scanners treat them alike:

* id: ``AKIA`` followed by 16 characters of the RFC 4648 base32 alphabet
  (``A-Z``, ``2-7``), 80 random bits;
* secret: 40 characters of standard base64 (``A-Za-z0-9+/``), 240 random bits.

SigV4 is symmetric, so the server must hold the secret itself (kms-api.md
§1.3, item 7); :class:`SecretAccessKey` refuses to be printed, logged or
pickled, like every other secret of the service.
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

from app.auth.principal import Principal
from app.crypto.sealed import SealedMaterial
from app.crypto.secret import SecretBytes

ACCESS_KEY_PREFIX: Final = "AKIA"
SECRET_ACCESS_KEY_CHARS: Final = 40
#: The ids Trent issues. Anything else is refused before any lookup.
ACCESS_KEY_ID_RE: Final = re.compile(r"AKIA[A-Z2-7]{16}")
#: What a SigV4 credential may name as an access key id at all (IAM's own
#: pattern and length bounds); used to bound input before it reaches a lookup.
ANY_ACCESS_KEY_ID_RE: Final = re.compile(r"[A-Z0-9]{16,128}")
SECRET_ACCESS_KEY_RE: Final = re.compile(r"[A-Za-z0-9+/]{40}")
#: The status of every access key (AWS also knows ``Inactive``; Trent deletes instead).
STATUS_ACTIVE: Final = "Active"

_ID_RANDOM_BYTES: Final = 10  # 80 bits -> 16 base32 characters, no padding
_SECRET_RANDOM_BYTES: Final = 30  # 240 bits -> 40 base64 characters, no padding


class SecretAccessKey(SecretBytes):
    """The 40 ASCII bytes of a secret access key. Never log, store or return it
    (except once, to its owner, when it is created)."""

    __slots__ = ()
    length = SECRET_ACCESS_KEY_CHARS


def new_access_key_id(random: Callable[[int], bytes] = os.urandom) -> str:
    """A fresh random access key id (``AKIA`` + 16 base32 characters)."""
    suffix = base64.b32encode(random(_ID_RANDOM_BYTES)).decode("ascii")
    return ACCESS_KEY_PREFIX + suffix


def new_secret_access_key(random: Callable[[int], bytes] = os.urandom) -> SecretAccessKey:
    """A fresh random secret access key (40 base64 characters)."""
    return SecretAccessKey(base64.b64encode(random(_SECRET_RANDOM_BYTES)))


def is_access_key_id(value: str) -> bool:
    """True if ``value`` has the form of an access key id Trent issues."""
    return ACCESS_KEY_ID_RE.fullmatch(value) is not None


@dataclass(frozen=True)
class AccessKeyCredential:
    """What the verifier's lookup returns for a usable access key.

    ``principal`` is the key owner as policies will see it; the verifier sets
    ``auth_method="sigv4"`` and ``token_id=<access key id>`` on it.
    ``last_used_at`` lets the owner of the lookup decide cheaply whether the
    key's last-used time needs writing after a successful verification.
    """

    access_key_id: str
    principal: Principal
    secret: SecretAccessKey = field(repr=False)
    last_used_at: float | None = None


@dataclass(frozen=True)
class AccessKeyRecord:
    """An access key as stored: its owner, and its secret sealed."""

    access_key_id: str
    account: str
    principal_arn: str
    sealed_secret: SealedMaterial
    created_at: float
    principal_tags: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    last_used_at: float | None = None
    status: str = STATUS_ACTIVE
