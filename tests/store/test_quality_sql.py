"""Quality as the store computes it (store/duckdb/quality.py: samples scored when absorbed, rolled up and
checked in SQL at re-derivation), through a real DuckDB file: docs/quality.md's worked example by hand,
samples arriving late (weights and runs follow), and every row equal to the Python reference
(derive/quality.py) on a simulated day."""

from __future__ import annotations

import hashlib
import time
from collections import defaultdict
from datetime import timedelta
from typing import Any

import duckdb
import pytest

from tests.query.test_quality_api import BAD, GOOD, PATCHY, call
from tests.support import duckdb_file
from videoinsights.derive.engine import derive_until_clean
from videoinsights.derive.inputs import events_by_session, stats_by_session
from videoinsights.derive.model import DIMENSIONS
from videoinsights.derive.quality import QualityThresholds, derive_quality
from videoinsights.domain.days import day_start_ms, la_day
from videoinsights.domain.scoring import ISSUE_COLUMNS, SCORE_COLUMNS
from videoinsights.ingest.load import load_events
from videoinsights.simulate.generator import generate
from videoinsights.store.duckdb.quality import EKEY
from videoinsights.store.duckdb.store import DuckDBStore

PROJECT = "12345678"
HOUR = 3_600_000
T0 = day_start_ms(la_day(int(time.time() * 1000)) - timedelta(days=2)) + 10 * HOUR


def scores(store: DuckDBStore, session: str) -> dict[tuple[str, str], tuple[Any, ...]]:
    rows = store.reader().execute(
        "SELECT level, entity_id, meeting_index, connection_id, samples, scored_ms, score, score_p10 "
        "FROM quality_scores WHERE session_id = ?", [session]).fetchall()
    return {(r[0], r[1]): r[2:] for r in rows}


def issues(store: DuckDBStore, session: str) -> list[tuple[Any, ...]]:
    return store.reader().execute(
        "SELECT issue_type, entity_id, connection_id, start_ts, end_ts, metric, value, samples FROM quality_issues "
        "WHERE session_id = ? ORDER BY issue_type, start_ts", [session]).fetchall()


def test_bad_patch_call_by_hand(tmp_path) -> None:
    store = DuckDBStore(str(tmp_path / "vi.duckdb"))
    load_events(store, PROJECT, call("patchy", T0, 20, range(11, 21)))
    derive_until_clean(store)
    by_level = scores(store, "patchy")
    assert set(by_level) == {("stream", "patchy-S"), ("connection", "patchy-A"), ("meeting", "0"),
                             ("session", "patchy")}
    for (level, _), (meeting_index, _, samples, scored_ms, score, p10) in by_level.items():
        assert (meeting_index, samples, scored_ms) == (None if level == "session" else 0, 40, 1_200_000)
        assert score == pytest.approx(PATCHY, abs=1e-9)
        assert p10 == pytest.approx(BAD, abs=1e-9)
    assert by_level[("stream", "patchy-S")][1] == "patchy-A"
    assert by_level[("session", "patchy")][1] is None
    five, ten = T0 + 5 * 60_000, T0 + 10 * 60_000
    assert issues(store, "patchy") == [
        ("high_packet_loss", "patchy-S", "patchy-A", five, ten, "packetLoss", 0.05, 10),
        ("high_rtt", "patchy-S", "patchy-A", five, ten, "roundTripMs", 300.0, 10),
    ]
    # projectData measures: 40 publisher samples of 30 s on A's endpoint, the two issues
    row = store.reader().execute(
        "SELECT sum(pub_score_ms), sum(pub_scored_ms), sum(sub_scored_ms), sum(issues_high_rtt), "
        "sum(issues_high_packet_loss) FROM session_endpoint_days WHERE session_id = 'patchy'").fetchone()
    assert row[0] == pytest.approx(1_200_000 * PATCHY)
    assert row[1:] == (1_200_000, 0, 1, 1)
    store.close()


def stats(session: str, seconds: int, rtt: float) -> dict[str, Any]:
    return {"id": f"{session}-s{seconds}", "type": "publisherStats", "sessionId": session,
            "timestamp": T0 + seconds * 1000, "streamId": f"{session}-S", "roundTripMs": rtt, "audioPacketLoss": 0.0}


