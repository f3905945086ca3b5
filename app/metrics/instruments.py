"""The instruments, and what each process records in them.

Recorded as it happens (on the request path only for the first two):

- ``trent_requests_total{door, operation, outcome, status}``
- ``trent_request_duration_seconds{door, operation, outcome}`` (histogram)
- ``trent_audit_batch_events{writer}`` and
  ``trent_audit_commit_duration_seconds{writer}`` (histograms): each batch
  the audit writer process (``writer="process"``) or a worker's own group
  commit (``writer="in-process"``) made durable.

Under ``trent serve`` (:mod:`app.metrics.multiprocess`) a process does not
write each of these into its shared file as it happens: writing one value
there costs a lock, a check of the process id and a write to the mapped
file, three of them per request. It notes the observation in a queue of its
own instead (a tuple appended) and adds up what the queue holds into the
shared values in one go (:meth:`Metrics.flush`): before it answers a scrape,
once a second (with the sampling below), when the queue grows long, and
when the process exits. A scrape therefore sees everything the process that
answers it recorded, and another process's values as they were at its last
flush, at most about a second old; nothing is lost when a worker stops or is
recycled gracefully (a process killed outright loses its last second, as it
loses its requests in flight). Outside ``trent serve`` (an application
built in a test) values are written as they happen.

Sampled once a second (and before a scrape) from numbers the measured parts
keep anyway, so that the hot path pays nothing for them:

- ``trent_audit_events_waiting``: requests of the host whose audit event is
  on its way to a commit (the writer's queue, seen from the workers);
- ``trent_read_cache_lookups_total{result}`` (``hit`` or ``miss``);
- ``trent_db_pool_connections{state}`` (``in_use``, ``idle``) and
  ``trent_db_pool_max_connections``: what the database pools hold.

And computed when scraped: ``trent_audit_checkpoint_age_seconds`` (see
:meth:`Metrics.exposition`). No label ever carries a key, a principal or
anything a caller chose, so the number of series is bounded and a scrape
reveals no names.
"""

from __future__ import annotations

import atexit
import bisect
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import multiprocess as prometheus_multiprocess
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from app.metrics import multiprocess

#: The media type of :meth:`Metrics.exposition`: the Prometheus text format
#: 0.0.4, which every Prometheus reads (no name here needs a newer one).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

#: Request latencies: most answers take milliseconds; the top buckets catch
#: a database or audit writer that stalls (answered 503 after seconds).
REQUEST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: Events per audit batch, up to the writer's largest (512).
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
#: One durable commit: an fsync (SQLite) or a round trip and a WAL flush (PostgreSQL).
COMMIT_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)
#: How often a server's process samples its pools, cache and queue, and
#: flushes the observations it queued.
SAMPLE_SECONDS = 1.0
#: Observations a process queues at most before it flushes them itself
#: (a few seconds of a busy worker), so that the queue stays small even if
#: the flush of the sampler is late.
MOST_QUEUED = 10_000

#: A request as :meth:`Metrics.request` queues it: door, operation,
#: outcome, status, seconds.
_Request = tuple[str, str, str, int, float]
#: An audit batch as queued: writer, events, seconds.
_Batch = tuple[str, int, float]


class PoolUse(Protocol):
    def __call__(self) -> tuple[int, int, int]:
        """``(in use, idle, most)`` connections of the process's pool."""
        ...


class Lookups(Protocol):
    def __call__(self) -> tuple[int, int]:
        """``(hits, misses)`` of the read cache since the process started."""
        ...


