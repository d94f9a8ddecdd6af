"""Every SQL statement about alert rules, their evaluation and webhook deliveries, in ClickHouse SQL: the
same functions and results as store/duckdb/alerts.py (the tables are created by store/clickhouse/schema.py,
versioned: store/clickhouse/versioned.py).

Evaluation is still one grouped statement per metric for all its rules. ClickHouse joins on equal keys,
so rules meet their rows on project_id and each rule's window and filters are conditions of `countIf` /
`sumIf` (a rule without rows still gets its row, with zeros, as in DuckDB's LEFT JOIN).
"""

from __future__ import annotations

from typing import Any

from videoinsights.store.clickhouse.versioned import put

Cursor = Any  # a store/clickhouse/client.py Client

_RULE_NAMES = ("rule_id", "project_id", "metric", "countries", "sdks", "browsers", "window_s", "threshold",
               "direction", "quiet_s", "webhook_url", "secret", "created_at", "state", "state_since", "last_value",
               "issue_type")
RULE_COLUMNS = ", ".join(_RULE_NAMES)
_DELIVERY_NAMES = ("delivery_id", "rule_id", "project_id", "event", "created_at", "status", "attempts",
                   "http_status", "last_error", "updated_at")
DELIVERY_COLUMNS = ", ".join(_DELIVERY_NAMES[:-1])
_RULES = "(SELECT * FROM alert_rules FINAL)"
JOIN_NULLS = " SETTINGS join_use_nulls = 1"


def create_tables(cur: Cursor) -> None:
    """Nothing to do: store/clickhouse/schema.py creates every table."""


def insert_rule(cur: Cursor, row: tuple[Any, ...]) -> None:
    put(cur, "alert_rules", dict(zip(_RULE_NAMES, row, strict=True)))


def project_rules(cur: Cursor, project_id: str) -> list[tuple[Any, ...]]:
    return cur.query_rows(f"SELECT {RULE_COLUMNS} FROM alert_rules FINAL WHERE project_id = {{p:String}} "
                          "ORDER BY created_at, rule_id", {"p": project_id})  # type: ignore[no-any-return]


def get_rule(cur: Cursor, rule_id: str) -> tuple[Any, ...] | None:
    rows = cur.query_rows(f"SELECT {RULE_COLUMNS} FROM alert_rules FINAL WHERE rule_id = {{r:String}}",
                          {"r": rule_id})
    return rows[0] if rows else None


def all_rules(cur: Cursor) -> list[tuple[Any, ...]]:
    return cur.query_rows(f"SELECT {RULE_COLUMNS} FROM alert_rules FINAL")  # type: ignore[no-any-return]


def delete_rule(cur: Cursor, rule_id: str) -> bool:
    if get_rule(cur, rule_id) is None:
        return False
    put(cur, "alert_rules", {"rule_id": rule_id}, deleted=True)
    return True


def set_states(cur: Cursor, changes: list[tuple[str, str, int, float | None]]) -> None:
    """(rule_id, state, state_since, last_value) for each rule whose state changed."""
    for rule_id, state, since, value in changes:
        row = get_rule(cur, rule_id)
        if row is not None:
            put(cur, "alert_rules", {**dict(zip(_RULE_NAMES, row, strict=True)), "state": state,
                                     "state_since": since, "last_value": value})


def _matches(alias: str) -> str:
    """A rule's filters (empty = any) hold for the row `alias` (NULL dimensions match only empty filters)."""
    return (f"(empty(r.countries) OR has(r.countries, {alias}.country)) "
            f"AND (empty(r.sdks) OR has(r.sdks, {alias}.sdk_type)) "
            f"AND (empty(r.browsers) OR has(r.browsers, {alias}.browser))")


def attempt_rates(cur: Cursor, metric: str, attempt_type: str, now_ms: int, longest_window_s: int) -> list[tuple]:
    """(rule_id, attempts, failures) over each rule's window, for every rule of `metric`: one statement."""
    hit = f"e.ts > {{now:Int64}} - r.window_s * 1000 AND {_matches('e')}"
    return cur.query_rows(  # type: ignore[no-any-return]
        f"SELECT r.rule_id, countIf({hit}), countIf({hit} AND e.outcome = 'failure') "
        f"FROM {_RULES} r LEFT JOIN (SELECT project_id, event_id, ts, outcome, country, sdk_type, browser FROM events "
        "WHERE type = {type:String} AND ts > {since:Int64} AND ts <= {now:Int64} LIMIT 1 BY project_id, event_id) e "
        f"ON e.project_id = r.project_id WHERE r.metric = {{metric:String}} GROUP BY r.rule_id{JOIN_NULLS}",
        {"type": attempt_type, "since": now_ms - longest_window_s * 1000, "now": now_ms, "metric": metric})


