"""gunicorn's log as ``trent serve`` writes it: :func:`logger_class`."""

from __future__ import annotations

from typing import Any

from gunicorn.glogging import Logger

from app.logs import formatter


def logger_class(log_format: str) -> type[Logger]:
    """gunicorn's logger, writing its lines in ``log_format`` (as the
    ``trent`` loggers do: :mod:`app.logs`) and naming the address it
    serves in its "Listening at" line."""

    class TrentLogger(Logger):  # type: ignore[misc]
        _access_log_enabled = False

        def setup(self, cfg: Any) -> None:
            super().setup(cfg)
            for handler in self.error_log.handlers:
                handler.setFormatter(formatter(log_format))
            # gunicorn asks after every request, through five settings
            # lookups; the answer changes only with the settings, which
            # gunicorn hands to setup() again when they change.
            self._access_log_enabled = Logger.access_log_enabled.fget(self)

        @property
        def access_log_enabled(self) -> bool:
            return self._access_log_enabled

        def info(self, msg: str, *args: Any, **kwargs: Any) -> None:
            if msg.startswith("Listening at:") and args and not args[0]:
                # Each worker binds the address itself (SO_REUSEPORT), so the
                # master has no socket of its own to name: name the address.
                bound = ",".join(f"http://{address}" for address in self.cfg.bind)
                args = (f"{bound} (each worker on its own socket)", *args[1:])
            super().info(msg, *args, **kwargs)

    return TrentLogger