class Metrics:
    """The instruments of one application (one per process under ``trent serve``).

    Each instance has its own registry, so that several applications in one
    process (the tests) never clash; under ``trent serve`` the values go to
    the shared directory (:mod:`app.metrics.multiprocess`), by way of the
    queue of the module docstring, and a scrape adds up every process's.
    """

    def __init__(self) -> None:
        registry = CollectorRegistry(auto_describe=False)
        self.registry = registry
        self._requests = Counter(
            "trent_requests",
            "Requests answered, by door, operation, outcome and HTTP status.",
            ("door", "operation", "outcome", "status"),
            registry=registry,
        )
        self._latency = Histogram(
            "trent_request_duration_seconds",
            "Time from a request's arrival to its answer (its audit event durable).",
            ("door", "operation", "outcome"),
            buckets=REQUEST_BUCKETS,
            registry=registry,
        )
        self._batch = Histogram(
            "trent_audit_batch_events",
            "Audit events appended in one durable transaction.",
            ("writer",),
            buckets=BATCH_BUCKETS,
            registry=registry,
        )
        self._commit = Histogram(
            "trent_audit_commit_duration_seconds",
            "Time to append and commit one audit batch.",
            ("writer",),
            buckets=COMMIT_BUCKETS,
            registry=registry,
        )
        self._waiting = Gauge(
            "trent_audit_events_waiting",
            "Requests waiting for their audit event to be committed (sampled).",
            registry=registry,
            multiprocess_mode="livesum",
        )
        self._lookups = Counter(
            "trent_read_cache_lookups",
            "Read-cache lookups of keys, policies and access keys, by result.",
            ("result",),
            registry=registry,
        )
        self._pool = Gauge(
            "trent_db_pool_connections",
            "Database connections of the processes' pools, by state (sampled).",
            ("state",),
            registry=registry,
            multiprocess_mode="livesum",
        )
        self._pool_max = Gauge(
            "trent_db_pool_max_connections",
            "Most connections the processes' pools may open.",
            registry=registry,
            multiprocess_mode="livesum",
        )
        #: Label children by label values: ``labels()`` costs a lock and a
        #: tuple check per call, a dictionary look-up does not. The label
        #: values are bounded (route names, outcomes, statuses).
        self._request_children: dict[tuple[str, str, str, int], tuple[Counter, Histogram]] = {}
        self._batch_children: dict[str, tuple[Histogram, Histogram]] = {}
        self._sample_lock = threading.Lock()
        self._pool_use: PoolUse | None = None
        self._cache_lookups: Lookups | None = None
        self._waiting_now: Callable[[], int] | None = None
        self._seen_lookups = (0, 0)
        self._sampler: threading.Thread | None = None
        #: Observations waiting for :meth:`flush` (under ``trent serve``
        #: only). A deque: appending and taking from either end are atomic,
        #: so a thread recording and another flushing need no lock, and a
        #: greenlet recording costs one append.
        self._queued = multiprocess.directory() is not None
        self._requests_queued: deque[_Request] = deque()
        self._batches_queued: deque[_Batch] = deque()
        self._flushes_at_exit = False
        #: Held by a flush from taking its first observation to writing its
        #: last: the flush at exit waits for one the sampler has under way.
        self._flush_lock = threading.Lock()

    def __repr__(self) -> str:
        shared = multiprocess.directory()
        return f"Metrics(shared={str(shared) if shared else None!r})"

    # -- recorded as it happens ------------------------------------------------

    def request(self, door: str, operation: str, outcome: str, status: int, seconds: float) -> None:
        if self._queued:
            queued = self._requests_queued
            queued.append((door, operation, outcome, status, seconds))
            if len(queued) >= MOST_QUEUED or self._sampler is None:
                self._flush_soon()
            return
        counter, histogram = self._request_children_of((door, operation, outcome, status))
        counter.inc()
        histogram.observe(seconds)

    def audit_batch(self, writer: str, events: int, seconds: float) -> None:
        """A batch of ``events`` made durable by ``writer`` (``process`` or ``in-process``)."""
        if self._queued:
            queued = self._batches_queued
            queued.append((writer, events, seconds))
            if len(queued) >= MOST_QUEUED or self._sampler is None:
                self._flush_soon()
            return
        batch, commit = self._batch_children_of(writer)
        batch.observe(events)
        commit.observe(seconds)

    def flush(self) -> None:
        """Add up the queued observations into the shared values (see the
        module docstring); nothing to do outside ``trent serve``."""
        with self._flush_lock:
            self._flush_requests()
            self._flush_batches()

    def _flush_requests(self) -> None:
        requests: dict[tuple[str, str, str, int], _Observed] = {}
        queued = self._requests_queued
        while queued:  # only a flush takes from it, under the flush lock
            door, operation, outcome, status, seconds = queued.popleft()
            key = (door, operation, outcome, status)
            observed = requests.get(key)
            if observed is None:
                observed = requests[key] = _Observed(len(REQUEST_BUCKETS))
            observed.add(bisect.bisect_left(REQUEST_BUCKETS, seconds), seconds)
        for key, observed in requests.items():
            counter, histogram = self._request_children_of(key)
            counter.inc(observed.count)
            observed.write_into(histogram)

    def _flush_batches(self) -> None:
        batches: dict[str, tuple[_Observed, _Observed]] = {}
        taken = self._batches_queued
        while taken:
            writer, events, seconds = taken.popleft()
            pair = batches.get(writer)
            if pair is None:
                pair = batches[writer] = (
                    _Observed(len(BATCH_BUCKETS)),
                    _Observed(len(COMMIT_BUCKETS)),
                )
            pair[0].add(bisect.bisect_left(BATCH_BUCKETS, events), events)
            pair[1].add(bisect.bisect_left(COMMIT_BUCKETS, seconds), seconds)
        for writer, (sizes, times) in batches.items():
            batch, commit = self._batch_children_of(writer)
            sizes.write_into(batch)
            times.write_into(commit)

    def _flush_soon(self) -> None:
        if self._sampler is None:
            # A process that records but never started sampling (the audit
            # writer process): its flushes start with its first value.
            self.start_sampling()
        else:
            self.flush()

    def _request_children_of(self, key: tuple[str, str, str, int]) -> tuple[Counter, Histogram]:
        children = self._request_children.get(key)
        if children is None:
            door, operation, outcome, status = key
            children = (
                self._requests.labels(door, operation, outcome, str(status)),
                self._latency.labels(door, operation, outcome),
            )
            self._request_children[key] = children
        return children

    def _batch_children_of(self, writer: str) -> tuple[Histogram, Histogram]:
        children = self._batch_children.get(writer)
        if children is None:
            children = (self._batch.labels(writer), self._commit.labels(writer))
            self._batch_children[writer] = children
        return children

    # -- sampled ---------------------------------------------------------------

    def watch(
        self,
        *,
        pool_use: PoolUse | None = None,
        cache_lookups: Lookups | None = None,
        waiting: Callable[[], int] | None = None,
    ) -> None:
        """Sample these from now on (see the module docstring)."""
        self._pool_use = pool_use or self._pool_use
        self._cache_lookups = cache_lookups or self._cache_lookups
        self._waiting_now = waiting or self._waiting_now

    def sample(self) -> None:
        """Copy what the watched parts report into the instruments, and
        flush the queued observations."""
        self.flush()
        with self._sample_lock:
            if self._pool_use is not None:
                in_use, idle, most = self._pool_use()
                self._pool.labels("in_use").set(in_use)
                self._pool.labels("idle").set(idle)
                self._pool_max.set(most)
            if self._cache_lookups is not None:
                hits, misses = self._cache_lookups()
                seen_hits, seen_misses = self._seen_lookups
                # Counters only go up: the cache's own counts do too.
                self._lookups.labels("hit").inc(max(0, hits - seen_hits))
                self._lookups.labels("miss").inc(max(0, misses - seen_misses))
                self._seen_lookups = (hits, misses)
            if self._waiting_now is not None:
                self._waiting.set(self._waiting_now())

    def start_sampling(self) -> None:
        """Sample (and flush) every :data:`SAMPLE_SECONDS` in a daemon thread
        (a greenlet in ``trent serve``'s worker), so that an idle process's
        values are still current when another process answers a scrape; and
        flush once more when the process exits."""
        if self._sampler is not None:
            return
        if self._queued and not self._flushes_at_exit:
            # A worker that stops or is recycled gracefully, and the audit
            # writer process, end by leaving Python normally: what they
            # queued since their last flush is written then.
            atexit.register(self.flush)
            self._flushes_at_exit = True
        self._sampler = threading.Thread(
            target=self._sample_forever, name="trent-metrics-sampler", daemon=True
        )
        self._sampler.start()

    def _sample_forever(self) -> None:
        while True:  # a daemon: it ends with its process
            time.sleep(SAMPLE_SECONDS)
            self.sample()

    # -- scraped ---------------------------------------------------------------

    def exposition(self, computed: Iterable[Metric] = ()) -> bytes:
        """Every process's values in the Prometheus text format, with
        ``computed`` (values worked out for this scrape) added."""
        self.sample()
        registry = CollectorRegistry(auto_describe=False)
        shared = multiprocess.directory()
        if shared is not None:
            prometheus_multiprocess.MultiProcessCollector(  # type: ignore[no-untyped-call]
                registry, path=str(shared)
            )
        else:
            registry.register(_Delegate(lambda: iter(self.registry.collect())))
        registry.register(_Delegate(lambda: iter(tuple(computed))))
        return generate_latest(registry)


