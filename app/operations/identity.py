"""Identity: who the service thinks the caller is."""

from __future__ import annotations

from typing import Any

from app.operations.context import OperationContext
from app.operations.services import Services


def whoami(services: Services, ctx: OperationContext, _: None) -> dict[str, Any]:
    return ctx.principal.as_dict()
