"""Bad configuration stops start-up with a message naming the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from app import create_app
from app.config import ConfigError, Secret, load_settings
from app.crypto.root_key import RootKeyUnavailable
from tests.conftest import init_data_dir

BAD = [
    ({"TRENT_BIND": "nonsense"}, "TRENT_BIND"),
    ({"TRENT_BIND": "127.0.0.1:99999"}, "TRENT_BIND"),
    ({"TRENT_DATABASE_URL": "mysql://x"}, "TRENT_DATABASE_URL"),
    ({"TRENT_DB_POOL_SIZE": "0"}, "TRENT_DB_POOL_SIZE"),
    ({"TRENT_DB_POOL_SIZE": "many"}, "TRENT_DB_POOL_SIZE"),
    ({"TRENT_LOCAL_ISSUER": "yes"}, "TRENT_LOCAL_ISSUER"),
    ({"TRENT_REGION": "Mars"}, "TRENT_REGION"),
    ({"TRENT_JWT_LEEWAY": "600"}, "TRENT_JWT_LEEWAY"),
    ({"TRENT_ROOT_KEY_PROVIDER": "hsm"}, "TRENT_ROOT_KEY_PROVIDER"),
    ({"TRENT_ROOT_KEY_PROVIDER": "env"}, "TRENT_ROOT_KEY"),
    ({"TRENT_MAX_BODY_BYTES": "12"}, "TRENT_MAX_BODY_BYTES"),
    ({"TRENT_ISSUERS_FILE": "/nonexistent/issuers.json"}, "TRENT_ISSUERS_FILE"),
    ({"TRENT_LOCAL_ISSUER": "false"}, "TRENT_LOCAL_ISSUER"),
    ({"TRENT_DATBASE_URL": "sqlite:///x"}, "TRENT_DATBASE_URL"),
    ({"TRENT_AUDIT_CHECKPOINT_FILE": "/nonexistent/dir/c.jsonl"}, "TRENT_AUDIT_CHECKPOINT_FILE"),
    ({"TRENT_AUDIT_CHECKPOINT_INTERVAL": "0"}, "TRENT_AUDIT_CHECKPOINT_INTERVAL"),
    ({"TRENT_AUDIT_CHECKPOINT_INTERVAL": "often"}, "TRENT_AUDIT_CHECKPOINT_INTERVAL"),
    ({"TRENT_AUDIT_CHECKPOINT_SINK": "relative/sink.jsonl"}, "TRENT_AUDIT_CHECKPOINT_SINK"),
    ({"TRENT_AUDIT_CHECKPOINT_SINK": "/nonexistent/dir/s.jsonl"}, "TRENT_AUDIT_CHECKPOINT_SINK"),
    ({"TRENT_AUDIT_CHECKPOINT_SINK": "/tmp"}, "TRENT_AUDIT_CHECKPOINT_SINK"),
    ({"TRENT_AUDIT_CHECKPOINT_SYSLOG": "maybe"}, "TRENT_AUDIT_CHECKPOINT_SYSLOG"),
]


@pytest.mark.parametrize(("env", "variable"), BAD, ids=[v for _, v in BAD])
def test_bad_settings_name_the_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(env)
    assert variable in str(info.value)


def test_issuers_file_errors_name_the_entry(tmp_path: Path) -> None:
    path = tmp_path / "issuers.json"
    path.write_text(
        '[{"issuer": "https://idp", "audience": "trent", "algorithms": ["HS256"], "pem": "k.pem"}]'
    )
    with pytest.raises(ConfigError, match="TRENT_ISSUERS_FILE.*entry 0.*algorithms"):
        load_settings({"TRENT_ISSUERS_FILE": str(path)})


def test_secrets_are_masked_in_repr() -> None:
    settings = load_settings({"TRENT_ROOT_KEY_PROVIDER": "env", "TRENT_ROOT_KEY": "c2VjcmV0"})
    assert "c2VjcmV0" not in repr(settings)
    assert repr(Secret("x")) == "Secret('**********')"


def test_no_root_key_means_no_start(tmp_path: Path) -> None:
    settings = init_data_dir(tmp_path / "var")
    settings.root_key_path.unlink()
    with pytest.raises(RootKeyUnavailable, match="trent init"):
        create_app(settings)


def test_audit_checkpoints_go_where_the_operator_says(tmp_path: Path) -> None:
    from app.operations.scheduler import run_jobs_once
    from app.pipeline.runtime import runtime

    settings = init_data_dir(tmp_path / "var")
    elsewhere = tmp_path / "offsite" / "checkpoints.jsonl"
    elsewhere.parent.mkdir()
    configured = load_settings(
        {
            "TRENT_DATA_DIR": str(settings.data_dir),
            "TRENT_AUDIT_CHECKPOINT_FILE": str(elsewhere),
            # No background scheduler: it would outlive this test and sign
            # checkpoints into whichever database a later test binds.
            "TRENT_SCHEDULER_INTERVAL": "0",
        }
    )
    app = create_app(configured)
    client = app.test_client()
    assert client.get("/v1/whoami").status_code == 401  # one audited event
    with app.app_context():
        run_jobs_once(runtime().services)
    assert elsewhere.read_text().count("\n") == 1
    assert not (settings.data_dir / "audit-checkpoints.jsonl").exists()


def test_audit_checkpoint_cadence_and_sinks(tmp_path: Path) -> None:
    defaults = load_settings({"TRENT_DATA_DIR": str(tmp_path)})
    assert defaults.audit_checkpoint_interval_seconds == 5.0
    assert defaults.audit_checkpoint_sink is None and not defaults.audit_checkpoint_syslog
    sink = tmp_path / "sink.jsonl"
    settings = load_settings(
        {
            "TRENT_DATA_DIR": str(tmp_path),
            "TRENT_AUDIT_CHECKPOINT_INTERVAL": "1.5",
            "TRENT_AUDIT_CHECKPOINT_SINK": str(sink),
            "TRENT_AUDIT_CHECKPOINT_SYSLOG": "true",
        }
    )
    assert settings.audit_checkpoint_interval_seconds == 1.5
    assert settings.audit_checkpoint_sink == sink and settings.audit_checkpoint_syslog
