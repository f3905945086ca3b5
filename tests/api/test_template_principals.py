"""CreateKey's Administrators and Users: any string there is answered 200 or 400,
never 500; a principal the administrators/users template cannot use is a 400 that
names it, on both doors."""

from __future__ import annotations

import pytest
from botocore.credentials import Credentials
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.schemas.keys import ARN_PRINCIPAL
from tests.api.kms import Kms
from tests.api.test_aws_door import signed
from tests.api.test_policy_refusals import aws_error, rest_error
from tests.conftest import ACCOUNT

ADMIN = f"arn:aws:iam::{ACCOUNT}:user/admin"


@pytest.mark.parametrize("field", ["Administrators", "Users"])
@pytest.mark.parametrize(
    "principal",
    [
        "arn:awshlp:iam::602527102821:root",
        "arn:aws-cn:iam::602527102821:root",  # a partition other than Trent's
        "arn:aws:iam::602527102821:user/caf\u00e9",
    ],
)
def test_an_unusable_principal_in_the_template_is_a_400_naming_it(
    root: Kms, field: str, principal: str
) -> None:
    error = rest_error(root.create_key(**{field: [principal]}))
    assert error["code"] in ("MalformedPolicyDocumentException", "ValidationException")
    assert principal in error["message"]
    assert root.get("/v1/keys").get_json()["Keys"] == []


def test_an_unusable_principal_is_a_400_on_the_aws_door(
    client: FlaskClient, root: Kms, credentials: Credentials
) -> None:
    principal = "arn:awshlp:iam::602527102821:root"
    error = aws_error(signed(client, credentials, "CreateKey", {"Users": [principal]}))
    assert error["__type"] in ("MalformedPolicyDocumentException", "ValidationException")
    assert principal in error["message"]


_PRINCIPAL_LIKE = st.one_of(
    st.from_regex(ARN_PRINCIPAL, fullmatch=True),
    st.builds(
        "arn:{}:iam::{}:{}".format,
        st.from_regex(r"aws[a-z-]{0,8}", fullmatch=True),
        st.from_regex(r"[0-9]{12}", fullmatch=True),
        st.sampled_from(["root", "user/alice", "role/App", "user/a/b", "role/x y"]),
    ),
    st.text(max_size=40),
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    administrators=st.lists(_PRINCIPAL_LIKE, max_size=2),
    users=st.lists(_PRINCIPAL_LIKE, max_size=2),
)
def test_any_strings_in_administrators_and_users_give_200_or_400(
    root: Kms, administrators: list[str], users: list[str]
) -> None:
    response = root.create_key(Administrators=administrators, Users=users)
    assert response.status_code in (200, 400), response.get_data(as_text=True)
    if response.status_code == 400:
        assert response.get_json()["error"]["code"] in (
            "MalformedPolicyDocumentException",
            "ValidationException",
        )
