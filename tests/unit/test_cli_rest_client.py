"""The client commands' paging and URL building, on a fake server answer."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import click
import pytest

from app.cli import rest_client


def test_pages_follows_next_marker_until_the_list_is_complete(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    answers = {
        None: {"Tags": [1, 2], "Truncated": True, "NextMarker": "m1"},
        "m1": {"Tags": [3], "Truncated": True, "NextMarker": "m 2/+"},
        "m 2/+": {"Tags": [4], "Truncated": False},
    }
    asked: list[str] = []

    def fake(method: str, path: str, body: Any = None) -> dict[str, Any]:
        assert method == "GET" and body is None
        asked.append(path)
        query = parse_qs(urlsplit(path).query)
        assert query["KeyId"] == ["k"]
        return answers[query["Marker"][0] if "Marker" in query else None]

    monkeypatch.setattr(rest_client, "request", fake)
    assert list(rest_client.pages("/v1/x", "Tags", {"KeyId": "k", "Absent": None})) == [1, 2, 3, 4]
    assert len(asked) == 3 and all("Absent" not in path for path in asked)


def test_pages_stops_on_a_truncated_page_without_a_marker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rest_client, "request", lambda *_: {"Keys": ["a"], "Truncated": True})
    assert list(rest_client.pages("/v1/keys", "Keys")) == ["a"]


def test_pages_refuses_an_answer_without_the_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rest_client, "request", lambda *_: {"Keys": "not a list"})
    with pytest.raises(click.ClickException, match="no Keys list"):
        list(rest_client.pages("/v1/keys", "Keys"))


def test_key_ids_and_query_lists_are_encoded_whole() -> None:
    arn = "arn:aws:kms:us-east-1:111122223333:alias/a/b"
    assert rest_client.key_path(arn, "/tags") == (
        "/v1/keys/arn%3Aaws%3Akms%3Aus-east-1%3A111122223333%3Aalias%2Fa%2Fb/tags"
    )
    assert rest_client.with_query("/p", {"TagKeys": ["a", "b&c"], "X": None}) == (
        "/p?TagKeys=a&TagKeys=b%26c"
    )
    assert rest_client.with_query("/p", {"X": None}) == "/p"
