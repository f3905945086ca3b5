"""``trent audit search|export`` filters: keys by alias, operations in any case, ISO 8601 times.

The events are written by a real application on the same data directory
(keys, aliases and encryptions through the REST door), then read back by
the command, which sees every account.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from click.testing import CliRunner, Result
from flask.testing import FlaskClient

from app.cli.audit import audit
from app.config import Settings
from tests.api.kms import Kms
from tests.conftest import ACCOUNT, OTHER_ACCOUNT, TokenFactory


@dataclass(frozen=True)
class Written:
    env: dict[str, str]
    ours: str
    ours_arn: str
    theirs: str


def _key_with_aliases(kms: Kms, *aliases: str) -> str:
    key = kms.new_key(Description="cli filters")
    for name in aliases:
        response = kms.post("/v1/aliases", {"AliasName": name, "TargetKeyId": key})
        assert response.status_code in (200, 201), response.get_data(as_text=True)
    assert kms.encrypt(key, b"hello").status_code == 200
    return key


@pytest.fixture
def written(settings: Settings, client: FlaskClient, token: TokenFactory) -> Written:
    root = Kms(client, token(root=True))
    other = Kms(client, token(account=OTHER_ACCOUNT, root=True))
    ours = _key_with_aliases(root, "alias/payments", "alias/solo")
    theirs = _key_with_aliases(other, "alias/payments")
    arn = root.describe(ours).get_json()["KeyMetadata"]["Arn"]
    return Written({"TRENT_DATA_DIR": str(settings.data_dir)}, ours, arn, theirs)


def run(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(audit, list(args), env=env, catch_exceptions=False)


def _events(env: dict[str, str], *args: str) -> list[dict[str, object]]:
    result = run(env, "search", "--limit", "1000", *args)
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_key_filter_takes_an_alias_name_or_arn(written: Written) -> None:
    by_id = _events(written.env, "--key", written.ours)
    assert {e["eventName"] for e in by_id} >= {"CreateKey", "CreateAlias", "Encrypt"}
    assert _events(written.env, "--key", written.ours_arn) == by_id
    assert _events(written.env, "--key", "alias/solo") == by_id
    alias_arn = written.ours_arn.replace(f"key/{written.ours}", "alias/payments")
    assert _events(written.env, "--key", alias_arn) == by_id
    assert _events(written.env, "--key", "alias/payments", "--account", ACCOUNT) == by_id
    theirs = _events(written.env, "--key", "alias/payments", "--account", OTHER_ACCOUNT)
    assert theirs and all(written.theirs in str(e["resources"]) for e in theirs)
    exported = run(written.env, "export", "--key", "alias/solo")
    assert exported.exit_code == 0, exported.output
    assert {json.loads(line)["eventID"] for line in exported.stdout.splitlines()} == {
        e["eventId"] for e in by_id
    }


def test_an_alias_in_several_accounts_asks_which(written: Written) -> None:
    result = run(written.env, "search", "--key", "alias/payments")
    assert result.exit_code == 2
    assert ACCOUNT in result.stderr and OTHER_ACCOUNT in result.stderr
    assert "--account" in result.stderr
    clash = run(
        written.env,
        "search",
        "--key",
        written.ours_arn.replace(f"key/{written.ours}", "alias/payments"),
        "--account",
        OTHER_ACCOUNT,
    )
    assert clash.exit_code == 2


def test_an_alias_that_does_not_exist_fails_instead_of_finding_nothing(written: Written) -> None:
    for command in ("search", "export"):
        result = run(written.env, command, "--key", "alias/nothing-here")
        assert result.exit_code == 1
        assert "NotFoundException" in result.stderr and "alias/nothing-here" in result.stderr
        assert result.stdout == ""
    scoped = run(written.env, "search", "--key", "alias/solo", "--account", OTHER_ACCOUNT)
    assert scoped.exit_code == 1 and "NotFoundException" in scoped.stderr
    solo = written.ours_arn.replace(f"key/{written.ours}", "alias/solo")
    elsewhere = run(written.env, "search", "--key", solo.replace("us-east-1", "eu-west-1"))
    assert elsewhere.exit_code == 1 and "NotFoundException" in elsewhere.stderr


def test_operation_in_any_case_and_unknown_ones_refused(written: Written) -> None:
    encrypts = _events(written.env, "--operation", "Encrypt")
    assert len(encrypts) == 2
    assert _events(written.env, "--operation", "encrypt") == encrypts
    for command in ("search", "export"):
        result = run(written.env, command, "--operation", "Encryptt")
        assert result.exit_code == 1
        assert "ValidationException" in result.stderr
        assert "Did you mean Encrypt" in result.stderr and "Valid operations: " in result.stderr


def test_times_are_iso_8601_in_and_out(written: Written) -> None:
    events = _events(written.env, "--operation", "Encrypt")
    written_time = str(events[0]["eventTime"])
    assert written_time.endswith("Z") and "T" in written_time
    day = written_time[:10]
    assert _events(written.env, "--operation", "Encrypt", "--since", day, "--until", day) == events
    assert _events(written.env, "--operation", "Encrypt", "--until", "2000-01-01T00:00Z") == []
    assert _events(written.env, "--operation", "Encrypt", "--since", "946684800") == events
    export = run(written.env, "export", "--operation", "Encrypt", "--since", day)
    assert sorted(json.loads(line)["eventTime"] for line in export.stdout.splitlines()) == sorted(
        str(e["eventTime"]) for e in events
    )
    bad = run(written.env, "search", "--since", "yesterday")
    assert bad.exit_code == 1 and "ISO 8601" in bad.stderr
