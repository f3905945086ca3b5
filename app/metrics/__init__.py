"""What the service measures of itself, for ``GET /metrics`` (Prometheus).

:mod:`~app.metrics.instruments` (the instruments and what each process
records), :mod:`~app.metrics.multiprocess` (how ``trent serve``'s processes
share their values). The package imports nothing of the service: the parts
that are measured hand it numbers, and it never reaches back into them.
"""

from app.metrics.instruments import CONTENT_TYPE, Metrics

__all__ = ["CONTENT_TYPE", "Metrics"]