def stream_minutes(cur: Cursor, metric: str, now_ms: int, longest_window_s: int) -> list[tuple]:
    """(rule_id, streams, minutes): publisher and subscriber minutes inside each rule's window, one statement."""
    streams = " UNION ALL ".join(
        f"SELECT project_id, session_id, connection_id, created_at, ended_at FROM {t} "
        "WHERE ended_at > {since:Int64} AND created_at <= {now:Int64}" for t in ("publishers", "subscribers"))
    hit = f"e.ended_at > {{now:Int64}} - r.window_s * 1000 AND {_matches('e')}"
    overlap = "least(e.ended_at, {now:Int64}) - greatest(e.created_at, {now:Int64} - r.window_s * 1000)"
    return cur.query_rows(  # type: ignore[no-any-return]
        f"SELECT r.rule_id, countIf({hit}), coalesce(sumIf({overlap}, {hit}) / 60000.0, 0) "
        f"FROM {_RULES} r LEFT JOIN (SELECT s.project_id AS project_id, s.created_at AS created_at, "
        f"s.ended_at AS ended_at, c.country AS country, c.sdk_type AS sdk_type, c.browser AS browser "
        f"FROM ({streams}) s LEFT JOIN connections c ON c.project_id = s.project_id "
        f"AND c.session_id = s.session_id AND c.connection_id = s.connection_id) e "
        f"ON e.project_id = r.project_id WHERE r.metric = {{metric:String}} GROUP BY r.rule_id{JOIN_NULLS}",
        {"since": now_ms - longest_window_s * 1000, "now": now_ms, "metric": metric})


def session_quality(cur: Cursor, metric: str, now_ms: int, longest_window_s: int) -> list[tuple]:
    """(rule_id, sessions, score p10, sessions with the rule's issue type) per rule of `metric`, one statement
    (see store/duckdb/alerts.py; quantileExactInclusive interpolates as DuckDB's quantile_cont)."""
    recent = ("SELECT s.project_id AS project_id, s.session_id AS session_id, s.last_seen_at AS last_seen_at, "
              "q.score AS score FROM sessions s LEFT JOIN (SELECT project_id, session_id, score FROM quality_scores "
              "WHERE level = 'session') q ON q.project_id = s.project_id AND q.session_id = s.session_id "
              "WHERE s.last_seen_at > {since:Int64} AND s.last_seen_at <= {now:Int64}")
    matched = (
        f"SELECT r.rule_id AS rule_id, e.session_id AS session_id, any(e.score) AS score, "
        f"max(i.session_id IS NOT NULL) AS issue "
        f"FROM {_RULES} r JOIN ({recent}) e ON e.project_id = r.project_id "
        f"LEFT JOIN (SELECT DISTINCT project_id, session_id, country, sdk_type, browser FROM connections "
        f"WHERE (project_id, session_id) IN (SELECT project_id, session_id FROM ({recent}))) c "
        f"ON c.project_id = e.project_id AND c.session_id = e.session_id "
        f"LEFT JOIN (SELECT DISTINCT project_id, session_id, issue_type FROM quality_issues "
        f"WHERE (project_id, session_id) IN (SELECT project_id, session_id FROM ({recent}))) i "
        f"ON i.project_id = e.project_id AND i.session_id = e.session_id AND i.issue_type = r.issue_type "
        f"WHERE r.metric = {{metric:String}} AND e.last_seen_at > {{now:Int64}} - r.window_s * 1000 "
        f"AND {_matches('c')} GROUP BY r.rule_id, e.session_id")
    rows = cur.query_rows(
        f"SELECT r.rule_id, count(m.session_id), "
        f"if(count(m.score) = 0, NULL, quantileExactInclusive(0.1)(m.score)), countIf(m.issue = 1) "
        f"FROM {_RULES} r LEFT JOIN ({matched}) m ON m.rule_id = r.rule_id WHERE r.metric = {{metric:String}} "
        f"GROUP BY r.rule_id{JOIN_NULLS}",
        {"since": now_ms - longest_window_s * 1000, "now": now_ms, "metric": metric})
    return [(rule_id, n, p10, issues) for rule_id, n, p10, issues in rows]


MEETING_SUMMARY = ("session_id", "meeting_index", "meeting_id", "created_at", "destroyed_at", "publisher_minutes",
                   "subscriber_minutes", "max_concurrent_connections", "total_connections", "total_streams",
                   "total_subscribers", "score", "score_p10", "issues")
_DUE_COLUMNS = MEETING_SUMMARY[:11]