def lifecycle(session: str, minutes: int = 2) -> list[dict[str, Any]]:
    """A publishes S from 0 to `minutes`, B subscribes: samples come separately."""
    return [event for event in call(session, T0, minutes, range(0)) if event["type"] != "publisherStats"]


def test_a_late_sample_shortens_its_successor_and_breaks_a_run(tmp_path) -> None:
    # Samples at 0:30 and 1:00 with RTT 300 (a 2-sample run, 30 s each); then the 0:45 sample arrives late with
    # RTT 50: it weighs 15 s, the 1:00 sample now weighs 15 s (it follows 0:45), and the run is broken.
    store = DuckDBStore(str(tmp_path / "vi.duckdb"))
    load_events(store, PROJECT, [*lifecycle("late"), stats("late", 30, 300.0), stats("late", 60, 300.0)])
    derive_until_clean(store)
    bad = 1 + 0.035 * 89.6 + 7e-6 * 89.6 * 29.6 * 10.4  # RTT 300: d = 150 ms, Id = 3.6, R = 89.6
    stream = scores(store, "late")[("stream", "late-S")]
    assert stream[2:] == (2, 60_000, pytest.approx(bad), pytest.approx(bad))
    assert issues(store, "late") == [("high_rtt", "late-S", "late-A", T0, T0 + 60_000, "roundTripMs", 300.0, 2)]

    load_events(store, PROJECT, [stats("late", 45, 50.0)])
    derive_until_clean(store)
    stream = scores(store, "late")[("stream", "late-S")]
    # weights 30 s (bad), 15 s (good), 15 s (bad): 10% of 60 s is reached by the first bad sample
    assert stream[2:] == (3, 60_000, pytest.approx((45 * bad + 15 * GOOD) / 60), pytest.approx(bad))
    assert issues(store, "late") == []
    store.close()


# RTT by second of a 10-minute call (store/duckdb/quality_runs.py keeps the runs at absorb): 300 and more offend
# (high_rtt), 50 does not; 240 -> 330 is more than 60 s apart (no link), 180 -> 240 exactly 60 s (a link).
RTTS = {30: 300.0, 60: 310.0, 90: 305.0, 105: 50.0, 120: 320.0, 150: 300.0, 180: 330.0, 240: 300.0,
        330: 400.0, 360: 300.0}
# By hand: runs 30-90 (the 30 s sample weighs 30 s: from 0), 120-240 (120 follows 105, 15 s: from 105) and 330-360
# (330 has no previous sample within 60 s: 30 s, from 300); value = the run's highest RTT.
RUNS_BY_HAND = [("high_rtt", "runs-S", "runs-A", T0, T0 + 90_000, "roundTripMs", 310.0, 3),
                ("high_rtt", "runs-S", "runs-A", T0 + 105_000, T0 + 240_000, "roundTripMs", 330.0, 4),
                ("high_rtt", "runs-S", "runs-A", T0 + 300_000, T0 + 360_000, "roundTripMs", 400.0, 2)]


def all_runs_at_once() -> list[dict[str, Any]]:
    """The "runs" call with every sample of RTTS, as one commit."""
    return lifecycle("runs", 10) + [stats("runs", t, rtt) for t, rtt in RTTS.items()]


def test_runs_kept_at_absorb_follow_late_samples_that_join_split_and_extend_them(tmp_path) -> None:
    store = DuckDBStore(str(tmp_path / "vi.duckdb"))
    load_events(store, PROJECT, lifecycle("runs", 10))
    arrivals = [
        [30, 90, 180],  # runs 30-90 (60 s apart: linked) and 180 alone
        [60, 150],  # 60 lands inside the run 30-90; 150 joins it to 180: one run 30-180
        [105, 240],  # 105 does not offend: splits it (30-90, 150-180); 240 extends 150-180
        [120],  # before 150, after 105: the run 150-240 starts earlier, its first sample weighing 15 s
        [360, 180],  # 180 again (a duplicate, ignored)
        [330],  # before 360, more than 60 s after 240
    ]
    for k, batch in enumerate(arrivals):
        load_events(store, PROJECT, [stats("runs", t, RTTS[t]) for t in batch])
        derive_until_clean(store)
        if k == 1:
            assert issues(store, "runs") == [
                ("high_rtt", "runs-S", "runs-A", T0, T0 + 180_000, "roundTripMs", 330.0, 5)]
    assert issues(store, "runs") == RUNS_BY_HAND  # as all at once (the next test starts with that)
    store.close()


