"""Every row that holds something sealed under the root key, for re-sealing.

``trent root-key migrate`` reads them here and writes each new blob back in a
transaction of its own, so a migration stopped at any point leaves every row
sealed under one root key or the other, never half-written. The store does not
know how to unseal: it hands out opaque blobs and what they are bound to.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from app.store.access_keys import AccessKeyRow
from app.store.audit.models import (
    MAC_KEY_ROW_ID,
    AuditMacKeyRow,
    AuditSigningKeyRow,
    as_bytes,
)
from app.store.database import Store
from app.store.models import CustomKeyStoreRow, ImportTokenRow, KeyRow, KeyVersionRow

KEY_VERSION = "key_version"
ACCESS_KEY = "access_key"
AUDIT_SIGNING_KEY = "audit_signing_key"
CUSTOM_KEY_STORE = "custom_key_store"
AUDIT_MAC_KEY = "audit_mac_key"


@dataclass(frozen=True)
class SealedRow:
    """One sealed blob and what its AAD binds it to (the fields of its kind)."""

    kind: str
    row_id: str
    blob: bytes = field(repr=False)
    key_id: str = ""
    key_arn: str = ""
    key_spec: str = ""
    #: A key version's key origin: AWS_CLOUDHSM versions hold a sealed token reference.
    origin: str = ""
    version: int = 0
    access_key_id: str = ""
    principal_arn: str = ""
    principal_tags: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


def sealed_rows(store: Store) -> Iterator[SealedRow]:
    """Every sealed row, in a stable order (the audit MAC key, key versions,
    access keys, signing keys, custom key stores' passwords)."""
    with store.connection():
        # The MAC key first: a migration to a new file key re-seals it at once,
        # and a resumed run recognises its key by the rows already under it.
        rows: list[SealedRow] = [
            SealedRow(
                kind=AUDIT_MAC_KEY,
                row_id="audit MAC key",
                blob=as_bytes(mac.sealed_key),
            )
            for mac in AuditMacKeyRow.select().where(AuditMacKeyRow.id == MAC_KEY_ROW_ID)
        ]
        versions = (
            KeyVersionRow.select(
                KeyVersionRow, KeyRow.id, KeyRow.arn, KeyRow.key_spec, KeyRow.origin
            )
            .join(KeyRow)
            .order_by(KeyRow.id, KeyVersionRow.version)
        )
        rows.extend(
            SealedRow(
                kind=KEY_VERSION,
                row_id=f"{row.key.id}/{row.version}",
                blob=as_bytes(row.sealed_material),
                key_id=row.key.id,
                key_arn=row.key.arn,
                key_spec=row.key.key_spec,
                origin=row.key.origin,
                version=row.version,
            )
            for row in versions
            # A version whose imported material was deleted keeps only its id:
            # nothing is sealed in it.
            if as_bytes(row.sealed_material)
        )
        for access in AccessKeyRow.select().order_by(AccessKeyRow.access_key_id):
            tags: Any = json.loads(access.principal_tags)
            rows.append(
                SealedRow(
                    kind=ACCESS_KEY,
                    row_id=access.access_key_id,
                    blob=as_bytes(access.sealed_secret),
                    access_key_id=access.access_key_id,
                    principal_arn=access.principal_arn,
                    principal_tags=MappingProxyType({str(k): str(v) for k, v in tags.items()}),
                )
            )
        for signing in AuditSigningKeyRow.select().order_by(AuditSigningKeyRow.version):
            rows.append(
                SealedRow(
                    kind=AUDIT_SIGNING_KEY,
                    row_id=str(signing.version),
                    blob=as_bytes(signing.sealed_private_key),
                    version=signing.version,
                )
            )
        for key_store in CustomKeyStoreRow.select().order_by(CustomKeyStoreRow.id):
            rows.append(
                SealedRow(
                    kind=CUSTOM_KEY_STORE,
                    row_id=key_store.id,
                    blob=as_bytes(key_store.sealed_password),
                )
            )
    yield from rows


def discard_import_tokens(store: Store) -> int:
    """Delete the outstanding import parameters (their wrapping keys are sealed
    under the old root key). They are valid for a day at most; a caller asks
    GetParametersForImport again."""
    with store.connection(), store.transaction():
        return int(ImportTokenRow.delete().execute())


def replace_sealed_blob(store: Store, row: SealedRow, blob: bytes, *, root_key_id: str) -> bool:
    """Write ``blob`` (sealed under the root key ``root_key_id``) in place of
    ``row.blob``; ``False`` if the row changed meanwhile."""
    with store.connection(), store.transaction():
        if row.kind == AUDIT_MAC_KEY:
            query = AuditMacKeyRow.update(sealed_key=blob, root_key_id=root_key_id).where(
                (AuditMacKeyRow.id == MAC_KEY_ROW_ID) & (AuditMacKeyRow.sealed_key == row.blob)
            )
        elif row.kind == KEY_VERSION:
            query = KeyVersionRow.update(sealed_material=blob).where(
                (KeyVersionRow.key == row.key_id)
                & (KeyVersionRow.version == row.version)
                & (KeyVersionRow.sealed_material == row.blob)
            )
        elif row.kind == ACCESS_KEY:
            query = AccessKeyRow.update(sealed_secret=blob).where(
                (AccessKeyRow.access_key_id == row.row_id)
                & (AccessKeyRow.sealed_secret == row.blob)
            )
        elif row.kind == AUDIT_SIGNING_KEY:
            query = AuditSigningKeyRow.update(sealed_private_key=blob).where(
                (AuditSigningKeyRow.version == row.version)
                & (AuditSigningKeyRow.sealed_private_key == row.blob)
            )
        elif row.kind == CUSTOM_KEY_STORE:
            query = CustomKeyStoreRow.update(sealed_password=blob).where(
                (CustomKeyStoreRow.id == row.row_id)
                & (CustomKeyStoreRow.sealed_password == row.blob)
            )
        else:
            raise ValueError(f"unknown sealed row kind {row.kind!r}")
        return bool(query.execute() == 1)
