"""Every SQL statement about alert rules, their evaluation and webhook deliveries (DuckDB).

Like store/duckdb/client_keys.py: functions take a cursor and fetch every
result. Evaluation is one grouped statement per metric for all its rules
(the rules table is joined with the recent rows), never one per rule.
"""

from __future__ import annotations

from typing import Any

Cursor = Any  # a DuckDB connection or cursor

TABLES: dict[str, str] = {
    # Alert rules (videoinsights/alerts/): a metric over a sliding window, compared with a threshold.
    "alert_rules": """
CREATE TABLE IF NOT EXISTS alert_rules (
  rule_id VARCHAR PRIMARY KEY,
  project_id VARCHAR NOT NULL,
  metric VARCHAR NOT NULL,
  countries VARCHAR[] NOT NULL,        -- filters: empty = any
  sdks VARCHAR[] NOT NULL,
  browsers VARCHAR[] NOT NULL,
  window_s INTEGER NOT NULL,
  threshold DOUBLE NOT NULL,
  direction VARCHAR NOT NULL,          -- 'above' | 'below'
  quiet_s INTEGER NOT NULL,
  webhook_url VARCHAR NOT NULL,
  secret VARCHAR NOT NULL,             -- HMAC-SHA256 key of the webhook signature
  created_at BIGINT NOT NULL,
  state VARCHAR NOT NULL,              -- 'ok' | 'firing'
  state_since BIGINT NOT NULL,
  last_value DOUBLE,
  issue_type VARCHAR                   -- metric issue_share: the issue type counted (docs/quality.md)
)""",
    # One row per webhook sent (or refused), updated after each try.
    "alert_deliveries": """
CREATE TABLE IF NOT EXISTS alert_deliveries (
  delivery_id VARCHAR PRIMARY KEY,
  rule_id VARCHAR NOT NULL,
  project_id VARCHAR NOT NULL,
  event VARCHAR NOT NULL,              -- 'fired' | 'resolved'
  created_at BIGINT NOT NULL,
  status VARCHAR NOT NULL,             -- 'pending' | 'retrying' | 'delivered' | 'failed' | 'refused'
  attempts INTEGER NOT NULL,
  http_status INTEGER,
  last_error VARCHAR,
  updated_at BIGINT NOT NULL
)""",
    # Meetings already announced by a meeting_ended rule: each ended meeting is sent once per rule.
    "alert_meetings_sent": """
CREATE TABLE IF NOT EXISTS alert_meetings_sent (
  rule_id VARCHAR NOT NULL,
  session_id VARCHAR NOT NULL,
  meeting_index INTEGER NOT NULL,
  sent_at BIGINT NOT NULL,
  PRIMARY KEY (rule_id, session_id, meeting_index)
)""",
}

RULE_COLUMNS = ("rule_id, project_id, metric, countries, sdks, browsers, window_s, threshold, direction, quiet_s,"
                " webhook_url, secret, created_at, state, state_since, last_value, issue_type")
DELIVERY_COLUMNS = "delivery_id, rule_id, project_id, event, created_at, status, attempts, http_status, last_error"


def create_tables(cur: Cursor) -> None:
    for ddl in TABLES.values():
        cur.execute(ddl)


def insert_rule(cur: Cursor, row: tuple[Any, ...]) -> None:
    cur.execute(f"INSERT INTO alert_rules ({RULE_COLUMNS}) VALUES ({', '.join('?' * 17)})", list(row))


def project_rules(cur: Cursor, project_id: str) -> list[tuple[Any, ...]]:
    return list(cur.execute(f"SELECT {RULE_COLUMNS} FROM alert_rules WHERE project_id = ? ORDER BY created_at, rule_id",
                            [project_id]).fetchall())


def get_rule(cur: Cursor, rule_id: str) -> tuple[Any, ...] | None:
    rows = cur.execute(f"SELECT {RULE_COLUMNS} FROM alert_rules WHERE rule_id = ?", [rule_id]).fetchall()
    return rows[0] if rows else None


def all_rules(cur: Cursor) -> list[tuple[Any, ...]]:
    return list(cur.execute(f"SELECT {RULE_COLUMNS} FROM alert_rules").fetchall())


def delete_rule(cur: Cursor, rule_id: str) -> bool:
    rows = cur.execute("DELETE FROM alert_rules WHERE rule_id = ? RETURNING rule_id", [rule_id]).fetchall()
    return bool(rows)


def set_states(cur: Cursor, changes: list[tuple[str, str, int, float | None]]) -> None:
    """(rule_id, state, state_since, last_value) for each rule whose state changed."""
    if changes:
        cur.executemany("UPDATE alert_rules SET state = ?, state_since = ?, last_value = ? WHERE rule_id = ?",
                        [[s, since, v, rid] for rid, s, since, v in changes])


