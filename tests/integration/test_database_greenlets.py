"""In `trent serve`'s gevent worker each greenlet (each connection) has its
own database connection, although peewee was imported before gevent patched
``threading`` (gunicorn's master imports the application, then forks).

The check runs in a subprocess: monkey-patching would change this test
process for every test after it."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = textwrap.dedent(
    """
    import sys
    from pathlib import Path

    import peewee  # imported first, as in gunicorn's master
    from app.store import database

    from gevent import monkey

    monkey.patch_all()
    import gevent

    store = database.open_store(
        f"sqlite:///{Path(sys.argv[1])}",
        pool_size=4,
        pool_timeout=1,
        busy_timeout_ms=1000,
        create=True,
    )
    seen = {}

    def request(name):
        with store.connection():
            first = id(store.database.connection())
            gevent.sleep(0.01)  # another request runs meanwhile
            assert id(store.database.connection()) == first
            assert not store.database.is_closed()
            seen[name] = first

    gevent.joinall([gevent.spawn(request, "a"), gevent.spawn(request, "b")], raise_error=True)
    print("distinct" if seen["a"] != seen["b"] else "shared")
    """
)


def test_each_greenlet_has_its_own_connection(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "trent.db")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "distinct"
