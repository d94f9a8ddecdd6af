"""Sample quality left by derive steps to a pass of its own (setting quality_pass_s, store/duckdb/quality_pass.py):
a step writes a session with the quality of its last scoring and records it in quality_owed; the pass scores it from
its rows as they stand then, and a store restarted in between still owes it. Scores by hand:
tests/query/test_quality_api.py (GOOD: RTT 50 ms and no loss; BAD: RTT 300 ms and 5% loss)."""

from __future__ import annotations

import pytest

from tests.query.test_quality_api import BAD, GOOD, call
from tests.store.test_incremental_equals_rebuild import assert_same_rows, snapshot
from tests.store.test_quality_refresh import measures
from tests.store.test_quality_sql import T0, issues, scores
from tests.support.stores import rows
from videoinsights.alerts.evaluate import ended_meetings
from videoinsights.alerts.rules import Rule
from videoinsights.derive.engine import derive_all, derive_pending, score_owed
from videoinsights.derive.quality import QualityThresholds
from videoinsights.ingest.load import load_events
from videoinsights.store.duckdb.quality_pass import QualityPasses
from videoinsights.store.duckdb.store import DuckDBStore

PROJECT = "12345678"


def owed(store: DuckDBStore) -> list[tuple[str, str]]:
    return [tuple(r) for r in rows(store, "SELECT project_id, session_id FROM quality_owed ORDER BY ALL")]


def test_a_step_leaves_scoring_to_the_pass_which_scores_from_the_rows_as_they_stand(tmp_path) -> None:
    # A publishes S (B subscribes); samples every 30 s: 1 and 2 good, 3 and 4 bad; all four participants leave at 2 min.
    events = call("live", T0, 2, range(3, 5))
    samples = [e for e in events if e["type"] == "publisherStats"]
    creations = events[:4]
    path = str(tmp_path / "vi.duckdb")
    store = DuckDBStore(path, quality_pass_s=3600)  # (a pass only when asked, or idle)
    load_events(store, PROJECT, [*creations, *samples[:2]])
    assert derive_pending(store, 10) == (1, 0)

    # derived, not scored: owed, counted as waiting, and no pass on the timer yet
    assert rows(store, "SELECT count(*) FROM connections WHERE session_id = 'live'") == [(2,)]
    assert scores(store, "live") == {} and issues(store, "live") == []
    assert owed(store) == [(PROJECT, "live")]
    assert store.dirty_sessions(10) == [] and store.dirty_session_count() == 1
    assert not store.quality_pass_due() and store.quality_pass_due(idle=True)

    store.close()  # what a step owes survives a restart
    store = DuckDBStore(path, quality_pass_s=3600)
    assert store.quality_pass_due(idle=True)
    assert score_owed(store) == 1
    assert scores(store, "live")[("session", "live")][2:5] == (2, 60_000, pytest.approx(GOOD))
    assert measures(store) == (60_000, 60_000)  # projectData's scored ms: the session's rows and the daily rollup
    assert owed(store) == [] and store.dirty_session_count() == 0 and store.quality_passed() == 1
    assert not store.quality_pass_due(idle=True)

    # The bad samples and the departures: the step keeps the first scoring, measures included, and owes it again.
    load_events(store, PROJECT, [*samples[2:], *events[-4:]])
    assert derive_pending(store, 10) == (1, 0)
    assert rows(store, "SELECT count(*) FROM connections WHERE session_id = 'live' AND destroyed_at IS NOT NULL") == [
        (2,)]
    assert scores(store, "live")[("session", "live")][2:5] == (2, 60_000, pytest.approx(GOOD))
    assert measures(store) == (60_000, 60_000)
    assert owed(store) == [(PROJECT, "live")]

    assert score_owed(store) == 1
    assert scores(store, "live")[("session", "live")][2:5] == (4, 120_000, pytest.approx((GOOD + BAD) / 2))
    assert measures(store) == (120_000, 120_000)
    assert [i[0] for i in issues(store, "live")] == ["high_packet_loss", "high_rtt"]
    assert score_owed(store) == 0  # nothing owed: nothing done
    store.refresh_months()  # (as derive_until_clean ends, and a rebuild with it)
    incremental = snapshot(store)
    derive_all(store)  # (a rebuild scores in passes too, here, at its end)
    assert owed(store) == []
    assert_same_rows(snapshot(store), incremental)
    store.close()