def test_a_late_sample_inside_one_checks_run_leaves_the_other_checks_runs_as_they_were(tmp_path) -> None:
    # RTT 300 at 0:30, 1:00, 1:30 and 2:30 (all linked: at most 60 s apart), packet loss 10% at 0:30 and 1:00 only
    store = DuckDBStore(str(tmp_path / "vi.duckdb"))
    lossy = {30: 0.1, 60: 0.1}
    load_events(store, PROJECT, [*lifecycle("two", 10), *(lossy_stats("two", t, lossy.get(t, 0.0))
                                                           for t in (30, 60, 90, 150))])
    derive_until_clean(store)
    rtt_run = ("high_rtt", "two-S", "two-A", T0, T0 + 150_000, "roundTripMs", 300.0, 4)
    loss_run = ("high_packet_loss", "two-S", "two-A", T0, T0 + 60_000, "packetLoss", 0.1, 2)
    assert issues(store, "two") == [loss_run, rtt_run]
    # 2:00 arrives late inside the RTT run (the run is found again from 0:30); the loss run ended before it, and
    # stays one run of 2 samples
    load_events(store, PROJECT, [lossy_stats("two", 120, 0.0)])
    derive_until_clean(store)
    rtt_run = (*rtt_run[:-1], 5)
    assert issues(store, "two") == [loss_run, rtt_run]
    # a second sample at 2:30 (another event at the same millisecond, after the stored one by event id): the RTT
    # run ending exactly there is found again, now 6 samples, still one run
    load_events(store, PROJECT, [{**lossy_stats("two", 150, 0.0), "id": "two-s150-b", "roundTripMs": 320.0}])
    derive_until_clean(store)
    assert issues(store, "two") == [loss_run, (*rtt_run[:-2], 320.0, 6)]
    store.close()


def lossy_stats(session: str, seconds: int, loss: float) -> dict[str, Any]:
    """stats() with RTT 300 and this audio packet loss."""
    return {**stats(session, seconds, 300.0), "audioPacketLoss": loss}


def test_other_thresholds_find_the_runs_again(tmp_path) -> None:
    store = DuckDBStore(str(tmp_path / "vi.duckdb"))
    load_events(store, PROJECT, all_runs_at_once())
    derive_until_clean(store)
    assert issues(store, "runs") == RUNS_BY_HAND
    # RTT 306 and more: only 60, 120, 180 and 330 offend, none right after another offending sample
    store.mark_all_dirty()
    derive_until_clean(store, quality=QualityThresholds(rtt_ms=306.0))
    assert issues(store, "runs") == []
    # RTT 305 and more: 60 and 90 form a run (60 follows 30: weighs 30 s, from 0:30)
    store.mark_all_dirty()
    derive_until_clean(store, quality=QualityThresholds(rtt_ms=305.0))
    assert issues(store, "runs") == [("high_rtt", "runs-S", "runs-A", T0 + 30_000, T0 + 90_000, "roundTripMs",
                                      310.0, 2)]
    store.close()
    # the thresholds the runs were found with are kept with them: a new sample after reopening extends the
    # runs of RTT 305 (the 390 s sample follows 360's, which does not offend: a run of 1, no issue)
    store = DuckDBStore(str(tmp_path / "vi.duckdb"))
    load_events(store, PROJECT, [stats("runs", 390, 500.0)])
    derive_until_clean(store, quality=QualityThresholds(rtt_ms=305.0))
    assert issues(store, "runs") == [("high_rtt", "runs-S", "runs-A", T0 + 30_000, T0 + 90_000, "roundTripMs",
                                      310.0, 2)]
    store.mark_all_dirty()
    derive_until_clean(store)
    assert issues(store, "runs") == [*RUNS_BY_HAND[:2], ("high_rtt", "runs-S", "runs-A", T0 + 300_000,
                                                          T0 + 390_000, "roundTripMs", 500.0, 3)]
    store.close()


