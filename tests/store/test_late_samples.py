"""Late stats samples parked and absorbed together (store/duckdb/late_samples.py): a sample older than the newest one
absorbed by more than LATE_AFTER_MS waits in quality_late; an absorb with nothing new, or the first after
LATE_EVERY_S, takes the parked ones and marks their sessions dirty, and the session then ends with the scores and
issues of docs/quality.md's worked example (test_quality_api's 20-minute call, by hand), as if nothing had been late."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import create_project
from tests.query.test_quality_api import BAD, GOOD, MIN, PATCHY, call
from tests.support.stores import rows
from tests.support.waiting import wait_until
from tests.web.test_metrics import samples, value
from videoinsights.derive.engine import derive_pending, derive_until_clean
from videoinsights.domain.days import day_start_ms, la_day
from videoinsights.ingest.load import load_events
from videoinsights.store.duckdb.late_samples import LATE_AFTER_MS, LateSamples
from videoinsights.store.duckdb.store import DuckDBStore

PROJECT = "12345678"
T0 = day_start_ms(la_day(int(time.time() * 1000)) - timedelta(days=2)) + 10 * 60 * MIN


def patchy_call() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The call's events but its 10 bad samples (minutes 5:30-10:00), and those: they arrive after minute 20's."""
    events = call("late", T0, 20, range(11, 21))
    bad = [e for e in events if e.get("audioPacketLoss") == 0.05]
    assert len(bad) == 10 and max(e["timestamp"] for e in bad) < T0 + 20 * MIN - LATE_AFTER_MS
    return [e for e in events if e not in bad], bad


def session_quality(store: DuckDBStore) -> tuple[Any, ...]:
    (row,) = rows(store, "SELECT score, score_p10, samples FROM quality_scores WHERE level = 'session'")
    return row


def issues(store: DuckDBStore) -> list[tuple[Any, ...]]:
    return rows(store, "SELECT issue_type, start_ts, end_ts, samples FROM quality_issues "
                       "WHERE entity_kind = 'stream' ORDER BY issue_type")


def parked(store: DuckDBStore) -> int:
    return rows(store, "SELECT count(*) FROM quality_late")[0][0]


def with_late_parked(path: str, on_time: list[dict[str, Any]], late: list[dict[str, Any]]) -> DuckDBStore:
    """A store that derived `on_time`, then absorbed `late`: parked."""
    store = DuckDBStore(path)
    load_events(store, PROJECT, on_time)
    derive_until_clean(store)
    load_events(store, PROJECT, late)
    store.absorb_new_events()
    assert parked(store) == 10
    return store


def test_late_samples_wait_then_count_as_if_on_time(tmp_path) -> None:
    on_time, late = patchy_call()
    store = DuckDBStore(str(tmp_path / "vi.duckdb"))
    try:
        load_events(store, PROJECT, on_time)
        derive_until_clean(store)
        assert session_quality(store) == (pytest.approx(GOOD), pytest.approx(GOOD), 30)
        load_events(store, PROJECT, late)
        derive_pending(store, 100)  # the absorb parks them; the session is derived without them
        assert parked(store) == 10
        assert rows(store, "SELECT count(*) FROM quality_samples") == [(30,)]
        assert session_quality(store) == (pytest.approx(GOOD), pytest.approx(GOOD), 30)
        assert store.dirty_session_count() == 0
        store.absorb_new_events()  # nothing new: the parked samples are taken, their session dirty again
        assert parked(store) == 0 and store.dirty_session_count() == 1
        derive_until_clean(store)
        assert session_quality(store) == (pytest.approx(PATCHY), pytest.approx(BAD), 40)
        start, end = T0 + 5 * MIN, T0 + 10 * MIN  # the issue windows of the worked example
        assert issues(store) == [("high_packet_loss", start, end, 10), ("high_rtt", start, end, 10)]
    finally:
        store.close()


def test_parked_samples_are_taken_with_new_commits_once_due(tmp_path) -> None:
    on_time, late = patchy_call()
    store = with_late_parked(str(tmp_path / "vi.duckdb"), on_time[:-4], late)  # all but the four endings on time
    try:
        store._late.every_s = 0  # due at the next absorb, which has a commit to absorb too
        load_events(store, PROJECT, on_time[-4:])
        store.absorb_new_events()
        assert parked(store) == 0 and rows(store, "SELECT count(*) FROM quality_samples") == [(40,)]
        derive_until_clean(store)
        assert session_quality(store) == (pytest.approx(PATCHY), pytest.approx(BAD), 40)
    finally:
        store.close()


def test_parked_samples_outlive_a_restart(tmp_path) -> None:
    """They are in the file (acknowledged data is never lost): the reopened store takes them when idle."""
    on_time, late = patchy_call()
    path = str(tmp_path / "vi.duckdb")
    with_late_parked(path, on_time, late).close()
    store = DuckDBStore(path)
    try:
        derive_until_clean(store)
        assert parked(store) == 0
        assert session_quality(store) == (pytest.approx(PATCHY), pytest.approx(BAD), 40)
    finally:
        store.close()


def test_a_rebuild_scores_the_parked_samples_with_the_others(tmp_path) -> None:
    on_time, late = patchy_call()
    store = with_late_parked(str(tmp_path / "vi.duckdb"), on_time, late)
    try:
        store.clear_derived()
        assert parked(store) == 0 and rows(store, "SELECT count(*) FROM quality_samples") == [(40,)]
        store.mark_all_dirty()
        derive_until_clean(store)
        assert session_quality(store) == (pytest.approx(PATCHY), pytest.approx(BAD), 40)
    finally:
        store.close()


def test_a_server_parks_them_counts_them_and_scores_them_when_idle(tmp_path, server_factory) -> None:
    """Over HTTP: the derive thread's absorb parks the late samples, /metrics counts them, and once nothing else comes
    the session has the worked example's score."""
    on_time, late = patchy_call()
    creds = create_project(tmp_path / "vi.duckdb")
    server = server_factory()
    for events in (on_time, late):
        assert httpx.post(f"{server.url}/v1/events", json=events, headers=creds.headers()).json()["accepted"] == len(
            events)
        server.wait_derived()
    assert value(samples(server), "videoinsights_quality_late_samples_total") == 10
    query = {"query": f"""{{ project(projectId: {creds.project_id}) {{ sessionData {{ sessions(sessionIds: ["late"])
              {{ resources {{ quality {{ score scoreP10 samples }} }} }} }} }} }}"""}

    def quality() -> dict[str, Any]:
        body = httpx.post(f"{server.url}/graphql", json=query, headers=creds.headers()).json()
        return body["data"]["project"]["sessionData"]["sessions"]["resources"][0]["quality"]

    # (the idle absorb that takes them runs within derive_interval_ms of the last step)
    wait_until(lambda: quality()["samples"] == 40, 20, "the parked samples were never scored", 0.1)
    assert quality() == {"score": pytest.approx(PATCHY), "scoreP10": pytest.approx(BAD), "samples": 40}


def test_a_sample_from_the_future_does_not_make_the_others_late() -> None:
    """A client clock ahead by up to max_future_skew_s: the newest sample counts as now, not as its own ts."""
    now_s = 1_800_000_000.0
    late = LateSamples(wall=lambda: now_s)
    late.committed(int(now_s * 1000) - 10_000, 0, False)
    assert late.park_before() == int(now_s * 1000) - 10_000 - LATE_AFTER_MS
    late.committed(int(now_s * 1000) + 290_000, 0, False)  # 290 s ahead
    assert late.park_before() == int(now_s * 1000) - LATE_AFTER_MS
