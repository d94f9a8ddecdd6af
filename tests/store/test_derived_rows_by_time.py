"""A derive step finds a session's old derived rows by session key and a time bound (store/duckdb/schema.py,
rows_of_keys: none of its rows is older than its first raw event), so that it skips other sessions' older rows.
An event older than everything the session had (a late one, two LA days earlier) must still replace all of its
rows: the result equals a rebuild from the raw events."""

from __future__ import annotations

from datetime import date, timedelta

from tests.store.test_incremental_equals_rebuild import assert_same_rows, snapshot
from tests.support.stores import open_store, rows
from videoinsights.derive.engine import derive_all, derive_until_clean
from videoinsights.domain.days import day_start_ms
from videoinsights.ingest.load import load_events

PROJECT = "1"
DAY = date(2026, 11, 20)
MINUTE = 60_000


def call(session: str, connection: str, start: int, minutes: int) -> list[dict]:
    """One participant publishing for `minutes`, with a stats sample after 30 s."""
    first = f"{session}-{connection}"
    return [
        {"id": f"{first}-1", "type": "connectionCreated", "sessionId": session, "timestamp": start,
         "connectionId": connection},
        {"id": f"{first}-2", "type": "streamCreated", "sessionId": session, "timestamp": start,
         "streamId": f"s-{connection}", "connectionId": connection},
        {"id": f"{first}-3", "type": "publisherStats", "sessionId": session, "timestamp": start + 30_000,
         "streamId": f"s-{connection}", "videoBitrateKbps": 500.0, "packetLoss": 0.2},
        {"id": f"{first}-4", "type": "connectionDestroyed", "sessionId": session, "timestamp": start + minutes * MINUTE,
         "connectionId": connection},
    ]


def test_an_event_before_a_sessions_first_replaces_all_its_rows(tmp_path) -> None:
    noon = day_start_ms(DAY) + 12 * 3_600_000
    early = day_start_ms(DAY - timedelta(days=2)) + 23 * 3_600_000 + 58 * MINUTE  # 23:58, two LA days before
    older = call("neighbour", "n", noon - 10 * 86_400_000, 5)  # derived before, ten days earlier
    first = call("s", "a", noon, 3)
    late = call("s", "b", early, 4)  # crosses LA midnight: 2 minutes on each of two days
    window = {"min_ts": 0, "max_ts": noon + 86_400_000}

    store = open_store(f"duckdb://{tmp_path / 'inc.duckdb'}")
    load_events(store, PROJECT, older + first, **window)
    derive_until_clean(store)
    load_events(store, PROJECT, late, **window)
    derive_until_clean(store)
    incremental = snapshot(store)
    days = rows(store, "SELECT day, sum(published_minutes) FROM session_endpoint_days WHERE session_id = 's' "
                       "GROUP BY day ORDER BY day")
    store.clear_derived()
    store.mark_all_dirty()
    derive_until_clean(store)
    rebuilt = snapshot(store)
    store.close()

    assert days == [(DAY - timedelta(days=2), 2.0), (DAY - timedelta(days=1), 2.0), (DAY, 3.0)]
    assert_same_rows(rebuilt, incremental)
    assert [r for r in incremental["sessions"] if r[1] == "neighbour"]  # the older session kept its rows


def test_a_sample_issue_starting_before_its_sessions_first_day_is_replaced_and_rolled_up(store_url) -> None:
    """A session beginning at LA midnight whose stream has 20% loss from its first sample, 14 s later: the issue
    starts a sample's weight (30 s) before that sample, 16 s before midnight, so it counts on the day before the
    session's first event (docs/quality.md). Its endpoint-day row is replaced when the session is derived again and
    summed into that day's rollup. (The day rows were bounded by the first event's day: each derivation added one
    more copy of that row, and no rollup ever counted it.)"""
    midnight = day_start_ms(DAY)
    stream = {"sessionId": "s", "streamId": "v"}
    events = [{"id": "c", "type": "connectionCreated", "sessionId": "s", "timestamp": midnight, "connectionId": "c"},
              {"id": "v", "type": "streamCreated", "timestamp": midnight, "connectionId": "c", **stream},
              *({"id": f"p{k}", "type": "publisherStats", "timestamp": midnight + 14_000 + 30_000 * k,
                 "videoBitrateKbps": 300.0, "videoPacketLoss": 0.2, **stream} for k in range(4))]
    end = {"id": "d", "type": "connectionDestroyed", "sessionId": "s", "timestamp": midnight + 10 * MINUTE,
           "connectionId": "c"}
    store = open_store(store_url)
    window = {"min_ts": 0, "max_ts": midnight + 86_400_000}
    load_events(store, PROJECT, events, **window)
    derive_until_clean(store)
    load_events(store, PROJECT, [end], **window)  # derived again
    derive_until_clean(store)
    issues = "SELECT day, sum(issues_high_packet_loss) FROM {} WHERE issues_high_packet_loss > 0 GROUP BY day"
    before = DAY - timedelta(days=1)
    assert rows(store, "SELECT start_ts - ? FROM quality_issues", [midnight]) == [(-16_000,)]
    assert rows(store, issues.format("session_endpoint_days")) == [(before, 1.0)]
    assert rows(store, issues.format("rollup_endpoint_daily")) == [(before, 1.0)]
    derive_all(store)
    assert rows(store, issues.format("session_endpoint_days")) == [(before, 1.0)]
    assert rows(store, issues.format("rollup_endpoint_daily")) == [(before, 1.0)]
    store.close()