def test_entity_keys_are_md5_number_lower_as_stored_by_earlier_versions() -> None:
    # the stored entity keys were md5_number_lower's: the faster expression must give the same numbers
    con = duckdb.connect()
    con.execute("CREATE TABLE e (project_id VARCHAR, session_id VARCHAR, side VARCHAR, entity_id VARCHAR)")
    con.execute("INSERT INTO e SELECT '12345678', '2_MX4xMjM0NTY3OH5-' || i, CASE WHEN i % 2 = 0 THEN 'pub' "
                "ELSE 'sub' END, CASE i % 4 WHEN 0 THEN '' WHEN 1 THEN 'strëam-é' || i ELSE repeat('x', i) END "
                "FROM range(5000) r(i)")
    expected = "md5_number_lower(concat_ws(chr(31), project_id, session_id, side, entity_id))"
    assert con.execute(f"SELECT count(*) FILTER (WHERE {EKEY} = {expected}), count(DISTINCT {EKEY}) FROM e"
                       ).fetchall() == [(5000, 5000)]
    # (by hand: the MD5 digest's last 8 bytes, little-endian)
    assert con.execute(f"SELECT {EKEY} FROM (SELECT 'p' AS project_id, 's' AS session_id, 'pub' AS side, "
                       "'S' AS entity_id)").fetchall() == [(
        int.from_bytes(hashlib.md5(b"p\x1fs\x1fpub\x1fS").digest()[8:], "little"),)]


def test_store_rows_equal_the_python_reference_on_a_simulated_day(tmp_path) -> None:
    store = DuckDBStore(str(tmp_path / "vi.duckdb"))
    events = list(generate(PROJECT, T0 - 10 * HOUR, 1, 6, seed=5))
    # two deliveries: every other event first, so that many samples arrive after their successors
    load_events(store, PROJECT, events[1::2])
    derive_until_clean(store)
    load_events(store, PROJECT, events[0::2])
    derive_until_clean(store)
    cur = store.reader()
    keys = [(p, s) for p, s in cur.execute("SELECT project_id, session_id FROM sessions ORDER BY ALL").fetchall()]
    assert len(keys) >= 4
    lifecycle = events_by_session(store.load_session_event_table(keys), keys)
    aggregates = stats_by_session(store.load_stats_table(keys), keys)
    raw: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in cur.sql("SELECT * FROM stats_samples").to_arrow_table().to_pylist():
        raw[(row["project_id"], row["session_id"])].append(row)
    expected_scores, expected_issues = [], []
    expected_parts: dict[tuple[Any, ...], float] = defaultdict(float)
    for key in keys:
        q = derive_quality(*key, lifecycle[key], aggregates[key], raw[key])
        expected_scores += [tuple(vars(r).values()) for r in q.scores]
        expected_issues += [tuple(vars(r).values()) for r in q.issues]
        for day, dims, column, value in q.endpoint_parts:
            expected_parts[(key[1], day, dims, column)] += value
    stored_scores = cur.execute(
        "SELECT project_id, session_id, level, entity_id, meeting_index, connection_id, samples, scored_ms, score, "
        "score_p10 FROM quality_scores").fetchall()
    stored_issues = cur.execute("SELECT * EXCLUDE (write_seq) FROM quality_issues").fetchall()
    assert_same_rows(stored_scores, expected_scores)
    assert_same_rows(stored_issues, expected_issues)
    assert len(expected_issues) > 20 and {r[3] for r in expected_issues} >= {"high_jitter", "high_packet_loss"}
    measures = (*SCORE_COLUMNS, *ISSUE_COLUMNS)
    stored_parts: dict[tuple[Any, ...], float] = defaultdict(float)
    for row in cur.execute(f"SELECT session_id, day, {', '.join(DIMENSIONS)}, {', '.join(measures)} "
                           "FROM session_endpoint_days").fetchall():
        for column, value in zip(measures, row[2 + len(DIMENSIONS):], strict=True):
            if value:
                stored_parts[(row[0], row[1], tuple(row[2:2 + len(DIMENSIONS)]), column)] += value
    assert set(stored_parts) == set(expected_parts)
    for part, value in expected_parts.items():
        assert stored_parts[part] == pytest.approx(value, rel=1e-9), part
    store.close()


