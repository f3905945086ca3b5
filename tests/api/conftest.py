"""Fixtures shared by the API tests."""

from __future__ import annotations

import pytest
from botocore.credentials import Credentials
from flask.testing import FlaskClient

from tests.api.kms import Kms
from tests.conftest import TokenFactory


@pytest.fixture
def root(client: FlaskClient, token: TokenFactory) -> Kms:
    """The account root, whom every new key's default policy allows everything."""
    return Kms(client, token(root=True))


@pytest.fixture
def credentials(root: Kms) -> Credentials:
    """A SigV4 access key of the account root."""
    created = root.post("/v1/access-keys").get_json()["AccessKey"]
    return Credentials(created["AccessKeyId"], created["SecretAccessKey"])
