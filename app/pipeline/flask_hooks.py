"""The pipeline serves every request without Flask's dispatch: refuse to
start when something is registered on the Flask object that only that
dispatch would run."""

from __future__ import annotations

from collections.abc import Mapping

from flask import Flask


def refuse_flask_hooks(app: Flask) -> None:
    """The pipeline serves every request without Flask's dispatch: a hook,
    view, error handler or blueprint registered on ``app`` would never run.
    Refuse to start (or to serve the first request) if one is."""
    registered = {
        "before_request": app.before_request_funcs,
        "after_request": app.after_request_funcs,
        "teardown_request": app.teardown_request_funcs,
        "url_value_preprocessor": app.url_value_preprocessors,
        "url_defaults": app.url_default_functions,
        "error handler": app.error_handler_spec,
        "view": app.view_functions,
        "blueprint": app.blueprints,
    }
    for kind, table in registered.items():
        if _holds_anything(table):
            raise RuntimeError(
                f"a Flask {kind} is registered, but requests are served by "
                "app.pipeline, which never runs it: add the step to the pipeline"
            )


def _holds_anything(table: object) -> bool:
    """Whether one of Flask's registries (nested dicts and lists, created
    empty on first access) holds a registration."""
    if isinstance(table, Mapping):
        return any(_holds_anything(value) for value in table.values())
    if isinstance(table, list | tuple | set):
        return bool(table)
    return True
