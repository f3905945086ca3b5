"""What the front doors share per application: services and the verifiers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from flask import Flask, current_app

from app.auth.principal import Principal
from app.auth.sigv4 import SigV4Verifier
from app.operations.services import Services


class Verifier(Protocol):
    def verify(self, authorization: str | None) -> Principal: ...


@dataclass
class Runtime:
    services: Services
    verifier: Verifier
    sigv4: SigV4Verifier


def install(app: Flask, runtime: Runtime) -> None:
    app.extensions["trent"] = runtime


def runtime() -> Runtime:
    value = current_app.extensions["trent"]
    assert isinstance(value, Runtime)
    return value
