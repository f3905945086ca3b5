"""The console does not weaken anything: its cookie, its forms, its headers,
what its pages may contain, and who may see the audit log."""

from __future__ import annotations

import json
import re

from flask import Flask
from flask.testing import FlaskClient

from app.console import session
from tests.conftest import ACCOUNT, TokenFactory, b64, bearer, services_of, unb64
from tests.console.helpers import csrf_of, denied_encrypt, key_with_alias, sign_in


def _set_cookie(client: FlaskClient, token: str) -> str:
    answer = client.post("/console/login", data={"token": token})
    assert answer.status_code == 303
    assert answer.headers["Location"] == "/console/audit"
    return str(answer.headers["Set-Cookie"])


def test_the_session_cookie_is_httponly_strict_and_ends_with_the_token(
    client: FlaskClient, token: TokenFactory
) -> None:
    value = token(root=True)
    cookie = _set_cookie(client, value)
    attributes = [part.strip() for part in cookie.split(";")]
    assert "HttpOnly" in attributes
    assert "SameSite=Strict" in attributes
    assert "Secure" not in attributes  # plain HTTP here; see the TLS test
    expiry = session.token_expiry(value)
    assert expiry is not None
    max_age = int(next(a for a in attributes if a.startswith("Max-Age=")).split("=")[1])
    assert 0 < max_age
    assert services_of_clock_bound(client, max_age, expiry)
    # The cookie is not the token: it is sealed.
    assert value not in cookie


def services_of_clock_bound(client: FlaskClient, max_age: int, expiry: int) -> bool:
    now = services_of(client.application).now()
    return now + max_age <= expiry + 1


def test_under_tls_the_cookie_is_secure(client: FlaskClient, token: TokenFactory) -> None:
    answer = client.post(
        "/console/login", data={"token": token(root=True)}, base_url="https://localhost"
    )
    assert answer.status_code == 303
    assert "Secure" in [p.strip() for p in answer.headers["Set-Cookie"].split(";")]


def test_every_page_has_a_strict_csp_and_no_inline_script(
    client: FlaskClient, token: TokenFactory
) -> None:
    sign_in(client, token(root=True))
    for path in ("/console", "/console/audit", "/console/keys", "/console/audit/verify"):
        answer = client.get(path)
        assert answer.status_code == 200, path
        csp = answer.headers["Content-Security-Policy"]
        assert "default-src 'none'" in csp and "script-src 'self'" in csp
        assert "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
        page = answer.data.decode()
        # Every script is a file of this console; no inline handler or style.
        assert re.findall(r"<script[^>]*>", page) == [
            '<script src="/console/static/console.js" defer>'
        ]
        assert not re.search(r"\son[a-z]+=|style=", page), path


def test_a_cross_site_form_post_is_refused_and_changes_nothing(
    client: FlaskClient, token: TokenFactory
) -> None:
    sign_in(client, token(root=True))
    page = client.get("/console/audit").data
    csrf = csrf_of(page)
    # Another site's page: it cannot know the CSRF token...
    refused = client.post("/console/logout", data={"csrf": "0" * 64})
    assert refused.status_code == 403
    # ...and even with it, the browser names the other site.
    foreign = client.post(
        "/console/logout",
        data={"csrf": csrf},
        headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
    )
    assert foreign.status_code == 403
    assert b"Forms from other sites are refused." in foreign.data
    # Still signed in: nothing changed.
    assert client.get("/console/audit").status_code == 200
    # From the console itself it works.
    out = client.post(
        "/console/logout", data={"csrf": csrf}, headers={"Origin": "http://localhost"}
    )
    assert out.status_code == 303
    assert "Max-Age=0" in out.headers["Set-Cookie"]


def test_a_cross_site_sign_in_is_refused(client: FlaskClient, token: TokenFactory) -> None:
    answer = client.post(
        "/console/login",
        data={"token": token(root=True)},
        headers={"Sec-Fetch-Site": "cross-site"},
    )
    assert answer.status_code == 403
    assert "Set-Cookie" not in answer.headers


def test_a_forged_or_tampered_cookie_is_not_a_session(
    client: FlaskClient, token: TokenFactory
) -> None:
    client.set_cookie(session.COOKIE, "not-a-session", path="/console")
    assert client.get("/console/audit").status_code == 401
    cookie = _set_cookie(client, token(root=True)).split(";")[0].split("=", 1)[1]
    flipped = cookie[:-2] + ("A" if cookie[-2] != "A" else "B") + cookie[-1]
    client.set_cookie(session.COOKIE, flipped, path="/console")
    answer = client.get("/console/audit")
    assert answer.status_code == 401
    assert b'id="sign-in"' in answer.data
    # A bad token signs nobody in.
    assert client.post("/console/login", data={"token": "a.b.c"}).status_code == 401


