"""Custom key stores: keys whose material is generated and used in a PKCS#11 token.

AWS KMS's ``AWS_CLOUDHSM`` custom key store is a CloudHSM cluster that KMS
logs in to as ``kmsuser``; a key created in it (``Origin=AWS_CLOUDHSM``) has
its material generated in the cluster, and its Encrypt and Decrypt run there.
Trent's nearest honest equivalent is a token of the PKCS#11 module the
service is configured with (``TRENT_PKCS11_MODULE``):

* ``CloudHsmClusterId`` names a token of that module by a stable id made from
  its serial number and label (``trent key-stores clusters`` lists them);
* ``KeyStorePassword`` is the token's user PIN, kept sealed under the root key;
* ``TrustAnchorCertificate`` is kept and returned, and must be a PEM X.509
  certificate; a local PKCS#11 module has no TLS link for it to anchor, so it
  is not checked against the token.

``ConnectCustomKeyStore`` logs in to the token at once (Trent has no
asynchronous ``CONNECTING`` phase): the store is ``CONNECTED``, or ``FAILED``
with AWS's ``ConnectionErrorCode``. PKCS#11 logs in a *process*, per token,
for as long as any of its sessions is open: a process that already holds a
session on the token (its root key lives there too, say) does not check the
PIN again, so a wrong password is caught by the first process that logs in
afresh (its calls answer 503, and its log says the token refused the PIN).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field

CUSTOM_KEY_STORE_TYPE = "AWS_CLOUDHSM"
ORIGIN_AWS_CLOUDHSM = "AWS_CLOUDHSM"
MAX_KEY_STORES_PER_ACCOUNT = 10

#: ``cks-`` and 17 hex characters, as AWS's ids are.
KEY_STORE_ID_PATTERN = re.compile(r"cks-[0-9a-f]{17}")


class ConnectionState(enum.StrEnum):
    CONNECTED = "CONNECTED"
    CONNECTING = "CONNECTING"
    FAILED = "FAILED"
    DISCONNECTED = "DISCONNECTED"
    DISCONNECTING = "DISCONNECTING"


class ConnectionErrorCode(enum.StrEnum):
    """The codes of AWS's ``ConnectionErrorCode`` that a token can cause."""

    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    CLUSTER_NOT_FOUND = "CLUSTER_NOT_FOUND"
    NETWORK_ERRORS = "NETWORK_ERRORS"
    INTERNAL_ERROR = "INTERNAL_ERROR"
    USER_LOGGED_IN = "USER_LOGGED_IN"


@dataclass(frozen=True)
class CustomKeyStore:
    """One custom key store: which token, how to log in (sealed), its state."""

    store_id: str
    account: str
    name: str
    cluster_id: str
    #: The token's label when the store was last (re)configured.
    token_label: str
    trust_anchor: str
    sealed_password: bytes = field(repr=False)
    state: ConnectionState
    created_at: float
    error_code: str | None = None

    @property
    def connected(self) -> bool:
        return self.state is ConnectionState.CONNECTED


def key_store_entry(store: CustomKeyStore) -> dict[str, object]:
    """The ``CustomKeyStoresListEntry`` of DescribeCustomKeyStores."""
    entry: dict[str, object] = {
        "CustomKeyStoreId": store.store_id,
        "CustomKeyStoreName": store.name,
        "CloudHsmClusterId": store.cluster_id,
        "ConnectionState": store.state.value,
        "CreationDate": store.created_at,
        "CustomKeyStoreType": CUSTOM_KEY_STORE_TYPE,
    }
    if store.trust_anchor:
        entry["TrustAnchorCertificate"] = store.trust_anchor
    if store.error_code is not None:
        entry["ConnectionErrorCode"] = store.error_code
    return entry


def password_aad(store_id: str) -> bytes:
    """What a store's sealed PIN is bound to: it unseals for that store only."""
    return b"trent/custom-key-store/v1/password\x00" + store_id.encode("ascii")
