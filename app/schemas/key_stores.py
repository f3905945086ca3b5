"""Request schemas of the custom key store operations.

The ``XksProxy*`` members of external key stores are taken (so a request
naming them gets the operation's clear ``UnsupportedOperationException``
rather than an unknown-member error) and never stored.
"""

from __future__ import annotations

from typing import Any

from marshmallow import fields

from app.operations import key_stores
from app.schemas.base import Int, RequestSchema, StrictSchema, Text

KEY_STORE_TYPES = ("AWS_CLOUDHSM", "EXTERNAL_KEY_STORE")
_XKS_MEMBERS = (
    "xks_proxy_uri_endpoint",
    "xks_proxy_uri_path",
    "xks_proxy_vpc_endpoint_service_name",
    "xks_proxy_vpc_endpoint_service_owner",
    "xks_proxy_authentication_credential",
    "xks_proxy_connectivity",
)


def _store_id(required: bool = True) -> Text:
    return Text(min_length=1, max_length=64, data_key="CustomKeyStoreId", required=required)


def _name(data_key: str, required: bool) -> Text:
    return Text(min_length=1, max_length=256, data_key=data_key, required=required)


def _password() -> Text:
    # Never quoted in an error message: it is the token's PIN.
    return Text(min_length=7, max_length=32, quote=False, data_key="KeyStorePassword")


def _cluster_id() -> Text:
    return Text(min_length=19, max_length=24, data_key="CloudHsmClusterId")


class _XksCredentialSchema(StrictSchema):
    access_key_id = Text(min_length=20, max_length=30, quote=False, data_key="AccessKeyId")
    raw_secret_access_key = Text(
        min_length=43, max_length=64, quote=False, data_key="RawSecretAccessKey"
    )


class _XksMembers:
    """The external key store members, accepted only to be refused clearly."""

    xks_proxy_uri_endpoint = Text(max_length=128, data_key="XksProxyUriEndpoint")
    xks_proxy_uri_path = Text(max_length=128, data_key="XksProxyUriPath")
    xks_proxy_vpc_endpoint_service_name = Text(
        max_length=64, data_key="XksProxyVpcEndpointServiceName"
    )
    xks_proxy_vpc_endpoint_service_owner = Text(
        max_length=12, data_key="XksProxyVpcEndpointServiceOwner"
    )
    xks_proxy_authentication_credential = fields.Nested(
        lambda: _XksCredentialSchema(), data_key="XksProxyAuthenticationCredential"
    )
    xks_proxy_connectivity = Text(max_length=32, data_key="XksProxyConnectivity")

    def arguments(self, data: dict[str, Any]) -> dict[str, Any]:
        given = [data.pop(member, None) is not None for member in _XKS_MEMBERS]
        data["xks_proxy"] = any(given)
        return data


class CreateCustomKeyStoreSchema(_XksMembers, RequestSchema):
    builds = key_stores.CreateCustomKeyStoreRequest

    custom_key_store_name = _name("CustomKeyStoreName", required=True)
    cloud_hsm_cluster_id = _cluster_id()
    trust_anchor_certificate = Text(
        min_length=1,
        max_length=5000,
        # PEM text: line breaks and tabs, no other control character.
        pattern=r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]*$",
        quote=False,
        data_key="TrustAnchorCertificate",
    )
    key_store_password = _password()
    custom_key_store_type = Text(choices=KEY_STORE_TYPES, data_key="CustomKeyStoreType")


class DescribeCustomKeyStoresSchema(RequestSchema):
    builds = key_stores.DescribeCustomKeyStoresRequest

    custom_key_store_id = _store_id(required=False)
    custom_key_store_name = _name("CustomKeyStoreName", required=False)
    limit = Int(minimum=1, maximum=1000, data_key="Limit")
    marker = Text(min_length=1, max_length=1024, pattern=r"^[\u0020-\u00FF]*$", data_key="Marker")


class UpdateCustomKeyStoreSchema(_XksMembers, RequestSchema):
    builds = key_stores.UpdateCustomKeyStoreRequest

    custom_key_store_id = _store_id()
    new_custom_key_store_name = _name("NewCustomKeyStoreName", required=False)
    key_store_password = _password()
    cloud_hsm_cluster_id = _cluster_id()


class KeyStoreIdSchema(RequestSchema):
    builds = key_stores.KeyStoreIdRequest

    custom_key_store_id = _store_id()