def assert_same_rows(stored: list[tuple[Any, ...]], expected: list[tuple[Any, ...]]) -> None:
    """The same rows, floats to 1e-9 relative: the store sums in another order than Python (the last bits differ)."""
    def key(row: tuple[Any, ...]) -> str:
        return repr(tuple(v for v in row if not isinstance(v, float)))

    assert len(stored) == len(expected)
    for got, want in zip(sorted(stored, key=key), sorted(expected, key=key), strict=True):
        assert len(got) == len(want), (got, want)
        for a, b in zip(got, want, strict=True):
            assert a == (pytest.approx(b, rel=1e-9) if isinstance(b, float) else b), (got, want)


def test_a_version_5_file_gets_its_samples_scored_when_opened(tmp_path) -> None:
    path = str(tmp_path / "vi.duckdb")
    store = DuckDBStore(path)
    load_events(store, PROJECT, call("patchy", T0, 20, range(11, 21)))
    store.absorb_new_events()
    store.close()
    duckdb_file.as_single_file(path)  # as version 5 left it: one file, no scored samples
    con = duckdb.connect(path)
    con.execute("DROP TABLE quality_samples")
    con.execute("DROP TABLE quality_buckets")
    con.execute("UPDATE meta SET value = '5' WHERE key = 'schema_version'")
    con.close()
    store = DuckDBStore(path)
    assert store.reader().execute("SELECT count(*), count(score) FROM quality_samples").fetchone() == (40, 40)
    derive_until_clean(store)
    assert scores(store, "patchy")[("session", "patchy")][4:] == (pytest.approx(PATCHY), pytest.approx(BAD))
    store.close()


def test_a_version_7_file_gets_its_runs_found_when_opened(tmp_path) -> None:
    path = str(tmp_path / "vi.duckdb")
    store = DuckDBStore(path)
    load_events(store, PROJECT, call("patchy", T0, 20, range(11, 21)))
    store.absorb_new_events()
    store.close()
    duckdb_file.as_single_file(path)  # as version 7 left it: one file, samples scored, no runs
    con = duckdb.connect(path)
    con.execute("DROP TABLE quality_runs")
    con.execute("DELETE FROM meta WHERE key = 'quality_run_thresholds'")
    con.execute("UPDATE meta SET value = '7' WHERE key = 'schema_version'")
    con.close()
    store = DuckDBStore(path)
    # the 10 bad samples: one run of each of their two checks
    assert store.reader().execute("SELECT chk, samples FROM quality_runs ORDER BY chk").fetchall() == [(0, 10), (1, 10)]
    derive_until_clean(store)
    five, ten = T0 + 5 * 60_000, T0 + 10 * 60_000
    assert issues(store, "patchy") == [
        ("high_packet_loss", "patchy-S", "patchy-A", five, ten, "packetLoss", 0.05, 10),
        ("high_rtt", "patchy-S", "patchy-A", five, ten, "roundTripMs", 300.0, 10),
    ]
    store.close()


def test_runs_of_samples_at_the_same_ms_follow_the_event_id_order(tmp_path) -> None:
    # Sorted by (ts, event id): 30 s (RTT 300), then at 60 s a (310), b (50) and c (320), then 90 s (300). 60a follows
    # 30 (a run from 0 to 60 s); 60c follows the good 60b: a second run from 60 s (60c weighs 0 ms) to 90 s.
    def sample(seconds: int, suffix: str, rtt: float) -> dict[str, Any]:
        return {**stats("ties", seconds, rtt), "id": f"ties-{seconds}{suffix}"}

    lifecycle_events = lifecycle("ties", 10)
    later = [sample(60, "a", 310.0), sample(60, "b", 50.0), sample(60, "c", 320.0), sample(90, "", 300.0)]
    by_hand = [("high_rtt", "ties-S", "ties-A", T0, T0 + 60_000, "roundTripMs", 310.0, 2),
               ("high_rtt", "ties-S", "ties-A", T0 + 60_000, T0 + 90_000, "roundTripMs", 320.0, 2)]
    store = DuckDBStore(str(tmp_path / "vi.duckdb"))
    load_events(store, PROJECT, [*lifecycle_events, sample(30, "", 300.0)])
    derive_until_clean(store)  # the run of 30 s is stored; 60a continues it, 60c starts another at the same ms
    load_events(store, PROJECT, later)
    derive_until_clean(store)
    assert issues(store, "ties") == by_hand
    store.close()
    store = DuckDBStore(str(tmp_path / "once.duckdb"))
    load_events(store, PROJECT, [*lifecycle_events, sample(30, "", 300.0), *later])
    derive_until_clean(store)
    assert issues(store, "ties") == by_hand
    store.close()


