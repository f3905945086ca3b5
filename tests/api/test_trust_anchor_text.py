"""TrustAnchorCertificate is a PEM document: its line breaks are accepted (AWS
gives the member no pattern, and a certificate file has them), other control
characters (tab aside) are refused at the edge and nothing is stored."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from tests.api.kms import Kms
from tests.certificates import self_signed_ca_pem
from tests.conftest import TokenFactory


@pytest.fixture
def kms(client: FlaskClient, token: TokenFactory) -> Kms:
    return Kms(client, token(root=True))


def _create(kms: Kms, anchor: str) -> tuple[int, dict[str, str]]:
    response = kms.aws(
        "CreateCustomKeyStore",
        {
            "CustomKeyStoreName": "anchored",
            "CloudHsmClusterId": "cluster-aaaaaaaaaaa",
            "TrustAnchorCertificate": anchor,
            "KeyStorePassword": "a-store-pin",
        },
    )
    return response.status_code, response.get_json(force=True)


@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_a_pem_certificate_passes_validation(kms: Kms, newline: str) -> None:
    pem = self_signed_ca_pem("anchor").replace("\n", newline)
    status, body = _create(kms, pem)
    # Past validation: this service has no PKCS#11 module, so no cluster.
    assert status == 400 and body["__type"] == "CloudHsmClusterNotFoundException", body


@pytest.mark.parametrize("char", ["\x00", "\x1b", "\x7f", "\x0b"], ids=["nul", "esc", "del", "vt"])
def test_other_control_characters_are_refused(kms: Kms, char: str) -> None:
    pem = self_signed_ca_pem("anchor").replace("\n-----END", f"{char}\n-----END")
    status, body = _create(kms, pem)
    assert status == 400 and body["__type"] == "ValidationException", body
    assert " at 'trustAnchorCertificate' failed to satisfy constraint: " in body["message"]
    assert char not in body["message"]
    listed = kms.aws("DescribeCustomKeyStores", {}).get_json(force=True)
    assert listed["CustomKeyStores"] == []
