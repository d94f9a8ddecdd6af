"""The quality metrics of alert rules (score p10, share of sessions with an issue type) on a real DuckDB file.

Rows are written as derivation writes them (tables of docs/quality.md); the values are hand-computed:
sessions A, B, C last seen in the last 15 minutes with session scores 4.0, 2.0, 3.0, and D two hours
ago with 1.0. p10 of {2, 3, 4} (linear interpolation) = 2 + 0.2 * (3 - 2) = 2.2. B had high packet
loss: share 1/3. Only A and C have a US connection: p10 of {3, 4} = 3.1, and no loss: share 0.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from videoinsights.alerts.evaluate import observe
from videoinsights.alerts.rules import AlertError, Rule, create_alert
from videoinsights.ops import create_project
from videoinsights.store.duckdb import alerts as alert_sql
from videoinsights.store.duckdb.store import DuckDBStore

NOW = int(time.time() * 1000)


def test_score_p10_and_issue_share(tmp_path: Path) -> None:
    store = DuckDBStore(str(tmp_path / "vi.duckdb"))
    try:
        pid = str(create_project(store, "q")["projectId"])
        cur = store.reader()
        for sid, age_min, score, country in (("A", 1, 4.0, "US"), ("B", 5, 2.0, "FR"), ("C", 10, 3.0, "US"),
                                             ("D", 120, 1.0, "US")):
            seen = NOW - age_min * 60_000
            cur.execute("INSERT INTO sessions (project_id, session_id, media_mode, created_at, last_seen_at,"
                        " meeting_count, publisher_minutes, subscriber_minutes) VALUES (?, ?, 'routed', ?, ?, 1, 1, 1)",
                        [pid, sid, seen - 60_000, seen])
            cur.execute("INSERT INTO quality_scores (project_id, session_id, level, entity_id, meeting_index, "
                        "connection_id, samples, scored_ms, score, score_p10) "
                        "VALUES (?, ?, 'session', ?, NULL, NULL, 4, 120000, ?, ?)",
                        [pid, sid, sid, score, score - 0.5])
            cur.execute("INSERT INTO connections (project_id, session_id, meeting_index, connection_id, created_at,"
                        " ended_at, country) VALUES (?, ?, 0, ?, ?, ?, ?)", [pid, sid, f"c-{sid}", seen - 60_000,
                                                                              seen, country])
        cur.execute("INSERT INTO quality_issues (project_id, session_id, meeting_index, issue_type, entity_kind, "
                    "entity_id, connection_id, start_ts, end_ts, metric, value, threshold, samples) "
                    "VALUES (?, 'B', 0, 'high_packet_loss', 'stream', 'st', 'c-B', ?, ?,"
                    " 'packetLoss', 0.05, 0.03, 3)", [pid, NOW - 6 * 60_000, NOW - 5 * 60_000])
        hook = "https://hooks.example.com/x"
        p10 = create_alert(store, pid, "score_p10", 3.0, hook, direction="below")
        share = create_alert(store, pid, "issue_share", 0.25, hook, issue_type="high_packet_loss")
        p10_us = create_alert(store, pid, "score_p10", 3.0, hook, direction="below", countries=["us"])
        share_us = create_alert(store, pid, "issue_share", 0.25, hook, issue_type="high_packet_loss",
                                countries=["US"])
        rules = [Rule.from_row(r) for r in alert_sql.all_rules(store.reader())]
        seen = observe(store, rules, NOW)
        assert seen[p10["id"]].value == pytest.approx(2.2) and seen[p10["id"]].detail == {"sessions": 3}
        assert seen[share["id"]].value == pytest.approx(1 / 3)
        assert seen[share["id"]].detail == {"sessions": 3, "withIssue": 1}
        assert seen[p10_us["id"]].value == pytest.approx(3.1)
        assert seen[share_us["id"]].value == 0.0
        with pytest.raises(AlertError):
            create_alert(store, pid, "issue_share", 0.2, hook)  # which issue?
        with pytest.raises(AlertError):
            create_alert(store, pid, "score_p10", 0.2, hook)  # scores are 1..5
    finally:
        store.close()

