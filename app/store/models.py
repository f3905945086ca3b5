"""peewee models: the tables of Trent.

Times are epoch seconds (``DOUBLE``) everywhere, the unit of the API itself.
Key material is stored only sealed under the root key (``sealed_material``);
the column type is a blob and nothing in this package can unseal it.
Every model is listed in :data:`ALL_MODELS`; the migration test compares the
migrated schema with these definitions on SQLite and PostgreSQL.
"""

from __future__ import annotations

import peewee

from app.store.access_keys import AccessKeyRow
from app.store.audit.models import AUDIT_MODELS
from app.store.base import BaseModel


class KeyRow(BaseModel):
    """A customer master key (CMK). ``id`` is the bare key id (a UUID)."""

    id = peewee.CharField(primary_key=True, max_length=36)
    account = peewee.CharField(max_length=12, index=True)
    arn = peewee.CharField(max_length=256, unique=True)
    description = peewee.TextField(default="")
    key_usage = peewee.CharField(max_length=32)
    key_spec = peewee.CharField(max_length=32)
    origin = peewee.CharField(max_length=32)
    state = peewee.CharField(max_length=32)
    created_at = peewee.DoubleField()
    deletion_date = peewee.DoubleField(null=True)
    pending_window_days = peewee.IntegerField(null=True)
    policy = peewee.TextField()
    rotation_enabled = peewee.BooleanField(default=False)
    rotation_period_days = peewee.IntegerField(null=True)
    next_rotation_at = peewee.DoubleField(null=True, index=True)
    on_demand_rotations = peewee.IntegerField(default=0)
    current_version = peewee.IntegerField()
    #: Imported material only (``Origin=EXTERNAL``): its expiration model and expiry.
    expiration_model = peewee.CharField(max_length=32, null=True)
    valid_to = peewee.DoubleField(null=True, index=True)
    #: Bumped on every change, so a cached copy can be checked cheaply.
    revision = peewee.IntegerField(default=1)
    #: Keys in a custom key store (``Origin=AWS_CLOUDHSM``) only.
    custom_key_store_id = peewee.CharField(max_length=64, null=True, index=True)

    class Meta:
        table_name = "key"


class KeyVersionRow(BaseModel):
    """One version of a key's material, sealed under the root key."""

    key = peewee.ForeignKeyField(KeyRow, backref="versions", on_delete="CASCADE")
    version = peewee.IntegerField()
    sealed_material = peewee.BlobField()
    material_id = peewee.CharField(max_length=64)
    created_at = peewee.DoubleField()
    #: ``None`` for the first material, else ``AUTOMATIC`` or ``ON_DEMAND``.
    rotation_type = peewee.CharField(max_length=16, null=True)

    class Meta:
        table_name = "key_version"
        indexes = ((("key", "version"), True),)


class AliasRow(BaseModel):
    account = peewee.CharField(max_length=12)
    name = peewee.CharField(max_length=256)
    key = peewee.ForeignKeyField(KeyRow, backref="aliases", on_delete="CASCADE")
    created_at = peewee.DoubleField()
    updated_at = peewee.DoubleField()

    class Meta:
        table_name = "alias"
        indexes = ((("account", "name"), True),)


class KeyTagRow(BaseModel):
    key = peewee.ForeignKeyField(KeyRow, backref="tags", on_delete="CASCADE")
    tag_key = peewee.CharField(max_length=128)
    tag_value = peewee.CharField(max_length=256)

    class Meta:
        table_name = "key_tag"
        indexes = ((("key", "tag_key"), True),)


class IdentityPolicyRow(BaseModel):
    """An IAM-style identity policy attached to a principal ARN of an account."""

    account = peewee.CharField(max_length=12)
    principal_arn = peewee.CharField(max_length=2048)
    name = peewee.CharField(max_length=128)
    document = peewee.TextField()
    updated_at = peewee.DoubleField()

    class Meta:
        table_name = "identity_policy"
        indexes = ((("principal_arn", "name"), True),)


class GrantRow(BaseModel):
    """A grant on a key. ``seq`` orders listings (the paging marker's position);
    operations are a JSON list, constraints a JSON object or NULL."""

    seq = peewee.AutoField()
    grant_id = peewee.CharField(max_length=128, unique=True)
    key = peewee.ForeignKeyField(KeyRow, backref="grants", on_delete="CASCADE")
    key_arn = peewee.CharField(max_length=256)
    grantee_principal = peewee.CharField(max_length=256)
    retiring_principal = peewee.CharField(max_length=256, null=True, index=True)
    operations = peewee.TextField()
    constraints = peewee.TextField(null=True)
    name = peewee.CharField(max_length=256, null=True)
    issuing_account = peewee.CharField(max_length=256)
    created_at = peewee.DoubleField()

    class Meta:
        table_name = "grant"
        indexes = ((("key", "grantee_principal"), False), (("key", "name"), False))


class ImportTokenRow(BaseModel):
    """An import token of GetParametersForImport, by the SHA-256 of the token
    (the token itself is never stored), with its wrapping private key sealed
    under the root key. Valid for one key until ``expires_at``."""

    digest = peewee.CharField(primary_key=True, max_length=64)
    key = peewee.ForeignKeyField(KeyRow, backref="import_tokens", on_delete="CASCADE", index=True)
    wrapping_algorithm = peewee.CharField(max_length=32)
    wrapping_key_spec = peewee.CharField(max_length=16)
    sealed_wrapping_key = peewee.BlobField()
    created_at = peewee.DoubleField()
    expires_at = peewee.DoubleField(index=True)

    class Meta:
        table_name = "import_token"


class CustomKeyStoreRow(BaseModel):
    """A custom key store: a token of the PKCS#11 module, its user PIN sealed
    under the root key, and its connection state (shared by every process)."""

    id = peewee.CharField(primary_key=True, max_length=64)
    account = peewee.CharField(max_length=12)
    name = peewee.CharField(max_length=256)
    cluster_id = peewee.CharField(max_length=24)
    token_label = peewee.CharField(max_length=64)
    trust_anchor = peewee.TextField()
    sealed_password = peewee.BlobField()
    connection_state = peewee.CharField(max_length=16)
    connection_error = peewee.CharField(max_length=32, null=True)
    created_at = peewee.DoubleField()

    class Meta:
        table_name = "custom_key_store"
        indexes = ((("account", "name"), True),)


ALL_MODELS: tuple[type[BaseModel], ...] = (
    KeyRow,
    KeyVersionRow,
    AliasRow,
    KeyTagRow,
    IdentityPolicyRow,
    *AUDIT_MODELS,
    AccessKeyRow,
    GrantRow,
    ImportTokenRow,
    CustomKeyStoreRow,
)
