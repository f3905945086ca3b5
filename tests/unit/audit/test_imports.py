"""The audit package imports cleanly whichever of its modules comes first.

``app.store.models`` lists the audit tables (``ALL_MODELS``), and
``app.store.audit`` subclasses the shared ``BaseModel``: no import order may
leave either half-initialised. Each import runs in a fresh interpreter.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize(
    "module",
    [
        "app.audit.log",
        "app.audit.verify",
        "app.audit.report",
        "app.audit.chain_walker",
        "app.audit.checkpoint_stream",
        "app.audit.exported_checkpoints",
        "app.audit.query",
        "app.cli.audit",
        "app.operations.audit_log",
        "app.store.audit",
        "app.store.models",
    ],
)
def test_importing_first(module: str) -> None:
    code = f"import {module}; import app.store.models as m; assert len(m.ALL_MODELS) >= 9"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