def _rule_filters(alias: str) -> str:
    """A rule's optional country/SDK/browser filters (an empty list matches all) on the rows of `alias`."""
    return (f"(len(r.countries) = 0 OR list_contains(r.countries, {alias}.country)) "
            f"AND (len(r.sdks) = 0 OR list_contains(r.sdks, {alias}.sdk_type)) "
            f"AND (len(r.browsers) = 0 OR list_contains(r.browsers, {alias}.browser))")


def attempt_rates(cur: Cursor, metric: str, attempt_type: str, now_ms: int, longest_window_s: int) -> list[tuple]:
    """(rule_id, attempts, failures) over each rule's window, for every rule of `metric`: one statement."""
    return list(cur.execute(
        f"""
        WITH recent AS (
          SELECT project_id, ts, outcome, country, sdk_type, browser FROM events
          WHERE type = ? AND ts > ? AND ts <= ?
        )
        SELECT r.rule_id, count(e.ts), count(e.ts) FILTER (WHERE e.outcome = 'failure')
        FROM alert_rules r LEFT JOIN recent e
          ON e.project_id = r.project_id AND e.ts > ? - r.window_s * 1000
          AND {_rule_filters("e")}
        WHERE r.metric = ?
        GROUP BY r.rule_id
        """,
        [attempt_type, now_ms - longest_window_s * 1000, now_ms, now_ms, metric],
    ).fetchall())


def stream_minutes(cur: Cursor, metric: str, now_ms: int, longest_window_s: int) -> list[tuple]:
    """(rule_id, streams, minutes): publisher and subscriber minutes inside each rule's window, one statement.

    A stream counts the part of [created_at, ended_at] that overlaps the window; the filters apply to the
    connection of the publisher or subscriber."""
    return list(cur.execute(
        f"""
        WITH streams AS (
          SELECT project_id, session_id, connection_id, created_at, ended_at FROM publishers
          WHERE ended_at > ? AND created_at <= ?
          UNION ALL
          SELECT project_id, session_id, connection_id, created_at, ended_at FROM subscribers
          WHERE ended_at > ? AND created_at <= ?
        ), recent AS (
          SELECT s.*, c.country, c.sdk_type, c.browser FROM streams s
          LEFT JOIN connections c USING (project_id, session_id, connection_id)
        )
        SELECT r.rule_id, count(e.created_at),
          coalesce(sum(least(e.ended_at, ?) - greatest(e.created_at, ? - r.window_s * 1000))
                   FILTER (WHERE e.created_at IS NOT NULL) / 60000.0, 0)  -- least/greatest skip NULLs
        FROM alert_rules r LEFT JOIN recent e
          ON e.project_id = r.project_id AND e.ended_at > ? - r.window_s * 1000
          AND {_rule_filters("e")}
        WHERE r.metric = ?
        GROUP BY r.rule_id
        """,
        [now_ms - longest_window_s * 1000, now_ms] * 2 + [now_ms, now_ms, now_ms, metric],
    ).fetchall())


def session_quality(cur: Cursor, metric: str, now_ms: int, longest_window_s: int) -> list[tuple]:
    """(rule_id, sessions, score p10, sessions with the rule's issue type) per rule of `metric`, one statement.

    The sessions of a window are those last seen in it; a filter keeps a session when one of its connections
    matches. The p10 is the 10th percentile of the sessions' scores (quality_scores, level session)."""
    return list(cur.execute(
        f"""
        WITH recent AS (
          SELECT s.project_id, s.session_id, s.last_seen_at, q.score FROM sessions s
          LEFT JOIN quality_scores q
            ON q.project_id = s.project_id AND q.session_id = s.session_id AND q.level = 'session'
          WHERE s.last_seen_at > ? AND s.last_seen_at <= ?
        ), conns AS (
          SELECT DISTINCT c.project_id, c.session_id, c.country, c.sdk_type, c.browser
          FROM connections c SEMI JOIN recent e ON c.project_id = e.project_id AND c.session_id = e.session_id
        ), issues AS (
          SELECT DISTINCT i.project_id, i.session_id, i.issue_type
          FROM quality_issues i SEMI JOIN recent e ON i.project_id = e.project_id AND i.session_id = e.session_id
        ), matched AS (
          SELECT r.rule_id, e.session_id, any_value(e.score) AS score, bool_or(i.session_id IS NOT NULL) AS issue
          FROM alert_rules r
          JOIN recent e ON e.project_id = r.project_id AND e.last_seen_at > ? - r.window_s * 1000
          LEFT JOIN conns c ON c.project_id = e.project_id AND c.session_id = e.session_id
          LEFT JOIN issues i ON i.project_id = e.project_id AND i.session_id = e.session_id
            AND i.issue_type = r.issue_type
          WHERE r.metric = ? AND {_rule_filters("c")}
          GROUP BY r.rule_id, e.session_id
        )
        SELECT r.rule_id, count(m.session_id), quantile_cont(m.score, 0.1), count(m.session_id) FILTER (WHERE m.issue)
        FROM alert_rules r LEFT JOIN matched m ON m.rule_id = r.rule_id
        WHERE r.metric = ?
        GROUP BY r.rule_id
        """,
        [now_ms - longest_window_s * 1000, now_ms, now_ms, metric, metric],
    ).fetchall())


