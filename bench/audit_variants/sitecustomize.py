"""Benchmark-only patches of the audit path, for :mod:`bench.audit_cost`.

Python imports this module at start-up when its folder is on ``PYTHONPATH``;
:mod:`bench.audit_cost` puts it there, and sets ``BENCH_AUDIT_VARIANT``, only
for the Trent servers it starts in a temporary directory. Every variant but
``shipped`` breaks the audit guarantee on purpose, to measure what each part
of the durable append costs; nothing outside the benchmark ever loads this.

Variants:

``shipped``
    nothing patched.
``writer-writes-nothing``
    the audit writer process answers every event at once with a made-up
    ``seq``, without a transaction: the hop to the writer without its commit.
``built-not-sent``
    the worker builds and encodes the event (``AuditLog.prepare`` and the
    frame) and does not send it: the encoding without the hop.
``not-encoded``
    the worker neither encodes nor sends the event (the event object is still
    built by the request path): the request without its append.
"""

from __future__ import annotations

import itertools
import os
import sys
from contextlib import nullcontext
from typing import Any

VARIANTS = ("shipped", "writer-writes-nothing", "built-not-sent", "not-encoded")


def _install(variant: str) -> None:
    from app.audit import writer_service
    from app.audit.events import AuditEvent

    counter = itertools.count(1)

    if variant == "writer-writes-nothing":
        original_init = writer_service.WriterServer.__init__

        def init(self: Any, *args: Any, **kwargs: Any) -> None:
            original_init(self, *args, **kwargs)
            self._connection = nullcontext
            self._transaction = nullcontext
            self._audit.append_prepared = lambda events: [next(counter) for _ in events]

        writer_service.WriterServer.__init__ = init  # type: ignore[method-assign]
    elif variant == "built-not-sent":

        def submit_encoded(self: Any, event: AuditEvent) -> int:
            writer_service.encode_request(self._audit.prepare(event))
            return next(counter)

        writer_service.RemoteCommitter.submit = submit_encoded  # type: ignore[method-assign]
    elif variant == "not-encoded":

        def submit_nothing(self: Any, event: AuditEvent) -> int:
            return next(counter)

        writer_service.RemoteCommitter.submit = submit_nothing  # type: ignore[method-assign]


_variant = os.environ.get("BENCH_AUDIT_VARIANT")
if _variant is not None:
    if _variant not in VARIANTS:
        sys.exit(f"BENCH_AUDIT_VARIANT must be one of {', '.join(VARIANTS)}")
    if _variant != "shipped":
        _install(_variant)
