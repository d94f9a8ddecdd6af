"""Incremental derivation: re-derive the sessions that received events.

A session is always re-derived from all of its raw events, so the result
does not depend on arrival order, duplicates or lateness. The server runs
it on its derive thread (derive/worker.py); the CLI (rebuild) runs it inline.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from videoinsights.derive.basis import session_basis
from videoinsights.derive.inputs import events_by_session, rows_apart, stats_by_session
from videoinsights.derive.model import SessionDerivation, StatsAggregate
from videoinsights.derive.quality import QualityThresholds, add_endpoint_parts, derive_quality
from videoinsights.derive.rows import derivation_tables
from videoinsights.derive.session import derive_session
from videoinsights.derive.trace import lap
from videoinsights.store.base import SessionKey, Store

log = logging.getLogger(__name__)

# A pool's share of one cycle is split in this many chunks, so that two workers both have some.
POOL_CHUNKS = 2


# One worker's answer: the derived rows by table (derive/rows.py), sessions derived, sessions failed.
DerivedPart = tuple[dict[str, pa.Table], int, int]


@dataclass
class Batch:
    """Sessions whose inputs were read and handed to the workers: written by `finish_batch`."""

    keys: list[SessionKey]
    loaded_seq: int  # the store's derived_seq when the inputs were read (Store.replace_derived)
    parts: list[Future[DerivedPart]]
    backlog: bool = False  # at least as many other dirty sessions were waiting (derive/worker.py grows batches)
    quality: QualityThresholds | None = None  # thresholds for the store's sample scoring (None: not scored)
    # Never-derived sessions read with this batch but derived at once, here, to be written with the batch before
    # (start_batch's `express`): a new session is visible one pipeline step sooner.
    express: Batch | None = None


def start_batch(store: Store, limit: int, pool: Executor | None = None, quality: QualityThresholds | None = None,
                scoring: bool = True, busy: Collection[SessionKey] = (), express: int = 0,
                timings: dict[str, float] | None = None, wanted: Sequence[SessionKey] = ()) -> Batch | None:
    """Fold new commits in, pick up to `limit` dirty sessions (not those in `busy`, a batch still away) and
    read their inputs. With `pool` (worker processes) the derivation runs there, outside this process's
    interpreter lock, while the caller goes on (e.g. writes the previous batch); without, it runs now.

    With `express` (and `pool`), up to that many never-derived sessions are taken apart: `Batch.express`, handed
    to the pool ahead of the batch, for the caller to write with the batch away (finish_batch's `along`), or
    alone when none is, instead of a step later. New sessions are small, and many while a platform warms up
    (~45 a second in bench_load's first minute at 10,000 events/s). Then, in the same lane, the `wanted` sessions
    that are dirty: someone is looking at them (derive/wanted.py).
    With `timings`, the seconds of each phase are added to it (derive/trace.py)."""
    t = time.perf_counter()
    store.absorb_new_events()
    t = lap(timings, "absorb", t)
    away = set(busy)
    fresh: list[SessionKey] = []
    if express and pool is not None:
        fresh = _express(store, express, away, wanted)
    skip = away | set(fresh)
    waiting = [k for k in store.dirty_sessions(2 * limit + len(skip)) if k not in skip]
    keys, backlog = waiting[:limit], len(waiting) >= 2 * limit
    if not keys:  # nothing else waits: the new sessions are this batch (derived by the pool as usual)
        keys, fresh = fresh, []
    t = lap(timings, "pick", t)
    if not keys:
        return None
    loaded_seq = store.derived_seq
    events = store.load_session_event_table(keys + fresh)
    stats = store.load_stats_table(keys + fresh)
    t = lap(timings, "read", t)
    # Quality: lifecycle issues here (derive/quality.py), sample scores and issues by the store in replace_derived
    # (docs/quality.md); `scoring` off: none (setting quality_scoring, and bench_load's comparison).
    q = _thresholds(quality, scoring)
    if pool is None:
        return Batch(keys, loaded_seq, [_done(derive_tables(keys, events, stats, q))], backlog, q)
    ahead = None
    if fresh:
        fresh_events, events = rows_apart(events, fresh)
        fresh_stats, stats = rows_apart(stats, fresh)
        # first in the pool's queue: done before the batch away is written (its own derivation is done by then)
        ahead = Batch(fresh, loaded_seq, [pool.submit(derive_tables, fresh, fresh_events, fresh_stats, q)], False, q)
        t = lap(timings, "express", t)
    parts = [pool.submit(derive_tables, *part, q) for part in _split(keys, events, stats, POOL_CHUNKS)]
    lap(timings, "submit", t)
    return Batch(keys, loaded_seq, parts, backlog, q, ahead)


def start_lane(store: Store, limit: int, quality: QualityThresholds | None = None, scoring: bool = True,
               busy: Collection[SessionKey] = (), timings: dict[str, float] | None = None,
               wanted: Sequence[SessionKey] = ()) -> Batch | None:
    """Up to `limit` never-derived sessions (then `wanted` dirty ones) alone (not those in `busy`), their lifecycle
    events absorbed but no stats samples folded: the derive loop writes them on their own before and after a timed
    fold (derive/worker.py), which takes a second or two under load, rather than with the batch away after it. None
    when there is none."""
    t = time.perf_counter()
    store.absorb_new_events(fold=False)
    t = lap(timings, "absorb", t)
    keys = _express(store, limit, set(busy), wanted)
    t = lap(timings, "pick", t)
    if not keys:
        return None
    loaded_seq = store.derived_seq
    events, stats = store.load_session_event_table(keys), store.load_stats_table(keys)
    t = lap(timings, "read", t)
    q = _thresholds(quality, scoring)
    # Derived here, not by the worker processes: their queue holds the batch away, which the lane waited for (~0.2 s
    # a lane under load, docs/benchmarks.md); new sessions are small (25-30 a lane, median).
    part = _done(derive_tables(keys, events, stats, q))
    lap(timings, "express", t)
    return Batch(keys, loaded_seq, [part], False, q)


def score_owed(store: Store, quality: QualityThresholds | None = None, scoring: bool = True) -> int:
    """One quality pass of the store (Store.score_owed: the sample quality its derive steps left to one); how many
    sessions it scored."""
    return store.score_owed(_thresholds(quality, scoring))


def _express(store: Store, limit: int, away: set[SessionKey], wanted: Sequence[SessionKey]) -> list[SessionKey]:
    """Up to `limit` never-derived dirty sessions, then wanted dirty ones, not those in `away` (a batch still away)."""
    return [k for k in store.dirty_sessions(limit + len(away), never_derived=True, wanted=wanted)
            if k not in away][:limit]


def _thresholds(quality: QualityThresholds | None, scoring: bool) -> QualityThresholds | None:
    """What the store scores samples with: the settings' thresholds (the defaults when none given), None with scoring
    off."""
    return (quality or QualityThresholds()) if scoring else None


def _done(part: DerivedPart) -> Future[DerivedPart]:
    done: Future[DerivedPart] = Future()
    done.set_result(part)
    return done


def finish_batch(store: Store, batch: Batch, along: Batch | None = None,
                 timings: dict[str, float] | None = None) -> tuple[int, int]:
    """Wait for a batch's derivations and write them, with those of `along` (a later batch's express lane,
    already derived) in the same transaction; return (derived, failed). Raises what a worker raised
    (BrokenProcessPool when one died): then nothing of the batch is written and its sessions stay dirty.
    With `timings`, the seconds waited for the workers and spent writing are added to it."""
    t = time.perf_counter()
    batches = [batch] if along is None else [batch, along]
    parts = [future.result() for b in batches for future in b.parts]
    t = lap(timings, "wait", t)
    # The workers' tables of one name as one (an INSERT each costs ~8 ms whatever its rows: a step wrote ~29 parts),
    # their column types unified (inferred from the values, they may differ: an all-int column in one part, double in
    # another); the store casts it to its columns.
    names = {name for tables, _, _ in parts for name in tables}
    by_table = {name: _together([t[name] for t, _, _ in parts if name in t]) for name in names}
    keys = [k for b in batches for k in b.keys]
    loaded: int | list[int] = batch.loaded_seq
    if along is not None:  # each batch's sessions against the watermark of their own read
        loaded = [b.loaded_seq for b in batches for _ in b.keys]
    # Failed sessions are cleared too (their old rows removed); a later event retries them.
    store.replace_derived(keys, by_table, batch.quality, loaded)
    lap(timings, "write", t)
    return sum(p[1] for p in parts), sum(p[2] for p in parts)


def _together(tables: list[pa.Table]) -> list[pa.Table]:
    """The parts as one table, or as they are where their types cannot be unified (each is then cast by the store)."""
    if len(tables) < 2:
        return tables
    try:
        return [pa.concat_tables(tables, promote_options="permissive")]
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return tables


def derive_pending(store: Store, limit: int, pool: Executor | None = None, quality: QualityThresholds | None = None,
                   scoring: bool = True) -> tuple[int, int]:
    """Derive up to `limit` dirty sessions; return (derived, failed).

    With `pool` (worker processes), everything but the store's reads and writes runs there, outside
    this process's interpreter lock: the Arrow tables of inputs go to the workers, derivations come back."""
    batch = start_batch(store, limit, pool, quality, scoring)
    return (0, 0) if batch is None else finish_batch(store, batch)


def _split(keys: list[SessionKey], events: pa.Table, stats: pa.Table,
           parts: int) -> list[tuple[list[SessionKey], pa.Table, pa.Table]]:
    """Share the sessions among `parts` workers (all keys with one session id in one part)."""
    chunk_of: dict[str, int] = {}
    for _, session_id in keys:
        chunk_of.setdefault(session_id, len(chunk_of) % parts)
    out = []
    for part in range(parts):
        ids = pa.array([sid for sid, c in chunk_of.items() if c == part], pa.string())
        if len(ids):
            out.append(([k for k in keys if chunk_of[k[1]] == part],
                        events.filter(pc.is_in(events["session_id"], value_set=ids)),
                        stats.filter(pc.is_in(stats["session_id"], value_set=ids))))
    return out


def derive_tables(keys: list[SessionKey], events: pa.Table, stats: pa.Table,
                  quality: QualityThresholds | None = None) -> tuple[dict[str, pa.Table], int, int]:
    """Derive each session from the store's input tables; return the derived rows as tables
    (derive/rows.py), how many sessions were derived and how many failed. Pure: it can run in a worker.
    With `quality`, the lifecycle issues too (the store adds the sample scores and issues).

    A session without inputs (its raw events all expired before it was derived: ClickHouse keeps its dirty
    token through the purge) is derived as having no rows: replacing them clears its old ones."""
    by_session = events_by_session(events, keys)
    aggregates = stats_by_session(stats, keys)
    derivations, empty = [], 0
    for key in keys:
        if not by_session[key] and not aggregates[key]:
            empty += 1
            continue
        derivation = derive_one(key, by_session[key], aggregates[key], quality)
        if derivation is not None:
            derivations.append(derivation)
    derived = len(derivations) + empty
    return derivation_tables(derivations), derived, len(keys) - derived


def derive_one(key: SessionKey, events: list[dict[str, Any]], stats: list[StatsAggregate],
               quality: QualityThresholds | None) -> SessionDerivation | None:
    """One session's derivation (None where it raised: one bad session must not stall the others), with
    its lifecycle issues when `quality` is given (derive_quality without samples: the store scores the
    samples, store/duckdb/quality.py). Both parts share the session's basis (derive/basis.py)."""
    project_id, session_id = key
    try:
        basis = session_basis(project_id, session_id, events, stats)
        derivation = derive_session(project_id, session_id, events, stats, basis)
    except Exception:
        log.exception("deriving session %s of project %s failed", session_id, project_id)
        return None
    if quality is not None:
        try:
            derivation.quality = derive_quality(project_id, session_id, events, stats, [], quality, basis)
            add_endpoint_parts(derivation.endpoint_days, derivation.quality, project_id, session_id)
        except Exception:  # the session's other rows still count
            log.exception("scoring session %s of project %s failed", session_id, project_id)
    return derivation


# progress(sessions done in this step, sessions to derive in all): for a progress bar.
Progress = Callable[[int, int], None]


def derive_all(store: Store, batch: int = 2000, progress: Progress | None = None,
               quality: QualityThresholds | None = None, scoring: bool = True) -> int:
    """Rebuild every derived table from the raw events (without quality scores and issues when not `scoring`)."""
    store.clear_derived()
    store.mark_all_dirty()
    return derive_until_clean(store, batch, progress, quality, scoring)


def derive_until_clean(store: Store, batch: int = 2000, progress: Progress | None = None,
                       quality: QualityThresholds | None = None, scoring: bool = True) -> int:
    """Derive dirty sessions until none is left; return how many were derived."""
    total = 0
    goal = 0
    if progress is not None:
        store.absorb_new_events()
        goal = store.dirty_session_count()
    while True:
        derived, failed = derive_pending(store, batch, None, quality, scoring)
        # the sample quality a store left to its passes, after each batch: a pass of the sessions just derived reads
        # what their scoring in the batch's step would (one at the end would read from the rebuild's oldest session)
        while store.quality_pass_due(idle=True):
            score_owed(store, quality, scoring)
        if derived + failed == 0:
            store.refresh_months()  # nothing left: the monthly rollups too (store/duckdb/months.py)
            return total
        total += derived
        if progress is not None:
            progress(derived + failed, goal)
