"""The operation names an audit filter accepts: every name the log can hold, in any case."""

from __future__ import annotations

import pytest

from app.api.openapi import ROUTES
from app.audit.event_names import EVENT_NAMES, canonical_event_name
from app.awsapi.targets import TARGETS, UNSUPPORTED
from app.errors import ValidationError

#: Routes that are neither authenticated nor audited.
PROBES = {"Health", "Ready", "Metrics", "OpenApi"}


def test_every_audited_route_of_both_doors_is_a_known_name() -> None:
    names = {route.name for route in ROUTES} - PROBES
    assert names <= set(EVENT_NAMES)
    assert set(TARGETS) <= set(EVENT_NAMES)
    assert set(UNSUPPORTED) <= set(EVENT_NAMES)
    assert {"RotateKey", "DeleteKey", "UnknownOperation", "UnknownRoute"} <= set(EVENT_NAMES)


def test_no_two_names_differ_only_in_case() -> None:
    assert len({name.lower() for name in EVENT_NAMES}) == len(EVENT_NAMES)
    assert list(EVENT_NAMES) == sorted(EVENT_NAMES)


@pytest.mark.parametrize(
    ("given", "canonical"),
    [("Decrypt", "Decrypt"), ("decrypt", "Decrypt"), ("GENERATEDATAKEY", "GenerateDataKey")],
)
def test_any_case_becomes_the_logs_spelling(given: str, canonical: str) -> None:
    assert canonical_event_name(given) == canonical


def test_an_unknown_name_lists_the_valid_ones_nearest_first() -> None:
    with pytest.raises(ValidationError) as raised:
        canonical_event_name("Decryptt")
    message = raised.value.message
    assert "Did you mean Decrypt" in message
    assert "Valid operations: " in message and "GenerateDataKey" in message
    assert raised.value.field == "operation"


def test_a_name_with_no_near_match_still_lists_the_valid_ones() -> None:
    with pytest.raises(ValidationError, match="Valid operations: .*WhoAmI") as raised:
        canonical_event_name("Bogus")
    assert "Did you mean" not in raised.value.message


def test_every_audited_console_page_is_a_known_name() -> None:
    from app.console.routes import ROUTES as CONSOLE_ROUTES

    audited = {route.name for route in CONSOLE_ROUTES if route.probe is None}
    assert audited <= set(EVENT_NAMES)
    assert {"ConsoleSignIn", "ConsoleSignOut"} <= set(EVENT_NAMES)
