"""The table of ``TRENT_*`` variables is the only source of both what
``load_settings`` parses and which names it knows: it must match the fields
of ``Settings`` exactly, so that a field cannot be added without deciding
which variable sets it, nor a row name a field that does not exist."""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from pathlib import Path

import pytest

from app.config import (
    FIXED_FIELDS,
    KNOWN_VARIABLES,
    OTHER_VARIABLES,
    VARIABLES,
    ConfigError,
    Settings,
    client_endpoint,
    load_settings,
    variables,
)

ROOT = Path(__file__).resolve().parents[2]
SETTINGS_FIELDS = {f.name for f in dataclasses.fields(Settings)}


def test_every_row_names_a_real_settings_field() -> None:
    unknown = sorted({v.field for v in VARIABLES} - SETTINGS_FIELDS)
    assert unknown == []


def test_every_settings_field_is_set_by_exactly_one_variable_or_is_fixed() -> None:
    from_environment = Counter(v.field for v in VARIABLES)
    assert [f for f, n in from_environment.items() if n > 1] == []
    assert set(from_environment) & FIXED_FIELDS == set()
    assert set(from_environment) | FIXED_FIELDS == SETTINGS_FIELDS


def test_variable_names_are_unique_trent_names_and_known() -> None:
    names = [v.name for v in VARIABLES]
    assert len(names) == len(set(names))
    assert all(re.fullmatch(r"TRENT_[A-Z0-9_]+", n) for n in names)
    assert set(names) & set(OTHER_VARIABLES) == set()
    assert set(names) | set(OTHER_VARIABLES) == KNOWN_VARIABLES


def test_every_row_is_parsed_into_its_field(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each row's text reaches its parser under its own name, and the parsed
    value lands in its field (the loop drops no row)."""
    seen: list[str] = []

    def recording(variable: variables.Variable) -> variables.Variable:
        def parse(name: str, raw: str) -> object:
            seen.append(name)
            return variable.parse(name, raw)

        return dataclasses.replace(variable, parse=parse)

    monkeypatch.setattr(variables, "VARIABLES", tuple(recording(v) for v in VARIABLES))
    env = {
        "TRENT_ROOT_KEY_PROVIDER": "env",
        "TRENT_ROOT_KEY": "c2VjcmV0",
        "TRENT_JWT_AUDIENCE": "someone-else",
    }
    settings = load_settings(env)
    # Unset variables are parsed only when they have a default.
    assert seen == [v.name for v in VARIABLES if v.name in env or v.default is not None]
    assert settings.jwt_audience == "someone-else"
    assert settings.root_key_provider == "env"


def test_an_unknown_trent_variable_stops_start_up() -> None:
    with pytest.raises(ConfigError, match="TRENT_NOT_A_SETTING is not a Trent setting"):
        load_settings({"TRENT_NOT_A_SETTING": "1"})


def test_a_retired_variable_stops_start_up_saying_why() -> None:
    with pytest.raises(ConfigError, match="TRENT_FAST_LANE is no longer a setting .*one request"):
        load_settings({"TRENT_FAST_LANE": "false"})


def test_variables_read_elsewhere_are_read_there() -> None:
    assert client_endpoint({"TRENT_URL": "http://kms:1", "TRENT_TOKEN": "t"}) == (
        "http://kms:1",
        "t",
    )
    assert "TRENT_TEST_POSTGRES_URL" in (ROOT / "tests" / "conftest.py").read_text()


def test_every_variable_is_documented_for_operators() -> None:
    text = (ROOT / "docs" / "operators.md").read_text(encoding="utf-8")
    assert [v.name for v in VARIABLES if v.name not in text] == []
    # A name preceded by a word character is not Trent's (click's _TRENT_COMPLETE).
    named = set(re.findall(r"(?<!\w)TRENT_[A-Z0-9_]+", text))
    assert sorted(named - KNOWN_VARIABLES) == []
