"""``/v1/whoami``."""

from __future__ import annotations

from flask import Blueprint, Response

from app.api.endpoint import call, require_principal
from app.api.openapi import documented
from app.operations import identity

blueprint = Blueprint("identity", __name__)
blueprint.before_request(require_principal)


@blueprint.get("/v1/whoami")
@documented("GET", "/v1/whoami", "WhoAmI", "The caller's principal as Trent sees it.")
def whoami() -> Response:
    return call(identity.whoami, None)
