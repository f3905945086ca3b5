"""``/openapi.json`` against the server, with schemathesis, in-process over WSGI.

Every operation is called with requests generated from the document, valid
ones and invalid ones, as the account root (whom the default key policy of
every key it creates allows everything). Each answer must not be a server
error, must have a status the document lists for the operation and a body
that matches the document's schema for that status; and a request the
document says is valid must not be refused by the schema layer (the
document says what the server enforces, no less). A stateful run then
follows the document's links, so that keys and aliases created by one call
are used by the next.

Bounded and reproducible: a fixed number of examples per operation, derandomized.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any
from urllib.parse import quote

import hypothesis
import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app import create_app
from app.api import openapi
from app.auth.local_issuer import LocalIssuer
from tests.api.kms import Kms
from tests.conftest import ACCOUNT, TokenFactory, init_data_dir

pytestmark = pytest.mark.slow

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    response_schema_conformance,
    content_type_conformance,
    response_headers_conformance,
]
EXAMPLES_PER_OPERATION = 10
SLASHED_PATH_PARAMETERS = {"AliasName": "alias/openapi-test"}


def _operation_ids() -> list[str]:
    # Every route module registers its routes when imported.
    from app.api import access_keys, audit, health, identity, keys, policy  # noqa: F401

    return sorted({route.name for route in openapi.ROUTES})


def _settings(examples: int) -> hypothesis.settings:
    return hypothesis.settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
    )


def _schema(app: Flask) -> Any:
    return schemathesis.openapi.from_wsgi("/openapi.json", app)


# The refusals of the request's shape (its members one by one, its path,
# query and body), which the document describes. Rules between members or
# about what exists (KeyUsage against KeySpec, exactly one of Policy and
# KeyId, an alias name's prefix) are the operations' own, in their summaries.
EDGE_REFUSALS = (
    "1 validation error detected",
    "Unknown query parameter",
    "is given more than once",
    "is given in the path",
    "The request body",
    "The query parameter",
)


def _refused_by_the_schema_layer(response: Any) -> str | None:
    """The error message when the server refused the shape of a request."""
    if response.status_code != 400:
        return None
    error = response.json().get("error", {})
    message = str(error.get("message"))
    if error.get("code") != "ValidationException":
        return None
    return message if any(part in message for part in EDGE_REFUSALS) else None


def _integers_without_fractions(case: Any) -> None:
    """An integer written with a fraction (634.0) is an integer to JSON Schema;
    the server takes integers only as written without one, and the document
    says so in words (info.description): see the last test of this file."""
    body = case.body if isinstance(case.body, dict) else None
    if body is None:
        return
    for name, value in body.items():
        if isinstance(value, float) and value.is_integer():
            body[name] = int(value)


def _check(case: Any, headers: dict[str, str]) -> None:
    _integers_without_fractions(case)
    response = case.call(headers=headers)
    case.validate_response(response, checks=CHECKS, headers=headers)
    if case.meta is not None and case.meta.generation.mode is GenerationMode.POSITIVE:
        refused = _refused_by_the_schema_layer(response)
        assert refused is None, (
            f"{case.method} {case.formatted_path} query={case.query!r} body={case.body!r}: "
            f"valid by the document, refused by the server: {refused}"
        )


@pytest.mark.parametrize("operation_id", _operation_ids())
def test_every_operation_answers_as_documented(
    app: Flask, token: TokenFactory, operation_id: str
) -> None:
    schema = _schema(app)
    operation = schema.find_operation_by_id(operation_id)
    headers = {"Authorization": f"Bearer {token(root=True)}"}
    has_input = bool(operation.body or list(operation.iter_parameters()))
    modes = [GenerationMode.POSITIVE] + ([GenerationMode.NEGATIVE] if has_input else [])
    for mode in modes:
        # schemathesis never generates a path parameter containing "/" (it
        # would change the route for most servers); an alias name always has
        # one, so valid requests get a fixed, URL-encoded one.
        fixed = {
            name: value
            for name, value in SLASHED_PATH_PARAMETERS.items()
            if mode is GenerationMode.POSITIVE
            and any(p.name == name for p in operation.iter_parameters())
        }

        @given(case=operation.as_strategy(generation_mode=mode, path_parameters=fixed or None))
        @_settings(EXAMPLES_PER_OPERATION)
        def run(case: Any) -> None:
            _check(case, headers)

        run()


def test_linked_calls_answer_as_documented(app: Flask, tmp_path: Path) -> None:
    """Create keys and aliases, then use them: the document's links drive it.

    Each scenario runs against a service of its own, so that what one
    scenario created cannot change what the next one generates."""
    config = schemathesis.Config.from_dict(
        {
            "generation": {"mode": "positive"},
            "phases": {"stateful": {"inference": {"algorithms": []}}},
        }
    )
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app, config=config)
    base = schema.as_state_machine()
    created: set[str] = set()
    aliases: set[str] = set()
    reused: set[tuple[str, int]] = set()
    services = itertools.count()

    class Machine(base):  # type: ignore[valid-type, misc]
        def setup(self) -> None:
            settings = init_data_dir(tmp_path / f"scenario-{next(services)}")
            self.app = create_app(settings)
            token = LocalIssuer.load(settings).mint(ACCOUNT, root=True)
            self.headers = {"Authorization": f"Bearer {token}"}

        def before_call(self, case: Any) -> None:
            _integers_without_fractions(case)

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"headers": self.headers, "app": self.app}

        def after_call(self, response: Any, case: Any) -> None:
            operation = case.operation.definition.raw["operationId"]
            path = case.path_parameters or {}
            if path.get("KeyId") in created or path.get("AliasName") in aliases:
                reused.add((operation, response.status_code))
            if response.status_code != 200:
                return
            if operation == "CreateKey":
                created.add(response.json()["KeyMetadata"]["KeyId"])
            if operation == "CreateAlias" and case.body["TargetKeyId"] in created:
                aliases.add(case.body["AliasName"])

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            case.validate_response(response, checks=CHECKS, headers=self.headers)

    Machine.run(
        settings=hypothesis.settings(
            _settings(40), stateful_step_count=10, phases=[hypothesis.Phase.generate]
        )
    )
    # The links were followed: keys made by CreateKey served later calls, and an
    # alias was made for one of them.
    # (Which links a scenario takes is the generator's draw: CreateKey has 25,
    # so the alias links are walked on purpose by the next test.)
    assert created and any(status == 200 for _, status in reused), reused


def _linked(document: dict[str, Any], source: str, target: str) -> tuple[str, str, dict[str, Any]]:
    """The path, method and link from ``source``'s 200 answer to ``target``."""
    operations = {
        op["operationId"]: (path, method, op)
        for path, methods in document["paths"].items()
        for method, op in methods.items()
    }
    link = operations[source][2]["responses"]["200"]["links"][target]
    path, method, _ = operations[target]
    return path, method, link


