"""Prometheus metrics of one server, with the standard client library.

Each app gets its own CollectorRegistry (never the process-global one), so
several servers in one process (tests) do not share counters. Labels are
bounded: requests are labelled by the route's path template ("/v1/projects/
{project_id}/export", not the raw path), and projects by their id only for
the first `metrics_max_projects` distinct projects seen; later ones share the
label "other", so a server with many projects cannot blow up Prometheus.

State that lives elsewhere (writer counters, derivation backlog, queue depth,
file size) is read at scrape time by a custom collector.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from videoinsights.store.base import Store
    from videoinsights.web.services import Services

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
OTHER = "other"
# Seconds; ingestion answers in a few ms, GraphQL reports can take seconds.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
BATCH_BUCKETS = (1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000)


class BoundedLabels:
    """Maps values to themselves for the first `limit` distinct values, then to "other"."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, value: str) -> str:
        if value in self._seen:
            return value
        with self._lock:
            if len(self._seen) < self._limit:
                self._seen.add(value)
                return value
        return OTHER


class CommitClock:
    """When each recent ingest commit (store sequence number) was acknowledged, so that the age of the
    oldest not-yet-derived commit can be told in seconds. Bounded: the oldest entries are dropped."""

    def __init__(self, max_entries: int = 100_000) -> None:
        self._seqs: deque[int] = deque(maxlen=max_entries)
        self._times: deque[float] = deque(maxlen=max_entries)
        self._lock = threading.Lock()

    def record(self, seq: int, at: float) -> None:
        with self._lock:
            if not self._seqs or seq > self._seqs[-1]:
                self._seqs.append(seq)
                self._times.append(at)

    def acknowledged_at(self, seq: int, default: float) -> float:
        """Time the first recorded commit >= seq was acknowledged (`default` if none is recorded)."""
        with self._lock:
            i = bisect.bisect_left(self._seqs, seq)
            return self._times[i] if i < len(self._times) else default


class Metrics:
    """The instruments that request handlers update."""

    def __init__(self, max_projects: int = 100) -> None:
        self.registry = CollectorRegistry()
        self.project_label = BoundedLabels(max_projects)
        self.commits = CommitClock()
        self.requests = Counter(
            "videoinsights_http_requests", "HTTP requests by route template, method and status.",
            ["route", "method", "status"], registry=self.registry,
        )
        self.latency = Histogram(
            "videoinsights_http_request_duration_seconds", "Time to answer an HTTP request, by route template.",
            ["route", "method", "status"], buckets=LATENCY_BUCKETS, registry=self.registry,
        )
        self.batch_size = Histogram(
            "videoinsights_ingest_batch_events", "Events per ingestion request (before validation).",
            buckets=BATCH_BUCKETS, registry=self.registry,
        )
        self.events = Counter(
            "videoinsights_ingest_events",
            "Ingested events by project and outcome (accepted, duplicate, rejected); projects past"
            " metrics_max_projects are counted as project=\"other\".",
            ["project", "outcome"], registry=self.registry,
        )

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        labels = (route, method, str(status))
        self.requests.labels(*labels).inc()
        self.latency.labels(*labels).observe(seconds)

    def observe_ingest(self, project_id: str, received: int, accepted: int, duplicates: int, rejected: int) -> None:
        self.batch_size.observe(received)
        project = self.project_label(project_id)
        for outcome, count in (("accepted", accepted), ("duplicate", duplicates), ("rejected", rejected)):
            if count:
                self.events.labels(project, outcome).inc(count)

    def watch(self, services: Services) -> None:
        """Report the state of `services` (store, writer) at every scrape."""
        self.registry.register(ServerState(services, self.commits))

    def render(self) -> bytes:
        return generate_latest(self.registry)


def derivation_backlog(store: Store) -> tuple[int, int]:
    """(commits not yet absorbed, dirty sessions), read in that order: the commits counted as absorbed have their
    dirty sessions committed with them, so the count read next sees them. Read the other way round, an absorb landing
    between the two reads gave 0 and 0, idle, with a session waiting (a test then read a session without its last
    events, and `derivation_idle` in the benchmarks could stop early)."""
    undigested = store.undigested_commits()
    return undigested, store.dirty_session_count()


