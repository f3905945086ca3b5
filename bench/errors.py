"""The one failure the harness reports: :class:`BenchError`, printed as one line."""

from __future__ import annotations


class BenchError(Exception):
    """The benchmark cannot go on; the message says why and, if it can, how to fix it."""