MEETING_SUMMARY = ("session_id", "meeting_index", "meeting_id", "created_at", "destroyed_at", "publisher_minutes",
                   "subscriber_minutes", "max_concurrent_connections", "total_connections", "total_streams",
                   "total_subscribers", "score", "score_p10", "issues")


def ended_meetings(cur: Cursor, now_ms: int, lookback_ms: int, limit: int) -> list[tuple]:
    """(rule_id, *MEETING_SUMMARY) of meetings ended since 5 minutes before their meeting_ended rule was created
    (the grace covers events that arrive late) and within the lookback, not announced yet, for every such rule:
    one statement. `issues` is a list of {type, count} of the meeting's detected issues (docs/quality.md). A meeting
    whose session waits for a quality pass (store/duckdb/quality_pass.py) waits with it, to go with its score."""
    return list(cur.execute(
        """
        WITH due AS (
          SELECT r.rule_id, m.* FROM alert_rules r
          JOIN meetings m ON m.project_id = r.project_id AND m.destroyed_at IS NOT NULL
            AND m.destroyed_at >= greatest(r.created_at - 300000, ?) AND m.destroyed_at <= ?
          ANTI JOIN alert_meetings_sent s
            ON s.rule_id = r.rule_id AND s.session_id = m.session_id AND s.meeting_index = m.meeting_index
          ANTI JOIN quality_owed o ON o.project_id = m.project_id AND o.session_id = m.session_id
          WHERE r.metric = 'meeting_ended'
          ORDER BY m.destroyed_at LIMIT ?
        ), issues AS (
          SELECT i.project_id, i.session_id, i.meeting_index, list({'type': i.issue_type, 'count': i.n}
                 ORDER BY i.issue_type) AS issues
          FROM (SELECT project_id, session_id, meeting_index, issue_type, count(*) AS n FROM quality_issues
                SEMI JOIN due USING (project_id, session_id)
                GROUP BY ALL) i
          GROUP BY ALL
        )
        SELECT d.rule_id, d.session_id, d.meeting_index, d.meeting_id, d.created_at, d.destroyed_at,
               d.publisher_minutes, d.subscriber_minutes, d.max_concurrent_connections, d.total_connections,
               d.total_streams, d.total_subscribers, q.score, q.score_p10, coalesce(i.issues, [])
        FROM due d
        LEFT JOIN quality_scores q ON q.project_id = d.project_id AND q.session_id = d.session_id
          AND q.level = 'meeting' AND q.entity_id = CAST(d.meeting_index AS VARCHAR)
        LEFT JOIN issues i ON i.project_id = d.project_id AND i.session_id = d.session_id
          AND i.meeting_index = d.meeting_index
        ORDER BY d.destroyed_at, d.session_id, d.meeting_index
        """,
        [now_ms - lookback_ms, now_ms, limit],
    ).fetchall())


def mark_meetings_sent(cur: Cursor, rows: list[tuple[str, str, int]], at_ms: int) -> None:
    if rows:
        cur.executemany("INSERT OR IGNORE INTO alert_meetings_sent VALUES (?, ?, ?, ?)",
                        [[r, s, m, at_ms] for r, s, m in rows])


def insert_delivery(cur: Cursor, delivery_id: str, rule_id: str, project_id: str, event: str, at_ms: int) -> None:
    cur.execute("INSERT INTO alert_deliveries VALUES (?, ?, ?, ?, ?, 'pending', 0, NULL, NULL, ?)",
                [delivery_id, rule_id, project_id, event, at_ms, at_ms])


def update_delivery(cur: Cursor, delivery_id: str, status: str, attempts: int, http_status: int | None,
                    error: str | None, at_ms: int) -> None:
    cur.execute("UPDATE alert_deliveries SET status = ?, attempts = ?, http_status = ?, last_error = ?, updated_at = ?"
                " WHERE delivery_id = ?", [status, attempts, http_status, error, at_ms, delivery_id])


def purge(cur: Cursor, before_ms: int) -> dict[str, int]:
    """Forget deliveries created before `before_ms` and the record of meetings announced before it.

    The retention is at least a day: longer than a delivery's tries (seconds) and than the lookback of
    ended_meetings (a day), so nothing purged is still being sent or could be announced again."""
    deliveries = cur.execute("DELETE FROM alert_deliveries WHERE created_at < ?", [before_ms]).fetchall()[0][0]
    sent = cur.execute("DELETE FROM alert_meetings_sent WHERE sent_at < ?", [before_ms]).fetchall()[0][0]
    return {"alert_deliveries": int(deliveries), "alert_meetings_sent": int(sent)}


def project_deliveries(cur: Cursor, project_id: str, limit: int = 100) -> list[tuple[Any, ...]]:
    return list(cur.execute(f"SELECT {DELIVERY_COLUMNS} FROM alert_deliveries WHERE project_id = ?"
                            " ORDER BY created_at DESC, delivery_id DESC LIMIT ?", [project_id, limit]).fetchall())
