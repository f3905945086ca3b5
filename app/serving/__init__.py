"""What serves Trent's requests: gunicorn with Trent's gevent worker.

- :mod:`app.serving.options`: the gunicorn settings ``trent serve`` runs with,
  every limit taken from :class:`app.config.Settings` (``TRENT_*``).
- :mod:`app.serving.worker`: the worker. Each connection is a greenlet, so a
  client that sends its request slowly holds a greenlet, never a thread; the
  request head and body are read under deadlines, and connections are capped
  per worker and per client address.

gevent is imported only by the worker, after gunicorn's fork: ``trent serve``'s
master process (and its helper supervision threads) is never monkey-patched.
"""
