"""gunicorn's log under ``trent serve`` (app.serving.logger): in Trent's
format, and its "Listening at" line names the address even though the
master holds no socket (each worker binds its own)."""

from __future__ import annotations

import json

import pytest
from gunicorn.config import Config

from app.serving.logger import logger_class


def _config(bind: str) -> Config:
    config = Config()
    config.set("bind", [bind])
    config.set("errorlog", "-")
    return config


def test_the_listening_line_names_the_address_in_json(capsys: pytest.CaptureFixture[str]) -> None:
    logger = logger_class("json")(_config("127.0.0.1:18080"))
    # What gunicorn's arbiter logs when SO_REUSEPORT leaves it no listener.
    logger.info("Listening at: %s (%s)", "", 4242)
    document = json.loads(capsys.readouterr().err.strip())
    assert document["message"] == (
        "Listening at: http://127.0.0.1:18080 (each worker on its own socket) (4242)"
    )
    assert (document["level"], document["logger"]) == ("INFO", "gunicorn.error")


def test_other_lines_are_left_alone_in_text(capsys: pytest.CaptureFixture[str]) -> None:
    logger = logger_class("text")(_config("127.0.0.1:18080"))
    logger.info("Listening at: %s (%s)", "http://10.0.0.1:80", 7)
    logger.warning("Booting worker with pid: %s", 99)
    first, second = capsys.readouterr().err.strip().splitlines()
    assert first.endswith("] gunicorn.error Listening at: http://10.0.0.1:80 (7)")
    assert " INFO [" in first
    assert second.endswith("] gunicorn.error Booting worker with pid: 99")
    assert " WARNING [" in second


@pytest.mark.parametrize(("accesslog", "enabled"), [(None, False), ("-", True)])
def test_whether_the_access_log_is_written_follows_the_settings(
    accesslog: str | None, enabled: bool
) -> None:
    config = _config("127.0.0.1:18080")
    config.set("accesslog", accesslog)
    logger = logger_class("text")(config)
    assert logger.access_log_enabled is enabled
    # A reload hands setup() the new settings.
    reloaded = _config("127.0.0.1:18080")
    reloaded.set("accesslog", "-" if accesslog is None else None)
    logger.setup(reloaded)
    assert logger.access_log_enabled is not enabled