def frame_rate_samples(fps_at: dict[int, float], start: int) -> list[dict[str, Any]]:
    """A publisher, its stream and samples (second offset -> frame rate). Without a resolution, loss or freezes a
    sample scores 1 + 4 x min(1, fps / 24) (docs/quality.md): 24 fps 5.0, 12 fps 3.0, 6 fps 2.0."""
    base = {"sessionId": "settled", "connectionId": "u1"}
    return [{"id": "c", "type": "connectionCreated", "timestamp": start, **base},
            {"id": "st", "type": "streamCreated", "timestamp": start, "streamId": "st1", **base},
            *({"id": f"q{s}", "type": "publisherStats", "sessionId": "settled", "streamId": "st1",
               "timestamp": start + s * 1000, "videoBitrateKbps": 500.0, "frameRate": fps}
              for s, fps in fps_at.items())]


A_FPS, B_FPS = 12.006, 12.054  # scores 3.001 and 3.009: one 0.01 band (1 + 4 x fps / 24)


def session_score(store: DuckDBStore) -> tuple[Any, ...]:
    return scores(store, "settled")[("session", "settled")][2:]  # samples, scored_ms, score, score_p10


def test_a_late_sample_changes_the_weight_of_a_settled_one(tmp_path) -> None:
    """The 10th percentile reads the samples up to 120 s before the newest from their settled parts
    (quality_settled), the later ones from quality_samples. 20 samples 30 s apart, 600 s of weight (the newest at
    570 s settles 0-450 s): 2.0 at 30 s, A = 3.001 at 90 s, B = 3.009 at 150 s, 5.0 elsewhere. 2.0 and A reach 10%
    together (60 of 600 s): the p10 is A. A sample arriving late at 80 s (5.0, weight 20 s) cuts A's weight to 10 s:
    2.0 and A weigh 40 s, B brings 70: the p10 is B, only if A's settled weight follows."""
    store = DuckDBStore(str(tmp_path / "vi.duckdb"))
    try:
        fps = {k * 30: 24.0 for k in range(20)} | {30: 6.0, 90: A_FPS, 150: B_FPS}
        load_events(store, PROJECT, frame_rate_samples(fps, T0))
        derive_until_clean(store)
        assert store.reader().execute("SELECT sum(len(band)) FROM quality_settled").fetchone() == (16,)
        mean = (17 * 5.0 * 30 + 2.0 * 30 + 3.001 * 30 + 3.009 * 30) / 600
        assert session_score(store) == (20, 600_000, pytest.approx(mean), pytest.approx(3.001))
        load_events(store, PROJECT, [{**frame_rate_samples({80: 24.0}, T0)[2], "id": "late"}])
        derive_until_clean(store)
        mean = (5.0 * (17 * 30 + 20) + 2.0 * 30 + 3.001 * 10 + 3.009 * 30) / 600
        assert session_score(store) == (21, 600_000, pytest.approx(mean), pytest.approx(3.009))
    finally:
        store.close()


def test_the_sample_at_the_settle_horizon_counts_once(tmp_path) -> None:
    """Samples 30 s apart from 0 to 570 s and one more at 430 s (the newest at 570 s settles 0-450 s): 2.0 at 90 s
    (30 s), A = 3.001 at 450 s (20 s: the sample at 430 s before it), B = 3.009 at 300 s (30 s), 5.0 elsewhere; 600 s
    in all. 2.0 and A weigh 50 s, under 10%; B brings 80: the p10 is B. A counted twice (settled, and read again
    after the horizon) would make it A."""
    store = DuckDBStore(str(tmp_path / "vi.duckdb"))
    try:
        fps = {k * 30: 24.0 for k in range(20)} | {430: 24.0, 90: 6.0, 450: A_FPS, 300: B_FPS}
        load_events(store, PROJECT, frame_rate_samples(fps, T0))
        derive_until_clean(store)
        assert store.reader().execute("SELECT sum(len(band)) FROM quality_settled").fetchone() == (17,)
        assert session_score(store)[3] == pytest.approx(3.009)
    finally:
        store.close()