def ended_meetings(cur: Cursor, now_ms: int, lookback_ms: int, limit: int) -> list[tuple]:
    """(rule_id, *MEETING_SUMMARY) of meetings ended and not announced yet, for every meeting_ended rule: one
    statement (see store/duckdb/alerts.py). `issues` is a list of {type, count}."""
    due = (f"SELECT r.rule_id AS rule_id, m.project_id AS project_id, "
           f"{', '.join(f'm.{c} AS {c}' for c in _DUE_COLUMNS)} FROM {_RULES} r "
           "JOIN meetings m ON m.project_id = r.project_id "
           "WHERE r.metric = 'meeting_ended' AND m.destroyed_at IS NOT NULL "
           "AND m.destroyed_at >= greatest(r.created_at - 300000, {since:Int64}) AND m.destroyed_at <= {now:Int64} "
           "AND (r.rule_id, m.session_id, m.meeting_index) NOT IN "
           "(SELECT rule_id, session_id, meeting_index FROM alert_meetings_sent FINAL) "
           "ORDER BY m.destroyed_at LIMIT {limit:UInt64}")
    rows = cur.query_rows(
        f"WITH due AS ({due}) "
        f"SELECT d.rule_id, {', '.join(f'd.{c}' for c in _DUE_COLUMNS)}, q.score, q.score_p10, "
        f"i.types, i.counts FROM due d "
        f"LEFT JOIN (SELECT project_id, session_id, entity_id, score, score_p10 FROM quality_scores "
        f"WHERE level = 'meeting') q ON q.project_id = d.project_id AND q.session_id = d.session_id "
        f"AND q.entity_id = toString(d.meeting_index) "
        f"LEFT JOIN (SELECT project_id, session_id, meeting_index, arraySort(groupArray(issue_type)) AS types, "
        f"arraySort((n, t) -> t, groupArray(n), groupArray(issue_type)) AS counts "
        f"FROM (SELECT project_id, session_id, meeting_index, issue_type, count() AS n FROM quality_issues "
        f"WHERE (project_id, session_id) IN (SELECT project_id, session_id FROM due) "
        f"GROUP BY project_id, session_id, meeting_index, issue_type) "
        f"GROUP BY project_id, session_id, meeting_index) i "
        f"ON i.project_id = d.project_id AND i.session_id = d.session_id AND i.meeting_index = d.meeting_index "
        f"ORDER BY d.destroyed_at, d.session_id, d.meeting_index{JOIN_NULLS}",
        {"since": now_ms - lookback_ms, "now": now_ms, "limit": limit})
    # an array column of an unmatched outer join row is empty (arrays cannot be NULL)
    return [(*r[:-2], [{"type": t, "count": n} for t, n in zip(r[-2], r[-1], strict=True)]) for r in rows]


def mark_meetings_sent(cur: Cursor, rows: list[tuple[str, str, int]], at_ms: int) -> None:
    for rule_id, session_id, meeting_index in rows:
        put(cur, "alert_meetings_sent", {"rule_id": rule_id, "session_id": session_id,
                                         "meeting_index": meeting_index, "sent_at": at_ms})


def insert_delivery(cur: Cursor, delivery_id: str, rule_id: str, project_id: str, event: str, at_ms: int) -> None:
    put(cur, "alert_deliveries", {"delivery_id": delivery_id, "rule_id": rule_id, "project_id": project_id,
                                  "event": event, "created_at": at_ms, "status": "pending", "attempts": 0,
                                  "http_status": None, "last_error": None, "updated_at": at_ms})


def update_delivery(cur: Cursor, delivery_id: str, status: str, attempts: int, http_status: int | None,
                    error: str | None, at_ms: int) -> None:
    rows = cur.query_rows(f"SELECT {', '.join(_DELIVERY_NAMES)} FROM alert_deliveries FINAL "
                          "WHERE delivery_id = {d:String}", {"d": delivery_id})
    if rows:
        put(cur, "alert_deliveries", {**dict(zip(_DELIVERY_NAMES, rows[0], strict=True)), "status": status,
                                      "attempts": attempts, "http_status": http_status, "last_error": error,
                                      "updated_at": at_ms})


def project_deliveries(cur: Cursor, project_id: str, limit: int = 100) -> list[tuple[Any, ...]]:
    return cur.query_rows(f"SELECT {DELIVERY_COLUMNS} FROM alert_deliveries FINAL WHERE project_id = {{p:String}} "
                          "ORDER BY created_at DESC, delivery_id DESC LIMIT {n:UInt64}",
                          {"p": project_id, "n": limit})  # type: ignore[no-any-return]


def purge(cur: Cursor, before_ms: int) -> dict[str, int]:
    """Forget deliveries created before `before_ms` and the record of meetings announced before it (as on
    DuckDB). Every version of such a row goes (a delivery's versions share its created_at), so nothing older
    shows through FINAL; the counts are of rows as FINAL reads them."""
    counts = {}
    for table, column in (("alert_deliveries", "created_at"), ("alert_meetings_sent", "sent_at")):
        params = {"b": before_ms}
        where = f"{column} < {{b:Int64}}"
        counts[table] = int(cur.query_rows(f"SELECT count() FROM {table} FINAL WHERE {where}", params)[0][0])
        if cur.query_rows(f"SELECT count() FROM {table} WHERE {where}", params)[0][0]:
            cur.command(f"DELETE FROM {table} WHERE {where}", params)
    return counts