def test_a_row_only_the_old_measures_made_goes(tmp_path) -> None:
    """S is published before its connection A is known: its two samples count on an endpoint-day row with no
    dimensions (derive/endpoints.py). Once A arrives (SDK JS) they count on A's row, and the row without dimensions,
    which only they made, must go, as a rebuild never writes it."""
    def event(n: int, kind: str, at_s: int, **fields: object) -> dict[str, object]:
        return {"id": f"e{n}", "type": kind, "sessionId": "late-conn", "timestamp": T0 + at_s * 1000, **fields}

    stream = [event(0, "streamCreated", 0, streamId="S", connectionId="A", hasAudio=True, hasVideo=False),
              *(event(k, "publisherStats", 30 * k, streamId="S", roundTripMs=50.0, audioPacketLoss=0.0)
                for k in (1, 2))]
    store = DuckDBStore(str(tmp_path / "vi.duckdb"), quality_pass_s=3600)

    def endpoint_rows() -> list[tuple[object, ...]]:
        return rows(store, "SELECT sdk_type, pub_scored_ms, published_minutes > 0 FROM session_endpoint_days "
                           "WHERE session_id = 'late-conn' ORDER BY ALL")

    load_events(store, PROJECT, stream)
    assert derive_pending(store, 10) == (1, 0) and score_owed(store) == 1
    assert endpoint_rows() == [(None, 60_000, True)]
    load_events(store, PROJECT, [event(3, "connectionCreated", -1, connectionId="A", sdkType="JS")])
    assert derive_pending(store, 10) == (1, 0)
    assert endpoint_rows() == [("JS", 0, True), (None, 60_000, False)]  # the step kept the measures where they were
    assert score_owed(store) == 1
    assert endpoint_rows() == [("JS", 60_000, True)]
    store.refresh_months()
    incremental = snapshot(store)
    derive_all(store)
    assert_same_rows(snapshot(store), incremental)
    store.close()


def test_a_pass_takes_at_most_its_limit_and_says_when_more_are_owed(tmp_path) -> None:
    store = DuckDBStore(str(tmp_path / "vi.duckdb"), quality_pass_s=3600)
    load_events(store, PROJECT, [e for s in ("a", "b", "c") for e in call(s, T0, 1, range(0))])
    assert derive_pending(store, 10) == (3, 0)
    assert len(owed(store)) == 3
    assert store.score_owed(QualityThresholds(), limit=2) == 2  # (in session order: a and b)
    assert owed(store) == [(PROJECT, "c")] and store.quality_pass_due(idle=True)
    assert scores(store, "b")[("session", "b")][2:5] == (2, 60_000, pytest.approx(GOOD))
    assert store.score_owed(None) == 1 and owed(store) == []  # scoring off: owed sessions are only forgotten
    assert scores(store, "c") == {} and not store.quality_pass_due(idle=True)
    store.close()


def test_a_meeting_is_announced_once_its_session_is_scored(tmp_path) -> None:
    store = DuckDBStore(str(tmp_path / "vi.duckdb"), quality_pass_s=3600)
    events = call("ended", T0, 2, range(0))
    load_events(store, PROJECT, events)
    assert derive_pending(store, 10) == (1, 0)
    cur = store.reader()
    store.sql.alerts.insert_rule(cur, ("r-ended", PROJECT, "meeting_ended", [], [], [], 3600, 1.0, "above", 60,
                                       "https://hook.example/x", "whsec", T0 - 60_000, "ok", T0 - 60_000, None, None))
    rules = [Rule.from_row(r) for r in store.sql.alerts.all_rules(cur)]
    now = T0 + 10 * 60_000
    assert ended_meetings(store, rules, now) == []  # its session waits for a pass
    score_owed(store)
    announced = ended_meetings(store, rules, now)
    assert [t.meeting["sessionId"] for t in announced] == ["ended"]
    assert announced[0].meeting["quality"]["score"] == pytest.approx(GOOD)
    store.close()


def test_the_clock_runs_a_pass_every_interval_while_sessions_are_owed() -> None:
    now = [100.0]
    passes = QualityPasses(5, lambda: now[0])
    assert passes.on and not passes.due() and passes.due(idle=True)  # at start the table may hold some
    passes.passed(3, more=False)
    now[0] = 200.0
    assert not passes.due() and not passes.due(idle=True)  # none owed
    passes.owed()
    assert passes.due()  # 100 s since the last
    passes.passed(1, more=True)
    assert not passes.due() and passes.due(idle=True)
    now[0] = 205.0
    assert passes.due() and passes.scored == 4
    off = QualityPasses(0, lambda: now[0])  # passes off: only sessions owed from before, when idle
    assert not off.on and not off.due() and off.due(idle=True)
    off.passed(0, more=False)
    assert not off.due(idle=True)
