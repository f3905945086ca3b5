"""REST routes for custom key stores, under ``/v1/custom-key-stores``."""

from __future__ import annotations

from app.catalogue import KMS

STORE = "/v1/custom-key-stores/<custom_key_store_id>"

ROUTES = (
    KMS["CreateCustomKeyStore"].at(
        "POST",
        "/v1/custom-key-stores",
        "Create a custom key store on a token of the service's PKCS#11 module "
        "(CloudHsmClusterId names the token; KeyStorePassword is its user PIN).",
        produces={"CustomKeyStoreId": "$response.body#/CustomKeyStoreId"},
    ),
    KMS["DescribeCustomKeyStores"].at(
        "GET",
        "/v1/custom-key-stores",
        "List the account's custom key stores (?CustomKeyStoreName= or ?CustomKeyStoreId= "
        "picks one).",
        members="query",
    ),
    KMS["UpdateCustomKeyStore"].at(
        "PATCH",
        STORE,
        "Rename a store; change its password or token while it is disconnected.",
    ),
    KMS["ConnectCustomKeyStore"].at(
        "POST",
        STORE + "/connect",
        "Log in to the store's token: CONNECTED, or FAILED with a ConnectionErrorCode.",
        members="none",
    ),
    KMS["DisconnectCustomKeyStore"].at(
        "POST",
        STORE + "/disconnect",
        "Disconnect the store: its keys cannot be used until it is connected again.",
        members="none",
    ),
    KMS["DeleteCustomKeyStore"].at(
        "DELETE",
        STORE,
        "Delete a disconnected store that holds no keys.",
        members="none",
    ),
)