class _Observed:
    """Observations of one histogram child, added up: their count, their sum
    and how many fell in each bucket (the last is ``+Inf``)."""

    __slots__ = ("count", "total", "buckets")

    def __init__(self, bounds: int) -> None:
        self.count = 0
        self.total = 0.0
        self.buckets = [0] * (bounds + 1)

    def add(self, bucket: int, value: float) -> None:
        self.count += 1
        self.total += value
        self.buckets[bucket] += 1

    def write_into(self, histogram: Histogram) -> None:
        """Add these to ``histogram`` as many ``observe`` calls would.

        prometheus-client has no call that observes many values at once:
        this writes the values ``observe`` writes, its sum and the one
        bucket each value falls in (a bucket's value is not cumulative in
        the shared files; a scrape adds them up). The test of the queued
        metrics compares a scrape of both ways, so a prometheus-client that
        stores a histogram otherwise fails it.
        """
        histogram._sum.inc(self.total)
        for value, count in zip(histogram._buckets, self.buckets, strict=True):
            if count:
                value.inc(count)


def gauge(name: str, documentation: str, value: float) -> Metric:
    """A gauge computed for one scrape (for :meth:`Metrics.exposition`)."""
    return GaugeMetricFamily(name, documentation, value=value)


class _Delegate(Collector):
    def __init__(self, collect: Callable[[], Iterator[Metric]]) -> None:
        self._collect = collect

    def collect(self) -> Iterator[Metric]:
        return self._collect()

    def describe(self) -> Iterator[Metric]:
        return iter(())
