"""``trent token issue`` in a shell that lacks the server's data directory."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from app.cli.token import token


def test_a_missing_issuer_says_which_variable_to_set(tmp_path: Path) -> None:
    empty = tmp_path / "elsewhere"
    empty.mkdir()
    result = CliRunner().invoke(
        token, ["issue", "--account", "111122223333", "--root"], env={"TRENT_DATA_DIR": str(empty)}
    )
    assert result.exit_code != 0
    assert f"{empty}/issuer/issuer.json does not exist" in result.output
    assert "set TRENT_DATA_DIR" in result.output
