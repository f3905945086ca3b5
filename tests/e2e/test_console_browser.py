"""The console in a real browser: Debian's Chromium driven by Playwright
against a real ``trent serve``.

Sign in with a pasted token, find a denied Encrypt by its key's alias, open
it, export it; a reviewer without ``trent:ReadAuditLog`` sees a refusal.
Every page is photographed on the way (``docs/console.md`` shows them): into
``$TRENT_CONSOLE_SCREENSHOTS`` when set, else the test's temporary directory.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Server, serving

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not os.access(CHROMIUM, os.X_OK) or shutil.which(CHROMIUM) is None:
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium; .ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def console_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    import subprocess

    from tests.e2e.conftest import TRENT, clean_env

    data_dir = tmp_path_factory.mktemp("console") / "var"
    env = clean_env(TRENT_DATA_DIR=str(data_dir), TRENT_SCHEDULER_INTERVAL="0")
    subprocess.run([TRENT, "init"], env=env, check=True, capture_output=True)
    with serving(env, data_dir, workers=1) as running:
        yield running


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    target = Path(os.environ.get("TRENT_CONSOLE_SCREENSHOTS") or tmp_path)
    target.mkdir(parents=True, exist_ok=True)
    return target


def _sign_in(page: Any, server: Server, token: str) -> None:
    page.goto(server.url + "/console")
    page.fill("#token", token)
    page.click("#sign-in button[type=submit]")


def test_find_a_denied_encrypt_by_alias_open_it_and_export_it(
    browser: Any, console_server: Server, shots: Path
) -> None:
    server = console_server
    root = server.token("--root")
    created = server.rest("POST", "/v1/keys", root, {"Description": "payments"})
    assert isinstance(created, dict)
    key_id = created["KeyMetadata"]["KeyId"]
    server.rest("POST", "/v1/aliases", root, {"AliasName": "alias/payments", "TargetKeyId": key_id})
    server.rest("POST", f"/v1/keys/{key_id}/encrypt", root, {"Plaintext": "aGVsbG8="})
    mallory = server.token("--user", "mallory")
    try:
        server.rest("POST", f"/v1/keys/{key_id}/encrypt", mallory, {"Plaintext": "aGVsbG8="})
    except Exception as exc:  # noqa: BLE001 - urllib raises HTTPError for the 403
        assert getattr(exc, "code", None) == 403
    else:
        raise AssertionError("mallory's Encrypt was allowed")

    context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(server.url + "/console")
    page.screenshot(path=str(shots / "sign-in.png"))
    _sign_in(page, server, root)
    page.wait_for_url("**/console/audit")
    assert "arn:aws:iam::111122223333:root" in page.inner_text("#principal")
    cookies = {c["name"]: c for c in context.cookies()}
    assert cookies["trent_console"]["httpOnly"] and cookies["trent_console"]["sameSite"] == "Strict"

    page.fill("input[name=key]", "alias/payments")
    page.fill("input[name=operation]", "Encrypt")
    page.select_option("select[name=outcome]", "denied")
    page.click("#search")
    page.wait_for_url("**outcome=denied**")
    rows = page.locator("#events tbody tr")
    assert rows.count() == 1
    assert "mallory" in rows.first.inner_text()
    assert page.locator("#chart rect.bar-denied").count() >= 1
    page.screenshot(path=str(shots / "audit-explorer.png"), full_page=True)

    rows.first.locator("a").click()
    page.wait_for_url("**/console/audit/events/**")
    detail = page.inner_text("#event")
    assert "AccessDeniedException" in detail and "Encrypt" in detail
    assert page.inner_text("#chain").count("Sequence") == 1
    page.screenshot(path=str(shots / "audit-event.png"), full_page=True)

    page.go_back()
    with page.expect_download() as download_info:
        page.click("#export-jsonl")
    exported = Path(download_info.value.path()).read_text().splitlines()
    assert len(exported) == 1
    record = json.loads(exported[0])
    assert record["eventName"] == "Encrypt" and record["errorCode"] == "AccessDeniedException"
    assert record["userIdentity"]["arn"].endswith(":user/mallory")
    with page.expect_download() as csv_info:
        page.click("#export-csv")
    assert "mallory" in Path(csv_info.value.path()).read_text()

    page.click("#verify")
    assert "The chain verifies." in page.inner_text("#verification")
    page.screenshot(path=str(shots / "audit-verify.png"), full_page=True)

    page.click("text=Keys")
    page.wait_for_url("**/console/keys")
    assert "alias/payments" in page.inner_text("#keys")
    page.screenshot(path=str(shots / "keys.png"), full_page=True)

    page.click("#sign-out")
    page.wait_for_url("**/console")
    assert not [c for c in context.cookies() if c["name"] == "trent_console"]
    page.goto(server.url + "/console/audit")
    assert page.locator("#sign-in").count() == 1
    # No page ran anything the Content-Security-Policy refused.
    assert not [e for e in errors if "Content Security Policy" in e], errors
    context.close()


def test_a_reviewer_without_rights_sees_a_refusal(
    browser: Any, console_server: Server, shots: Path
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 600})
    page = context.new_page()
    _sign_in(page, console_server, console_server.token("--user", "bob"))
    page.wait_for_url("**/console/audit")
    assert "trent:ReadAuditLog" in page.inner_text("main")
    assert page.locator("#events").count() == 0
    refusal = page.inner_text("#refusal")
    assert "not authorized" in refusal or "trent:ReadAuditLog" in refusal
    page.screenshot(path=str(shots / "refusal.png"), full_page=True)
    context.close()


def test_the_token_is_never_in_a_page(browser: Any, console_server: Server) -> None:
    token = console_server.token("--root")
    context = browser.new_context()
    page = context.new_page()
    _sign_in(page, console_server, token)
    page.wait_for_url("**/console/audit")
    signature = token.rsplit(".", 1)[1]
    for path in ("/console/audit", "/console/keys"):
        page.goto(console_server.url + path)
        assert signature not in page.content()
    context.close()


def test_edit_a_policy_until_lint_is_clean_and_the_simulation_allows(
    browser: Any, console_server: Server, shots: Path
) -> None:
    server = console_server
    root = server.token("--root")
    created = server.rest("POST", "/v1/keys", root, {"Description": "orders"})
    assert isinstance(created, dict)
    key_id = created["KeyMetadata"]["KeyId"]
    alice = "arn:aws:iam::111122223333:user/alice"
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    _sign_in(page, server, root)
    page.wait_for_url("**/console/audit")
    page.goto(f"{server.url}/console/playground?key={key_id}")
    statement = json.dumps(
        {
            "Sid": "AliceEncrypts",
            "Effect": "Allow",
            "Principal": {"AWS": alice},
            "Action": "kms:Encrypt",
            "Resource": "*",
        }
    )
    current = json.loads(page.input_value("#policy"))
    # First attempt: a statement without its closing brace.
    draft = json.dumps(current, indent=2)[:-4] + ",\n    " + statement[:-1] + "\n  ]\n}"
    page.fill("#policy", draft)
    page.fill("input[name=principal]", alice)
    page.fill("input[name=actions]", "kms:Encrypt")
    page.click("#do-lint")
    page.wait_for_selector("#lint .findings")
    assert "line" in page.inner_text("#lint .findings")
    page.screenshot(path=str(shots / "playground-lint.png"), full_page=True)
    # Fixed: lint is clean and the simulation allows alice's Encrypt.
    current["Statement"].append(json.loads(statement))
    page.fill("#policy", json.dumps(current, indent=2))
    page.click("#do-lint")
    page.wait_for_selector("#lint-clean")
    page.click("#do-simulate")
    page.wait_for_selector("#simulation")
    decision = page.inner_text("#simulation tbody tr")
    assert "allowed" in decision and "AliceEncrypts" in decision
    page.screenshot(path=str(shots / "playground-simulate.png"), full_page=True)
    page.click("#do-diff")
    page.wait_for_selector("#diff")
    assert "AliceEncrypts" in page.inner_text("#diff")
    page.screenshot(path=str(shots / "playground-diff.png"), full_page=True)
    page.click("#apply button")
    page.wait_for_selector("#applied")
    page.goto(f"{server.url}/console/keys/{key_id}")
    assert alice in page.inner_text("#access")
    page.screenshot(path=str(shots / "key-access.png"), full_page=True)
    context.close()


def test_a_one_time_sign_in_link_from_trent_console_login(
    browser: Any, console_server: Server
) -> None:
    import subprocess

    from tests.e2e.conftest import ACCOUNT, TRENT

    link = subprocess.run(
        [
            TRENT,
            "console",
            "login",
            "--account",
            ACCOUNT,
            "--user",
            "dana",
            "--url",
            console_server.url,
        ],
        env=console_server.env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert link.startswith(console_server.url + "/console#login=")
    context = browser.new_context()
    page = context.new_page()
    page.goto(link)
    page.wait_for_url("**/console/audit")
    assert page.inner_text("#principal").endswith(":user/dana")
    assert "#login=" not in page.url
    page.click("#sign-out")
    page.wait_for_url("**/console")
    # The same link does not sign in twice.
    page.goto(link)
    page.wait_for_selector("#refusal")
    assert "has been used" in page.inner_text("#refusal")
    assert not [c for c in context.cookies() if c["name"] == "trent_console"]
    context.close()
