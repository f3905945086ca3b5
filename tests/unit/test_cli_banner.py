"""The banner of ``trent serve --banner`` (``make run``) tells a second shell what it needs."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli.serve import _print_banner
from app.config import Settings


def test_the_banner_names_the_data_directory_and_the_url(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(data_dir=tmp_path / "var")
    _print_banner("127.0.0.1:8123", settings)
    out = capsys.readouterr().out
    assert f"export TRENT_DATA_DIR={tmp_path / 'var'} TRENT_URL=http://127.0.0.1:8123" in out
    assert "token issue --account" in out and "$TRENT_URL/v1/whoami" in out
