"""Two applications in one process keep their databases apart.

Each ``create_app`` opens a :class:`~app.store.database.Store` of its own;
nothing module-global says which database a query reaches. A key created
through one app is not listed, described or usable through the other, also
when both serve requests from two threads at the same moment, and a query
run outside every store's connection reaches no database at all.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from flask import Flask

from app import create_app
from app.audit.repository import EventFilter
from app.audit.verify import verify
from app.auth.local_issuer import LocalIssuer
from app.store.base import NoStoreInUse
from app.store.models import KeyRow
from tests.api.kms import Kms
from tests.conftest import ACCOUNT, init_data_dir, services_of


def _app(data_dir: Path) -> tuple[Flask, str, Kms]:
    """An app on a data directory of its own, a root token of its issuer, a client."""
    settings = init_data_dir(data_dir)
    app = create_app(settings)
    token = LocalIssuer.load(settings).mint(ACCOUNT, root=True)
    return app, token, Kms(app.test_client(), token)


def _listed(kms: Kms) -> set[str]:
    response = kms.get("/v1/keys", Limit=1000)
    assert response.status_code == 200
    assert response.get_json()["Truncated"] is False
    return {k["KeyId"] for k in response.get_json()["Keys"]}


def test_a_key_created_in_one_app_is_not_in_the_other(tmp_path: Path) -> None:
    app_a, _, kms_a = _app(tmp_path / "a")
    app_b, _, kms_b = _app(tmp_path / "b")
    key_id = kms_a.new_key()
    assert _listed(kms_a) == {key_id}
    assert _listed(kms_b) == set()
    assert kms_b.describe(key_id).status_code == 404
    assert kms_b.encrypt(key_id, b"x").status_code == 404
    blob = kms_a.ciphertext(key_id, b"only in a")
    refused = kms_b.decrypt(blob)
    assert refused.status_code == 403
    assert refused.get_json()["error"]["code"] == "AccessDeniedException"
    assert kms_a.decrypt(blob).status_code == 200
    for app, count in ((app_a, 1), (app_b, 0)):
        services = services_of(app)
        with services.connection():
            assert services.keys.count_keys(ACCOUNT) == count


def test_two_apps_serving_at_once_from_two_threads_stay_apart(tmp_path: Path) -> None:
    app_a, token_a, kms_a = _app(tmp_path / "a")
    app_b, token_b, kms_b = _app(tmp_path / "b")
    per_thread = 15
    created: dict[str, list[str]] = {"a": [], "b": []}
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def serve(name: str, app: Flask, token: str) -> None:
        # A client of its own per thread, on the app the other thread is not using.
        kms = Kms(app.test_client(), token)
        try:
            start.wait()
            for n in range(per_thread):
                key_id = kms.new_key()
                created[name].append(key_id)
                assert kms.decrypt(kms.ciphertext(key_id, b"%d" % n)).status_code == 200
                assert _listed(kms) == set(created[name])
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    threads = [
        threading.Thread(target=serve, args=("a", app_a, token_a)),
        threading.Thread(target=serve, args=("b", app_b, token_b)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    assert _listed(kms_a) == set(created["a"]) and len(created["a"]) == per_thread
    assert _listed(kms_b) == set(created["b"]) and len(created["b"]) == per_thread
    assert not set(created["a"]) & set(created["b"])
    # Each audit chain holds its own app's requests only, and verifies.
    for app, own, other in (
        (app_a, created["a"], created["b"]),
        (app_b, created["b"], created["a"]),
    ):
        services = services_of(app)
        with services.connection():
            report = verify(services.audit)
            assert report.ok, report.findings
            records = services.audit.repository
            for key_id, expected in ((own[0], True), (other[0], False)):
                found = records.find_events(EventFilter(key_id=key_id), newest_first=True, limit=1)
                assert bool(found) is expected


def test_a_query_outside_every_stores_connection_reaches_no_database(tmp_path: Path) -> None:
    app, _, kms = _app(tmp_path / "a")
    kms.new_key()
    with pytest.raises(NoStoreInUse):
        KeyRow.select().count()
    services = services_of(app)
    with services.connection():
        assert KeyRow.select().count() == 1
    # In another thread, the connection held here is not in use either.
    outcome: list[BaseException | int] = []

    def elsewhere() -> None:
        try:
            outcome.append(KeyRow.select().count())
        except NoStoreInUse as exc:
            outcome.append(exc)

    with services.connection():
        thread = threading.Thread(target=elsewhere)
        thread.start()
        thread.join(30)
    assert len(outcome) == 1 and isinstance(outcome[0], NoStoreInUse)