class ServerState(Collector):
    """Gauges and counters read from the store and the writer when Prometheus scrapes."""

    def __init__(self, services: Services, commits: CommitClock, clock: Callable[[], float] = time.time) -> None:
        self._services = services
        self._commits = commits
        self._clock = clock

    def collect(self) -> Iterator[Metric]:
        services = self._services
        store, stats, now = services.store, services.writer.stats, self._clock()
        for name, help, value in (
            ("events_inserted", "Events committed to the raw store.", stats.events_inserted),
            ("events_duplicate", "Events ignored because their id was already stored.", stats.duplicates),
            ("commits", "Write transactions of ingested events.", stats.commits),
            ("sessions_derived", "Session derivations written.", stats.sessions_derived),
            ("derive_failures", "Session derivations that raised.", stats.derive_failures),
            ("derive_seconds", "Time spent deriving.", stats.derive_seconds),
            ("derive_cycle_failures", "Derive cycles that failed as a whole (retried after a backoff).",
             stats.derive_cycle_failures),
            ("derive_pool_restarts", "Derive worker pools replaced after a worker process died.",
             stats.derive_pool_restarts),
            ("stats_samples_compacted", "Stats samples moved into session order (DuckDB).",
             stats.stats_samples_compacted),
            ("sessions_wanted_ahead", "Dirty sessions derived ahead of the backlog because a sessionData query asked "
             "for them.", stats.sessions_wanted_ahead),
            ("sessions_previewed", "New sessions whose own rows were written while a derive step ran, ahead of their "
             "first derivation (DuckDB, setting derive_preview_ms).", stats.sessions_previewed),
            ("preview_failures", "Previews of new sessions that failed (logged; their derivation shows them later).",
             stats.preview_failures),
            ("quality_kept", "Session derivations written with the sample quality of an earlier one, their next "
             "already due (DuckDB, setting quality_refresh_s).", store.quality_kept()),
            ("quality_pass_sessions", "Sessions whose sample quality a pass of its own scored after their derivation "
             "(DuckDB, setting quality_pass_s).", store.quality_passed()),
            ("quality_late_samples", "Stats samples that came over 2 minutes late, parked and scored with the others "
             "about once a minute (DuckDB).", store.late_samples_parked()),
        ):
            yield CounterMetricFamily(f"videoinsights_{name}", help, value=value)
        undigested, dirty = derivation_backlog(store)
        oldest_dirty = store.oldest_dirty_seq()
        since = self._commits.acknowledged_at
        lag = 0.0 if oldest_dirty is None else now - since(oldest_dirty, services.started_at)
        undigested_age = now - since(store.seq - undigested + 1, services.started_at) if undigested else 0.0
        freshness = max(lag, undigested_age)
        for name, help, value in (
            ("dirty_sessions", "Sessions waiting to be derived.", dirty),
            ("undigested_commits", "Ingest commits not yet folded into dirty sessions and stats.", undigested),
            ("derive_lag_seconds", "Age of the oldest acknowledged event not yet derived (0: none).",
             store.derive_lag_ms(int(now * 1000)) / 1000),
            ("freshness_seconds", "Age of the oldest acknowledged commit not yet reflected in the API"
             " (0: the API shows everything acknowledged).", max(freshness, 0.0)),
            ("writer_queue_jobs", "Jobs (ingest batches, admin calls) queued for the writer thread.",
             services.writer.queued()),
            ("database_bytes", "What the store takes on disk (DuckDB: file, WAL and dedup keys file;"
             " ClickHouse: the database's active parts).", store.storage_bytes()),
            ("uptime_seconds", "Seconds since the server started.", now - services.started_at),
        ):
            yield GaugeMetricFamily(f"videoinsights_{name}", help, value=value)
        alerts = services.alerts
        yield GaugeMetricFamily("videoinsights_alert_evaluator", "1: this process evaluates alert rules and sends"
                                " their webhooks (`alerts_in_server`); 0: another process does.",
                                value=int(alerts is not None))
        yield CounterMetricFamily("videoinsights_alert_passes", "Alert evaluation passes run by this process.",
                                  value=alerts.passes if alerts is not None else 0)