def test_a_reviewer_without_read_audit_log_sees_a_refusal_and_no_events(
    client: FlaskClient, token: TokenFactory
) -> None:
    root = token(root=True)
    key_id = key_with_alias(client, root, "alias/payments")
    denied_encrypt(client, token(user="mallory"), key_id)
    sign_in(client, token(user="bob"))
    for path in ("/console/audit", "/console/audit/export?format=csv", "/console/audit/verify"):
        answer = client.get(path)
        assert answer.status_code == 403, path
        assert b"trent:ReadAuditLog" in answer.data
        assert b"mallory" not in answer.data and key_id.encode() not in answer.data


def test_pages_never_carry_plaintext_data_keys_tokens_or_key_material(
    app: Flask, client: FlaskClient, token: TokenFactory
) -> None:
    root = token(root=True)
    key_id = key_with_alias(client, root, "alias/payments")
    secret = b"card 4111 1111 1111 1111"
    encrypted = client.post(
        f"/v1/keys/{key_id}/encrypt", json={"Plaintext": b64(secret)}, headers=bearer(root)
    ).get_json()
    data_key = client.post(
        f"/v1/keys/{key_id}/data-key",
        json={"KeySpec": "AES_256"},
        headers=bearer(root),
    ).get_json()
    sign_in(client, root)
    pages = [client.get(p).data for p in ("/console/audit", "/console/keys")]
    event_ids = re.findall(rb"/console/audit/events/([0-9a-f-]+)", pages[0])
    assert event_ids
    pages += [client.get("/console/audit/events/" + e.decode()).data for e in event_ids]
    pages += [client.get("/console/audit/export?format=jsonl").data]
    pages += [client.get("/console/audit/export?format=csv").data]
    forbidden = [
        secret,
        b64(secret).encode(),
        root.encode(),
        data_key["Plaintext"].encode(),
        unb64(data_key["Plaintext"]),
        encrypted["CiphertextBlob"].encode(),
    ]
    services = services_of(app)
    with services.connection():
        sealed = services.keys.sealed_version(key_id, 1)
    assert sealed is not None
    forbidden += [sealed.blob.hex()[-48:].encode(), b64(sealed.blob)[-32:].encode()]
    for page in pages:
        for value in forbidden:
            assert value not in page


def test_each_page_is_audited_as_the_signed_in_principal(
    client: FlaskClient, token: TokenFactory
) -> None:
    root = token(root=True)
    sign_in(client, root)
    client.get("/console/keys")
    found = client.get(
        "/v1/audit/events?operation=ConsoleListKeys", headers=bearer(root)
    ).get_json()["events"]
    assert len(found) == 1
    assert found[0]["principal"]["arn"] == f"arn:aws:iam::{ACCOUNT}:root"
    assert found[0]["door"] == "console"
    signed_in = client.get(
        "/v1/audit/events?operation=ConsoleSignIn", headers=bearer(root)
    ).get_json()["events"]
    assert len(signed_in) == 1
    # The pasted token is not in the event.
    assert root not in json.dumps(signed_in)


def test_a_sign_in_link_signs_in_once_and_a_pasted_token_as_often_as_wanted(
    client: FlaskClient, token: TokenFactory
) -> None:
    value = token(user="dana")
    first = client.post("/console/login", data={"token": value, "link": "1"})
    assert first.status_code == 303
    again = client.post("/console/login", data={"token": value, "link": "1"})
    assert again.status_code == 403
    assert b"has been used" in again.data
    assert "Set-Cookie" not in again.headers
    other = token(user="erin")
    for _ in range(2):
        assert client.post("/console/login", data={"token": other}).status_code == 303


def test_an_unknown_form_field_is_refused_and_never_recorded(
    client: FlaskClient, token: TokenFactory
) -> None:
    root = token(root=True)
    sign_in(client, root)
    csrf = csrf_of(client.get("/console/playground").data)
    pasted = token(user="pasted")
    answer = client.post("/console/playground", data={"csrf": csrf, "token": pasted})
    assert answer.status_code == 400
    assert b"Unknown field &#39;token&#39;" in answer.data
    assert client.get(f"/console/audit?nonsense={pasted}").status_code == 400
    events = client.get("/v1/audit/export", headers=bearer(root)).data.decode()
    assert "ConsolePlaygroundRun" in events
    assert pasted not in events and csrf not in events
