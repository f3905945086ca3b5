"""Operations on in-memory repositories: no database, no Flask, no wall clock."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.auth.principal import Principal
from app.operations.context import OperationContext, RequestInfo
from tests.unit.operations.fakes import ACCOUNT, FakeWorld, fake_world


@pytest.fixture
def world(tmp_path: Path) -> FakeWorld:
    return fake_world(tmp_path)


def caller(
    name: str | None = None, *, account: str = ACCOUNT, tags: dict[str, str] | None = None
) -> OperationContext:
    """The account root (no name) or the user ``name``, calling over REST."""
    principal = Principal(
        partition="aws",
        account=account,
        type="root" if name is None else "user",
        name=name,
        tags=tags or {},
    )
    return OperationContext(principal=principal, request=RequestInfo(request_id="req-test"))


ROOT = caller()
ALICE = caller("alice")
