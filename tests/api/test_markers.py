"""Paging markers on every list, on both doors and both databases.

A marker or cursor the server did not hand out is a client mistake: a 400
``InvalidMarkerException`` (or ``ValidationException`` where the member's
documented length or pattern refuses it first), never a 5xx. The markers the
server does hand out page through each list in full.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import hypothesis
import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, example, given
from hypothesis import strategies as st
from werkzeug.test import TestResponse

from app.config import Settings
from tests.api.kms import Kms
from tests.conftest import TokenFactory, bearer, init_data_dir

#: AWS's rule for Marker: 1-1024 characters of [\u0020-\u00FF].
MARKER_RULE = re.compile(r"^[\u0020-\u00FF]{1,1024}$")
#: The audit cursor: 1-256 characters, no control character.
CURSOR_RULE = re.compile(r"^[^\u0000-\u001F\u007F]{1,256}$")
PREFIXES = ["k", "a", "t", "v", "p", "g", "audit-seq", "x"]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    return init_data_dir(tmp_path / "var", url)


@dataclass
class Lists:
    """A client and one key with enough aliases, tags, rotations and grants to page through."""

    client: FlaskClient
    token: str
    key_id: str

    def rest(self, path: str, **query: Any) -> TestResponse:
        return self.client.get(path, query_string=query, headers=bearer(self.token))

    def aws(self, target: str, body: dict[str, Any]) -> TestResponse:
        return Kms(self.client, self.token).aws(target, body)


@pytest.fixture
def lists(client: FlaskClient, token: TokenFactory) -> Lists:
    root = token(root=True)
    made = Lists(client, root, "")
    headers = bearer(root)
    keys = [client.post("/v1/keys", json={}, headers=headers).get_json() for _ in range(3)]
    made.key_id = keys[0]["KeyMetadata"]["KeyId"]
    path = f"/v1/keys/{quote(made.key_id, safe='')}"
    for n in range(3):
        response = client.post(
            "/v1/aliases",
            json={"AliasName": f"alias/m{n}", "TargetKeyId": made.key_id},
            headers=headers,
        )
        assert response.status_code == 200, response.get_data(as_text=True)
    tags = [{"TagKey": f"t{n}-ü", "TagValue": "v"} for n in range(3)]
    assert client.post(f"{path}/tags", json={"Tags": tags}, headers=headers).status_code == 200
    for _ in range(3):
        response = client.post(f"{path}/rotations", json={}, headers=headers)
        assert response.status_code == 200, response.get_data(as_text=True)
    for n in range(3):
        grant = {
            "GranteePrincipal": f"arn:aws:iam::111122223333:user/g{n}",
            "Operations": ["Encrypt"],
        }
        response = client.post(f"{path}/grants", json=grant, headers=headers)
        assert response.status_code == 200, response.get_data(as_text=True)
    return made


# What each list calls its marker and its next marker, per door.
REST_LISTS: dict[str, tuple[Callable[[str], str], str, str, str]] = {
    "ListKeys": (lambda k: "/v1/keys", "Marker", "NextMarker", "Keys"),
    "ListAliases": (lambda k: "/v1/aliases", "Marker", "NextMarker", "Aliases"),
    "ListKeyRotations": (
        lambda k: f"/v1/keys/{k}/rotations",
        "Marker",
        "NextMarker",
        "Rotations",
    ),
    "ListResourceTags": (lambda k: f"/v1/keys/{k}/tags", "Marker", "NextMarker", "Tags"),
    "ListKeyPolicies": (lambda k: f"/v1/keys/{k}/policies", "Marker", "NextMarker", "PolicyNames"),
    "ListGrants": (lambda k: f"/v1/keys/{k}/grants", "Marker", "NextMarker", "Grants"),
    "SearchAuditEvents": (lambda k: "/v1/audit/events", "cursor", "nextCursor", "events"),
}
AWS_LISTS: dict[str, tuple[bool, str]] = {
    "ListKeys": (False, "Keys"),
    "ListAliases": (False, "Aliases"),
    "ListKeyRotations": (True, "Rotations"),
    "ListResourceTags": (True, "Tags"),
    "ListKeyPolicies": (True, "PolicyNames"),
    "ListGrants": (True, "Grants"),
}


def _b64(text: str, *, urlsafe: bool = True, padded: bool = True) -> str:
    raw = text.encode("utf-8", "surrogatepass")
    encoded = (base64.urlsafe_b64encode if urlsafe else base64.b64encode)(raw).decode("ascii")
    return encoded if padded else encoded.rstrip("=")


_numbers = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([2**63 - 1, 2**63, 2**64, -(2**63) - 1, 0, -1, 10**400]),
).map(str)
_floats = st.floats(allow_nan=True, allow_infinity=True).map(repr)
_payloads = st.one_of(_numbers, _floats, st.text(max_size=40), st.sampled_from(["", "1.5", "abc"]))
_raw = st.one_of(st.text(max_size=60), _numbers, _floats)
_prefixed = st.builds(
    lambda prefix, payload, urlsafe, padded: _b64(
        f"{prefix}:{payload}", urlsafe=urlsafe, padded=padded
    ),
    st.sampled_from(PREFIXES),
    _payloads,
    st.booleans(),
    st.booleans(),
)
# The lists whose marker holds a number (rotation versions, audit seqs) and
# a number that is out of range, negative, a float or not a number at all.
_numbered = st.builds(
    lambda prefix, payload, padded: _b64(f"{prefix}:{payload}", padded=padded),
    st.sampled_from(["v", "g", "audit-seq"]),
    st.one_of(_numbers, _floats, st.text(max_size=20)),
    st.booleans(),
)
_forms = st.one_of(
    _numbered,
    _prefixed,
    _raw,
    st.builds(lambda text: _b64(text), _raw),
    st.builds(lambda good, tail: good + tail, st.sampled_from([_b64("k:a"), _b64("v:1")]), _raw),
)
MARKERS = _forms.filter(lambda m: len(m) <= 4096)

# The forgeries that answered 500 before markers had one codec.
KNOWN = [
    _b64("audit-seq:9223372036854775808"),
    _b64("audit-seq:99999999999999999999"),
    _b64("v:abc"),
    _b64("v:1.5"),
    _b64("v:-1"),
    _b64("v:9223372036854775808"),
    _b64("t:\x00"),
    _b64("a:\x00"),
    _b64("k:\x00"),
    _b64("g:abc"),
    _b64("g:-1"),
    _b64("g:9223372036854775808"),
]


def _settings() -> hypothesis.settings:
    return hypothesis.settings(
        max_examples=100,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
    )


def _check(response: TestResponse, marker: str, rule: re.Pattern[str], code: str) -> None:
    assert response.status_code < 500, (marker, response.get_data(as_text=True))
    if response.status_code == 400:
        allowed = {"InvalidMarkerException"} if rule.match(marker) else {"ValidationException"}
        assert code in allowed, (marker, code)
    else:
        assert response.status_code == 200, (marker, response.get_data(as_text=True))


def _with_known(test: Any) -> Any:
    for marker in KNOWN:
        test = example(marker=marker)(test)
    return test


@_with_known
@given(marker=MARKERS)
@_settings()
def test_rest_lists_refuse_markers_they_did_not_hand_out(lists: Lists, marker: str) -> None:
    key = quote(lists.key_id, safe="")
    for operation, (path, member, _, _) in REST_LISTS.items():
        query: dict[str, Any] = {member: marker}
        if operation == "ListAliases":
            query["KeyId"] = lists.key_id
        response = lists.rest(path(key), **query)
        rule = CURSOR_RULE if member == "cursor" else MARKER_RULE
        code = response.get_json()["error"]["code"] if response.status_code == 400 else ""
        _check(response, marker, rule, code)


@_with_known
@given(marker=MARKERS)
@_settings()
def test_aws_lists_refuse_markers_they_did_not_hand_out(lists: Lists, marker: str) -> None:
    for target, (needs_key, _) in AWS_LISTS.items():
        body: dict[str, Any] = {"Marker": marker}
        if needs_key:
            body["KeyId"] = lists.key_id
        response = lists.aws(target, body)
        code = (
            response.get_json(force=True).get("__type", "") if response.status_code == 400 else ""
        )
        _check(response, marker, MARKER_RULE, code)


@pytest.mark.parametrize("marker", KNOWN)
def test_forged_markers_are_invalid_marker_errors(lists: Lists, marker: str) -> None:
    key = quote(lists.key_id, safe="")
    for operation, (path, member, _, _) in REST_LISTS.items():
        prefix = base64.urlsafe_b64decode(marker).split(b":")[0].decode()
        kind = {
            "audit-seq": "SearchAuditEvents",
            "v": "ListKeyRotations",
            "g": "ListGrants",
        }.get(prefix)
        if kind is not None and kind != operation:
            continue
        response = lists.rest(path(key), **{member: marker})
        assert response.status_code == 400, (operation, response.get_data(as_text=True))
        assert response.get_json()["error"]["code"] == "InvalidMarkerException"


def _page_rest(lists: Lists, operation: str) -> list[Any]:
    path, member, next_member, items = REST_LISTS[operation]
    seen: list[Any] = []
    query: dict[str, Any] = {"limit" if member == "cursor" else "Limit": 1}
    if operation == "ListKeyRotations":
        query["IncludeKeyMaterial"] = "ALL_KEY_MATERIAL"
    for _ in range(100):
        response = lists.rest(path(quote(lists.key_id, safe="")), **query)
        assert response.status_code == 200, response.get_data(as_text=True)
        page = response.get_json()
        seen += page[items]
        if next_member not in page:
            return seen
        query[member] = page[next_member]
    raise AssertionError(f"{operation} did not end")


def _page_aws(lists: Lists, target: str) -> list[Any]:
    needs_key, items = AWS_LISTS[target]
    body: dict[str, Any] = {"Limit": 1, **({"KeyId": lists.key_id} if needs_key else {})}
    if target == "ListKeyRotations":
        body["IncludeKeyMaterial"] = "ALL_KEY_MATERIAL"
    seen: list[Any] = []
    for _ in range(100):
        response = lists.aws(target, body)
        assert response.status_code == 200, response.get_data(as_text=True)
        page = response.get_json(force=True)
        seen += page[items]
        assert page["Truncated"] == ("NextMarker" in page)
        if not page["Truncated"]:
            return seen
        body["Marker"] = page["NextMarker"]
    raise AssertionError(f"{target} did not end")


EXPECTED = {
    "ListKeys": 3,
    "ListAliases": 3,
    "ListKeyRotations": 4,
    "ListResourceTags": 3,
    "ListKeyPolicies": 1,
    "ListGrants": 3,
}


@pytest.mark.parametrize("operation", sorted(EXPECTED))
def test_the_markers_handed_out_page_through_each_list(lists: Lists, operation: str) -> None:
    by_rest = _page_rest(lists, operation)
    by_aws = _page_aws(lists, operation)
    assert by_rest == by_aws
    assert len(by_rest) == EXPECTED[operation]
    assert len({json.dumps(item, sort_keys=True) for item in by_rest}) == len(by_rest)


def test_the_audit_cursor_pages_through_the_log(lists: Lists) -> None:
    events = _page_rest(lists, "SearchAuditEvents")
    seqs = [event["seq"] for event in events]
    assert seqs == sorted(seqs, reverse=True) and len(set(seqs)) == len(seqs) >= 10
