"""Stats samples folded in apart from lifecycle events (DuckDB, setting stats_fold_s, store/duckdb/folding.py): while
a session waits to be derived, new samples wait for the next fold (at most every stats_fold_s, or as soon as an absorb
finds no new commit), counted as undigested meanwhile; a fold landing while a session's derivation is away leaves that
session dirty; and the session ends with the scores of docs/quality.md's worked example (test_quality_api's
20-minute call, by hand), as if every sample had been folded at once."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import duckdb
import pytest

from tests.query.test_quality_api import BAD, GOOD, MIN, PATCHY, call
from tests.store.test_derive_pipeline import traced_cycle
from tests.support.stores import rows
from videoinsights.derive.engine import derive_pending, derive_tables, derive_until_clean
from videoinsights.derive.quality import QualityThresholds
from videoinsights.domain.days import day_start_ms, la_day
from videoinsights.ingest.load import load_events
from videoinsights.store.duckdb import reads
from videoinsights.store.duckdb.folding import FoldClock
from videoinsights.store.duckdb.store import DuckDBStore

PROJECT = "12345678"
DAY = 24 * 60 * MIN
T0 = day_start_ms(la_day(int(time.time() * 1000)) - timedelta(days=2)) + 10 * 60 * MIN
CALL = ("fold", T0, 20, range(11, 21))  # the 20-minute call, its samples 11-20 bad: session (PATCHY, BAD, 40)
A = (PROJECT, "fold")


def is_sample(event: dict[str, Any]) -> bool:
    return event["type"] in ("publisherStats", "subscriberStats")


def other_session() -> list[dict[str, Any]]:
    """One lifecycle event of another session: a session waiting to be derived."""
    return [{"id": "other-0", "type": "connectionCreated", "sessionId": "other", "timestamp": T0,
             "connectionId": "other-A"}]


def session_quality(store: DuckDBStore) -> tuple[Any, ...]:
    (row,) = rows(store, "SELECT score, score_p10, samples FROM quality_scores "
                         "WHERE level = 'session' AND session_id = 'fold'")
    return row


def count(store: DuckDBStore, table: str) -> int:
    return rows(store, f"SELECT count(*) FROM {table}")[0][0]


def dirty(store: DuckDBStore) -> set[tuple[str, str]]:
    return set(store.dirty_sessions(100))


def test_the_fold_is_due_at_every_absorb_at_0_else_when_idle_when_nothing_waits_or_once_the_interval_passed() -> None:
    now = [100.0]
    every = FoldClock(0, clock=lambda: now[0])
    assert every.due(idle=False, waiting=lambda: True)
    clock = FoldClock(5, clock=lambda: now[0])
    assert clock.due(idle=False, waiting=lambda: True)  # never folded in this process
    clock.folded()
    now[0] += 4.9
    assert not clock.due(idle=False, waiting=lambda: True)
    assert clock.deferred == 1
    assert clock.due(idle=True, waiting=lambda: True)
    assert clock.due(idle=False, waiting=lambda: False)
    now[0] += 0.1
    assert clock.due(idle=False, waiting=lambda: True)
    assert clock.deferred == 1


def test_a_timed_fold_is_told_apart_from_the_others() -> None:
    now = [100.0]
    assert not FoldClock(0, clock=lambda: now[0]).timed_out()  # at every absorb: never on a timer
    clock = FoldClock(5, clock=lambda: now[0])
    assert clock.timed_out()  # never folded in this process
    clock.folded()
    now[0] += 4.9
    assert not clock.timed_out() and clock.due(idle=True, waiting=lambda: True)  # due, for being idle
    now[0] += 0.1
    assert clock.timed_out()


def test_new_sessions_are_written_before_a_timed_fold_and_the_samples_after_it(tmp_path) -> None:
    # The derive loop (derive/worker.py's lane before a fold): with a fold due on the timer, the new session "other"
    # is written first, in a step that absorbs lifecycle events alone; the call's 30 later samples are folded in the
    # next step, and their session written after it, with the worked example's scores.
    now = [100.0]
    events = call(*CALL)
    samples = [e for e in events if is_sample(e)]
    store = DuckDBStore(str(tmp_path / "vi.duckdb"), stats_fold_s=5)
    store._folds = FoldClock(5, clock=lambda: now[0])
    try:
        load_events(store, PROJECT, [e for e in events if not is_sample(e)] + samples[:10])
        derive_until_clean(store)  # folded at the first absorb: never folded before
        assert session_quality(store) == (pytest.approx(GOOD), pytest.approx(GOOD), 10)
        load_events(store, PROJECT, samples[10:])
        load_events(store, PROJECT, other_session())
        assert not store.fold_due()  # 0 s after the fold
        now[0] += 5
        assert store.fold_due()
        handled, records = traced_cycle(store, tmp_path, batch=10)
        assert handled == 2
        steps = [r for r in records if r["kind"] == "step"]
        folding = [n for n, s in enumerate(steps) if "absorb_stats" in s["phases"]]
        written = {name: n for n, s in enumerate(steps) for name in s["wrote"]}
        assert len(folding) == 1 and written["other"] < folding[0] < written["fold"], steps
        assert session_quality(store) == (pytest.approx(PATCHY), pytest.approx(BAD), 40)
        assert store.dirty_session_count() == 0
    finally:
        store.close()


def test_samples_wait_while_a_session_waits_and_are_folded_when_no_new_commit_comes(tmp_path) -> None:
    store = DuckDBStore(str(tmp_path / "vi.duckdb"), stats_fold_s=3600)
    try:
        load_events(store, PROJECT, other_session())
        store.absorb_new_events()
        assert dirty(store) == {(PROJECT, "other")}
        load_events(store, PROJECT, call(*CALL))
        store.absorb_new_events()  # a session waits: the lifecycle events are taken, the samples wait
        assert store.folds_deferred() == 1
        assert dirty(store) == {(PROJECT, "other"), A}
        assert count(store, "stats_daily") == 0 and count(store, "quality_samples") == 0
        assert store.undigested_commits() == 1  # (the call's commit: its samples not yet in)
        store.absorb_new_events()  # no new commit: folded
        assert count(store, "stats_daily") == 1 and count(store, "quality_samples") == 40
        assert store.undigested_commits() == 0
        derive_until_clean(store)
        assert session_quality(store) == (pytest.approx(PATCHY), pytest.approx(BAD), 40)
    finally:
        store.close()


def test_a_fold_while_a_derivation_is_away_leaves_its_session_dirty(tmp_path) -> None:
    events = call(*CALL)
    samples = [e for e in events if is_sample(e)]
    first = [e for e in events if not is_sample(e)] + samples[:10]  # every lifecycle event, the 10 first samples
    store = DuckDBStore(str(tmp_path / "vi.duckdb"), stats_fold_s=3600)
    try:
        load_events(store, PROJECT, first)
        derive_until_clean(store)
        assert session_quality(store) == (pytest.approx(GOOD), pytest.approx(GOOD), 10)
        load_events(store, PROJECT, other_session())
        store.absorb_new_events()
        load_events(store, PROJECT, samples[10:])
        store.absorb_new_events()  # "other" waits: the 30 later samples wait too, and their session is not dirty
        assert dirty(store) == {(PROJECT, "other")} and count(store, "quality_samples") == 10
        # the derive engine's read of the session (engine.start_batch), its derivation away meanwhile ...
        loaded = store.derived_seq
        tables, derived, _ = derive_tables([A], store.load_session_event_table([A]), store.load_stats_table([A]),
                                           QualityThresholds())
        assert derived == 1
        store.absorb_all()  # ... while the samples are folded in
        assert count(store, "quality_samples") == 40 and A in dirty(store)
        store.replace_derived([A], {name: [t] for name, t in tables.items()}, QualityThresholds(), loaded)
        assert A in dirty(store)  # derived without the 30 samples folded after its read: dirty still
        derive_until_clean(store)
        assert session_quality(store) == (pytest.approx(PATCHY), pytest.approx(BAD), 40)
    finally:
        store.close()


def test_a_session_derived_with_samples_not_yet_folded_keeps_its_recent_quality_until_they_are(tmp_path) -> None:
    """Setting quality_refresh_s: the fold that takes those samples dirties the session again, so its derivation
    meanwhile may keep the quality scored less than quality_refresh_s before, as one dirty again does."""
    events = call(*CALL)
    samples = [e for e in events if is_sample(e)]
    store = DuckDBStore(str(tmp_path / "vi.duckdb"), stats_fold_s=3600, quality_refresh_s=3600)
    try:
        load_events(store, PROJECT, [e for e in events if not is_sample(e)] + samples[:10])
        derive_until_clean(store)
        assert session_quality(store) == (pytest.approx(GOOD), pytest.approx(GOOD), 10)
        load_events(store, PROJECT, other_session())
        store.absorb_new_events()
        load_events(store, PROJECT, samples[10:])
        joined = {"id": "fold-C", "type": "connectionCreated", "sessionId": "fold", "timestamp": T0 + 80_000,
                  "connectionId": "fold-C"}
        load_events(store, PROJECT, [joined])  # a lifecycle event: the session is dirty, its 30 samples wait
        derive_pending(store, 10)
        assert rows(store, "SELECT count(*) FROM connections WHERE session_id = 'fold'") == [(3,)]
        assert store.dirty_session_count() == 0 and count(store, "quality_samples") == 10
        assert store.quality_kept() == 1  # its quality kept: not scored again from the same 10 samples
        assert session_quality(store) == (pytest.approx(GOOD), pytest.approx(GOOD), 10)
        store.absorb_new_events()  # no new commit: folded, and the session dirty again
        assert dirty(store) == {A}
        derive_until_clean(store)
        assert session_quality(store) == (pytest.approx(PATCHY), pytest.approx(BAD), 40)
    finally:
        store.close()


class CommitDuringTheFold(DuckDBStore):
    """A store whose first fold sees an ingest commit land while it runs (the writer's connection appends beside the
    derive connection's transaction, as under load)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.landing: list[dict[str, Any]] = []

    def _fold(self, *args: Any) -> Any:
        folded = super()._fold(*args)
        if self.landing:
            load_events(self, PROJECT, self.landing)
            self.landing = []
        return folded


def test_lifecycle_events_committed_during_a_fold_are_absorbed_right_after_it(tmp_path) -> None:
    store = CommitDuringTheFold(str(tmp_path / "vi.duckdb"), stats_fold_s=3600)
    try:
        load_events(store, PROJECT, call(*CALL))
        store.landing = other_session()
        store.absorb_new_events()  # nothing waited: a fold, and "other" commits meanwhile
        assert count(store, "quality_samples") == 40
        assert dirty(store) == {A, (PROJECT, "other")}  # its new session is not left for the next absorb
        derive_until_clean(store)
        assert session_quality(store) == (pytest.approx(PATCHY), pytest.approx(BAD), 40)
        assert rows(store, "SELECT count(*) FROM sessions") == [(2,)]
    finally:
        store.close()


class FoldAfterTheFirstStep(CommitDuringTheFold):
    """A store whose fold clock (stats_fold_s 5) moves 5 s at each absorb once `ticking`: the first step of a run does
    not fold, the second does; a commit lands during that fold."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.now = 100.0
        self.ticking = False
        self._folds = FoldClock(5, clock=lambda: self.now)

    def absorb_new_events(self, fold: bool = True) -> int:
        absorbed = super().absorb_new_events(fold)
        if self.ticking:
            self.now += 5
        return absorbed


def test_new_sessions_committed_during_a_fold_are_written_before_the_batch_away(tmp_path) -> None:
    # The derive loop (derive/worker.py's lanes around a fold): a new session committed while the samples are folded,
    # with the batch of an earlier step away, is written alone right after the fold; it used to be written with
    # that batch, whose write takes 1-3 s under load.
    store = FoldAfterTheFirstStep(str(tmp_path / "vi.duckdb"), stats_fold_s=5)
    events = call(*CALL)
    samples = [e for e in events if is_sample(e)]
    try:
        load_events(store, PROJECT, [e for e in events if not is_sample(e)] + samples[:10])
        load_events(store, PROJECT, [{**other_session()[0], "id": "b-0", "sessionId": "b"}])
        derive_until_clean(store)
        load_events(store, PROJECT, samples[10:])
        load_events(store, PROJECT, [{"id": "b-1", "type": "connectionCreated", "sessionId": "b", "timestamp": T0,
                                      "connectionId": "b-B"}])
        store.absorb_new_events(fold=False)  # "b" waits, and a commit comes: the run's first step folds nothing
        load_events(store, PROJECT, [{"id": "b-2", "type": "connectionDestroyed", "sessionId": "b",
                                      "timestamp": T0 + MIN, "connectionId": "b-B"}])
        store.landing = other_session()
        assert not store.fold_due()
        store.ticking = True
        handled, records = traced_cycle(store, tmp_path, batch=1)
        assert handled == 3
        steps = [r for r in records if r["kind"] == "step"]
        folding = [n for n, s in enumerate(steps) if "absorb_stats" in s["phases"]]
        written = {name: n for n, s in enumerate(steps) for name in s["wrote"]}
        assert folding and folding[0] < written["other"] < written["b"] < written["fold"], steps
        assert steps[written["other"]]["wrote"] == ["other"]
        assert session_quality(store) == (pytest.approx(PATCHY), pytest.approx(BAD), 40)
        assert rows(store, "SELECT count(*) FROM sessions") == [(3,)]
        assert store.dirty_session_count() == 0
    finally:
        store.close()


def test_samples_not_yet_folded_are_folded_after_a_restart_of_a_file_from_before_folds(tmp_path) -> None:
    """A file from before folds has no meta folded_seq (it folded everything it absorbed): an absorb that defers
    samples there records it, or a restart would read it as derived_seq, past samples never folded."""
    path = str(tmp_path / "vi.duckdb")
    store = DuckDBStore(path)
    load_events(store, PROJECT, other_session())
    store.absorb_new_events()  # "other" dirty, not derived
    store.close()
    with duckdb.connect(path) as con:  # as the version before left it
        con.execute("DELETE FROM meta WHERE key = 'folded_seq'")
    store = DuckDBStore(path, stats_fold_s=3600)
    store.absorb_new_events()  # no new commit: a fold with nothing to fold
    load_events(store, PROJECT, call(*CALL))
    store.absorb_new_events()  # "other" waits: the call's samples wait for the next fold
    assert store.folds_deferred() == 1 and count(store, "quality_samples") == 0
    store.close()  # (or a crash)
    store = DuckDBStore(path, stats_fold_s=3600)
    try:
        assert store.undigested_commits() == 1
        derive_until_clean(store)
        assert store.undigested_commits() == 0
        assert session_quality(store) == (pytest.approx(PATCHY), pytest.approx(BAD), 40)
    finally:
        store.close()


def test_the_stats_api_reads_samples_not_yet_folded(tmp_path) -> None:
    """The stats reads take a session's samples by its bounds up to the fold watermark and the newer ones apart: a
    sample absorbed for lifecycle events but not yet folded, outside the session's bounds, is read all the same."""
    events = call(*CALL)
    samples = [e for e in events if is_sample(e)]
    store = DuckDBStore(str(tmp_path / "vi.duckdb"), stats_fold_s=3600)
    try:
        load_events(store, PROJECT, [e for e in events if not is_sample(e)][:3] + samples[:10])
        store.absorb_new_events()  # folded (nothing waited): the bounds end at sample 10, minute 5
        load_events(store, PROJECT, samples[10:])
        load_events(store, PROJECT, other_session())
        store.absorb_new_events()  # the session waits: samples 11-40 (after its bounds) not folded
        assert store.folds_deferred() == 1
        found, totals = reads.publisher_stats(store.reader(), PROJECT, [("fold", "fold-S")],
                                              (T0 - 20 * DAY, T0 + DAY), 0, 100)  # (wide: by bounds)
        assert totals == {("fold", "fold-S"): 40} and len(found) == 40
    finally:
        store.close()