def _resolve(expression: str, request: dict[str, Any], response: dict[str, Any]) -> Any:
    where, _, pointer = expression.partition("#")
    value: Any = {"$request.body": request, "$response.body": response}[where]
    for part in pointer.strip("/").split("/"):
        value = value[part]
    return value


def _key_of(kms: Kms, alias: str) -> str:
    response = kms.describe(alias)
    assert response.status_code == 200, response.get_data(as_text=True)
    return str(response.get_json()["KeyMetadata"]["KeyId"])


def test_the_alias_links_lead_from_a_new_key_to_its_alias(
    client: FlaskClient, token: TokenFactory
) -> None:
    """CreateKey -> CreateAlias -> UpdateAlias -> DeleteAlias, each request
    built from the previous answer as the document's links say."""
    kms = Kms(client, token(root=True))
    document = client.get("/openapi.json").get_json()
    created = kms.create_key().get_json()
    other = kms.new_key()

    path, method, link = _linked(document, "CreateKey", "CreateAlias")
    body = {"AliasName": "alias/linked"}
    body |= {k: _resolve(v, {}, created) for k, v in link["requestBody"].items()}
    answer = client.open(path, method=method.upper(), json=body, headers=kms.headers)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert _key_of(kms, "alias/linked") == created["KeyMetadata"]["KeyId"]

    for target, extra in (("UpdateAlias", {"TargetKeyId": other}), ("DeleteAlias", None)):
        path, method, link = _linked(document, "CreateAlias", target)
        for name, expression in link["parameters"].items():
            place, _, member = name.partition(".")
            assert place == "path"
            value = _resolve(expression, body, answer.get_json() or {})
            path = path.replace("{" + member + "}", quote(value, safe=""))
        answer = client.open(path, method=method.upper(), json=extra, headers=kms.headers)
        assert answer.status_code == 200, (target, answer.get_data(as_text=True))
        if target == "UpdateAlias":
            assert _key_of(kms, "alias/linked") == other
    assert kms.describe("alias/linked").status_code == 404


def test_create_key_with_a_principal_of_another_partition_is_refused(
    client: FlaskClient, token: TokenFactory
) -> None:
    kms = Kms(client, token(root=True))
    response = kms.create_key(Users=[f"arn:aws-cn:iam::{ACCOUNT}:root"])
    assert response.status_code == 400, response.get_data(as_text=True)


def test_create_key_with_a_non_ascii_principal_is_refused(
    client: FlaskClient, token: TokenFactory
) -> None:
    kms = Kms(client, token(root=True))
    response = kms.create_key(Administrators=[f"arn:aws:iam::{ACCOUNT}:user/\u00e9mile"])
    assert 400 <= response.status_code < 500, response.get_data(as_text=True)


def test_an_integer_written_with_a_fraction_is_refused_as_the_document_says(
    client: FlaskClient, token: TokenFactory
) -> None:
    """JSON Schema cannot tell 365.0 from 365; the server takes JSON integers
    only (no fraction, no exponent), and the document's description says so."""
    kms = Kms(client, token(root=True))
    key_id = kms.new_key()
    response = kms.put(f"/v1/keys/{key_id}/rotation", {"RotationPeriodInDays": 365.0})
    assert response.status_code == 400, response.get_data(as_text=True)
    assert "Member must be an integer" in response.get_json()["error"]["message"]
    assert "without a fraction" in client.get("/openapi.json").get_json()["info"]["description"]
