"""sessionData: the session tree, its retention and error rules, paging, and batching."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.query import fixtures as fx
from tests.query.conftest import SETTINGS, clock
from videoinsights.auth.tokens import AuthContext
from videoinsights.query.executor import Executor
from videoinsights.store.base import Project
from videoinsights.store.duckdb.store import DuckDBStore

Run = Any


def sd(run: Run, selection: str, **kw: Any) -> dict[str, Any]:
    body = run(f"{{ project(projectId: {kw.pop('project', 12345678)}) {{ sessionData {{ {selection} }} }} }}", **kw)
    assert "errors" not in body, body
    return body["data"]["project"]["sessionData"]


def sd_error(run: Run, selection: str, **kw: Any) -> dict[str, Any]:
    body = run(f"{{ project(projectId: {kw.pop('project', 12345678)}) {{ sessionData {{ {selection} }} }} }}", **kw)
    assert len(body["errors"]) == 1, body
    return body["errors"][0]


TREE = """sessions(sessionIds: ["%s"]) { totalCount resources { sessionId mediaMode publisherMinutes
  meetings { totalCount resources { meetingId createdAt destroyedAt
    participantMinutes { from1To2Publishers from3To6Publishers }
    connections { totalCount maxConcurrent resources { connectionId sdkType browser country region city guid
      deviceModel userAgent sdkVersion browserVersion createdAt destroyedAt
      subscribers { totalCount resources { subscriberId } } } }
    publishers { totalCount resources { connectionId createdAt destroyedAt
      stream { streamId videoType hasAudioTrack hasVideoTrack }
      streamStatsCollection { totalCount resources { createdAt videoBitrateKbps videoLatencyMs audioCodec
        videoCodec hasAudio hasVideo videoResolution audioPacketLoss videoPacketLoss audioBitrateKbps } } } }
    subscribers { totalCount resources { subscriberId connectionId stream { streamId videoType }
      streamStatsCollection { totalCount resources { createdAt subscribeToAudio subscribeToVideo } } } } } } } }"""


def test_session_tree(run: Run) -> None:
    data = sd(run, TREE % fx.S1)["sessions"]
    assert data["totalCount"] == 1
    session = data["resources"][0]
    assert (session["sessionId"], session["mediaMode"], session["publisherMinutes"]) == (fx.S1, "routed", 35.0)
    meetings = session["meetings"]
    assert meetings["totalCount"] == 3
    m0, m1, m2 = meetings["resources"]
    assert (m0["meetingId"], m0["createdAt"], m0["destroyedAt"]) == (
        "m-1a", "2025-11-26T17:00:00.000Z", "2025-11-26T17:30:00.000Z")
    assert m0["participantMinutes"] == {"from1To2Publishers": 50.0, "from3To6Publishers": 0.0}
    assert m1["meetingId"] == "m-1a" and m2["meetingId"] == "m-1b"
    c1, c2 = m0["connections"]["resources"]
    assert c1 == {"connectionId": "c1", "sdkType": "JS", "browser": "CHROME", "country": "US", "region": "CA",
                  "city": "San Francisco", "guid": "g-1", "deviceModel": None, "userAgent": "Mozilla/5.0 Chrome/120.0",
                  "sdkVersion": "2.27.3", "browserVersion": "120.0", "createdAt": "2025-11-26T17:00:00.000Z",
                  "destroyedAt": "2025-11-26T17:30:00.000Z", "subscribers": {"totalCount": 1, "resources": [
                      {"subscriberId": "sub2"}]}}
    assert c2["deviceModel"] == "iPhone15,2" and c2["browser"] is None
    st1, st2 = m0["publishers"]["resources"]
    assert st1["stream"] == {"streamId": "st1", "videoType": "camera", "hasAudioTrack": True, "hasVideoTrack": True}
    stats = st1["streamStatsCollection"]
    assert stats["totalCount"] == 3
    assert stats["resources"][0] == {
        "createdAt": "2025-11-26T17:01:30.000Z", "videoBitrateKbps": 500.0, "videoLatencyMs": 40.0,
        "audioCodec": "opus", "videoCodec": "VP8", "hasAudio": True, "hasVideo": True, "videoResolution": "640x480",
        "audioPacketLoss": 0.0, "videoPacketLoss": 0.01, "audioBitrateKbps": 40.0}
    assert [s["videoResolution"] for s in stats["resources"]] == ["640x480", "640x480", "1280x720"]
    assert st2["streamStatsCollection"] == {"totalCount": 0, "resources": []}
    subs = m0["subscribers"]["resources"]
    assert [(s["subscriberId"], s["connectionId"], s["stream"]["streamId"], s["stream"]["videoType"])
            for s in subs] == [("sub1", "c2", "st1", "camera"), ("sub2", "c1", "st2", "screen")]
    assert [(s["subscribeToAudio"], s["subscribeToVideo"]) for s in subs[0]["streamStatsCollection"]["resources"]] \
        == [(True, True), (True, False)]
    assert m1["publishers"] == {"totalCount": 0, "resources": []}
    assert m2["publishers"]["resources"][0]["streamStatsCollection"]["totalCount"] == 1


def test_another_customers_same_ids_never_leak(run: Run) -> None:
    text = str(sd(run, TREE % fx.S1))
    assert "m-other" not in text and "999" not in text and "g-other" not in text and "custom" not in text
    other = sd(run, TREE % fx.S1, project=87654321, as_project=fx.OTHER)["sessions"]["resources"][0]
    assert other["meetings"]["resources"][0]["meetingId"] == "m-other"


def test_open_meeting_has_no_destroyed_at(run: Run) -> None:
    data = sd(run, f'sessions(sessionIds: ["{fx.S4_TODAY}"]) {{ resources {{ meetings {{ resources {{ destroyedAt '
                   "connections { resources { destroyedAt } } } } } }")
    meeting = data["sessions"]["resources"][0]["meetings"]["resources"][0]
    assert meeting == {"destroyedAt": None, "connections": {"resources": [{"destroyedAt": None}]}}


def test_meeting_filters_and_paging(run: Run) -> None:
    q = 'sessions(sessionIds: ["%s"]) { resources { meetings(%s) { totalCount pageInfo { hasNextPage endCursor } ' \
        "resources { createdAt } } } }"
    m = sd(run, q % (fx.S1, 'start: "2025-11-26T17:31:00Z"'))["sessions"]["resources"][0]["meetings"]
    assert m["totalCount"] == 2 and [r["createdAt"][11:16] for r in m["resources"]] == ["17:35", "19:00"]
    m = sd(run, q % (fx.S1, 'end: "2025-11-26T17:35:00Z", meetingId: "m-1a"'))["sessions"]["resources"][0]["meetings"]
    assert m["totalCount"] == 2
    m = sd(run, q % (fx.S1, "first: 2"))["sessions"]["resources"][0]["meetings"]
    assert len(m["resources"]) == 2 and m["pageInfo"]["hasNextPage"] is True
    cursor = m["pageInfo"]["endCursor"]
    m = sd(run, q % (fx.S1, f'first: 2, endCursor: "{cursor}"'))["sessions"]["resources"][0]["meetings"]
    assert [r["createdAt"][11:16] for r in m["resources"]] == ["19:00"] and m["pageInfo"]["hasNextPage"] is False
    m = sd(run, q % (fx.S1, "first: 1000"))["sessions"]["resources"][0]["meetings"]  # clamped to 10
    assert len(m["resources"]) == 3


def test_stats_paging(run: Run) -> None:
    q = (f'sessions(sessionIds: ["{fx.S1}"]) {{ resources {{ meetings(first: 1) {{ resources {{ publishers(first: 1) '
         "{ resources { streamStatsCollection(%s) { totalCount pageInfo { hasNextPage endCursor } "
         "resources { videoBitrateKbps } } } } } } } }")

    def page(args: str) -> dict[str, Any]:
        data = sd(run, q % args)["sessions"]["resources"][0]
        return data["meetings"]["resources"][0]["publishers"]["resources"][0]["streamStatsCollection"]

    first = page("first: 2")
    assert [s["videoBitrateKbps"] for s in first["resources"]] == [500.0, 900.0]
    second = page(f'first: 2, endCursor: "{first["pageInfo"]["endCursor"]}"')
    assert [s["videoBitrateKbps"] for s in second["resources"]] == [1500.0]
    assert (second["totalCount"], second["pageInfo"]["hasNextPage"]) == (3, False)



def test_stats_read_only_the_selected_fields(store: DuckDBStore) -> None:
    """Only the columns of the selected StreamStatistics fields are read; two aliases of the collection
    with different fields each get their own (a shared cached read would leave one without its fields)."""
    log: list[str] = []
    executor = logged_executor(store, log)
    query = (f'{{ project(projectId: 12345678) {{ sessionData {{ sessions(sessionIds: ["{fx.S1}"]) {{ resources {{ '
             "meetings(first: 1) { resources { publishers(first: 1) { resources { "
             "a: streamStatsCollection { totalCount resources { videoBitrateKbps } } "
             "b: streamStatsCollection(first: 2) { resources { createdAt videoCodec } } "
             "c: streamStatsCollection { totalCount } } } } } } } } } }")
    body = executor.run(AuthContext(fx.PROJECT, "project"), query)
    assert "errors" not in body, body
    publisher = body["data"]["project"]["sessionData"]["sessions"]["resources"][0]["meetings"]["resources"][0][
        "publishers"]["resources"][0]
    assert publisher["a"] == {"totalCount": 3, "resources": [{"videoBitrateKbps": 500.0}, {"videoBitrateKbps": 900.0},
                                                             {"videoBitrateKbps": 1500.0}]}
    assert publisher["b"] == {"resources": [{"createdAt": "2025-11-26T17:01:30.000Z", "videoCodec": "VP8"},
                                            {"createdAt": "2025-11-26T17:02:00.000Z", "videoCodec": "VP8"}]}
    assert publisher["c"] == {"totalCount": 3}
    stats_sql = [sql for sql in log if "stats_samples" in sql]
    assert len(stats_sql) == 3  # one read per selection
    assert all("jitter_ms" not in sql and "audio_codec" not in sql for sql in stats_sql)
    assert sum("video_bitrate_kbps" in sql for sql in stats_sql) == 1
    assert sum("video_codec" in sql for sql in stats_sql) == 1


def test_session_tables_are_fetched_by_their_used_columns(store: DuckDBStore) -> None:
    """The rows of each session table are fetched (through the session_id index, row by row and column by
    column) with the columns the statement over them uses, not `*`: for the stream attributes of a
    subscriber, five columns of publishers instead of fourteen."""
    log: list[str] = []
    executor = logged_executor(store, log)
    query = (f'{{ project(projectId: 12345678) {{ sessionData {{ sessions(sessionIds: ["{fx.S1}"]) {{ resources {{ '
             "sessionId meetings { resources { connections { resources { connectionId } } "
             "publishers { resources { stream { streamId } } } "
             "subscribers { resources { subscriberId stream { streamId videoType } } } } } } } } } }")
    body = executor.run(AuthContext(fx.PROJECT, "project"), query)
    assert "errors" not in body, body
    fetches = [sql for sql in log if "WHERE session_id IN (SELECT unnest($ids" in sql]
    tables = sorted(re.search(r"FROM (\w+) WHERE session_id IN", sql).group(1) for sql in fetches)
    assert tables == ["connections", "meetings", "publishers", "publishers", "sessions", "subscribers"]
    assert not [sql for sql in fetches if sql.startswith("SELECT * ")]
    stream_attrs = [sql for sql in fetches if "FROM publishers" in sql and "ended_at" not in sql]
    assert stream_attrs == ["SELECT project_id, session_id, stream_id, video_type, has_audio, has_video "
                            "FROM publishers WHERE session_id IN (SELECT unnest($ids::VARCHAR[]))"]


def test_a_stats_read_refuses_unknown_columns(store: DuckDBStore) -> None:
    """Stats columns are written into the SQL: only STATS_COLUMNS are accepted."""
    from videoinsights.store.duckdb import reads

    with pytest.raises(ValueError, match="not readable columns"):
        reads.publisher_stats(store.reader(), fx.PROJECT, [(fx.S1, "st1")], (0, fx.NOW_MS), 0, 50,
                              columns=("ts", "1; DROP TABLE sessions"))

def test_sessions_keep_requested_order_skip_unknown_and_page(run: Run) -> None:
    ids = f'["{fx.S2}", "nope", "{fx.S1}", "{fx.S2}", "{fx.PAGED[0]}"]'
    data = sd(run, f"sessions(sessionIds: {ids}) {{ totalCount resources {{ sessionId }} }}")["sessions"]
    assert data == {"totalCount": 3, "resources": [{"sessionId": fx.S2}, {"sessionId": fx.S1},
                                                   {"sessionId": fx.PAGED[0]}]}
    page = sd(run, f"sessions(sessionIds: {ids}, first: 2) {{ pageInfo {{ hasNextPage endCursor }} "
                   "resources { sessionId } }")["sessions"]
    assert page["pageInfo"]["hasNextPage"] is True and len(page["resources"]) == 2
    rest = sd(run, f'sessions(sessionIds: {ids}, first: 2, endCursor: "{page["pageInfo"]["endCursor"]}") '
                   "{ resources { sessionId } }")["sessions"]
    assert rest["resources"] == [{"sessionId": fx.PAGED[0]}]


def test_expired_sessions(run: Run) -> None:
    assert sd_error(run, f'sessions(sessionIds: ["{fx.S3_EXPIRED}"]) {{ totalCount }}')["errorCode"] == 1016
    mixed = sd(run, f'sessions(sessionIds: ["{fx.S3_EXPIRED}", "{fx.S2}"]) {{ resources {{ sessionId }} }}')
    assert mixed["sessions"]["resources"] == [{"sessionId": fx.S2}]
    assert sd_error(run, f'session(sessionId: "{fx.S3_EXPIRED}") {{ sessionId }}')["errorCode"] == 1016


def test_legacy_single_session(run: Run) -> None:
    assert sd(run, f'session(sessionId: "{fx.S2}") {{ sessionId mediaMode }}')["session"] == {
        "sessionId": fx.S2, "mediaMode": "relayed"}
    err = sd_error(run, 'session(sessionId: "nope") { sessionId }')
    assert (err["errorCode"], err["path"]) == (1017, ["project", "sessionData", "session"])


@pytest.mark.parametrize("ids", ["[]", '[""]', "[null]"])
def test_no_session_ids(run: Run, ids: str) -> None:
    err = sd_error(run, f"sessions(sessionIds: {ids}) {{ totalCount }}")
    assert (err["errorCode"], err["path"]) == (1018, ["project", "sessionData", "sessions"])


def test_session_summaries_pages_through_everything(run: Run) -> None:
    seen: list[str] = []
    cursor = ""
    while True:
        data = sd(run, f'sessionSummaries(start: 0, first: 4, endCursor: "{cursor}") {{ totalCount '
                       "pageInfo { hasNextPage endCursor } resources { sessionId } }")["sessionSummaries"]
        assert data["totalCount"] == 15
        seen += [r["sessionId"] for r in data["resources"]]
        if not data["pageInfo"]["hasNextPage"]:
            break
        cursor = data["pageInfo"]["endCursor"]
    # oldest first; the expired session is left out
    assert seen == [fx.S2, *fx.PAGED, fx.S1, fx.S4_TODAY]


def test_session_summary_totals(run: Run) -> None:
    data = sd(run, 'sessionSummaries(start: "2025-11-26", end: "2025-11-26T23:00:00Z") { resources { sessionId '
                   "publisherMinutes subscriberMinutes participantMinutes { from1To4Publishers } meetings { totalCount "
                   "resources { meetingId createdAt destroyedAt publisherMinutes maxConcurrentConnections "
                   "totalSubscribers participantMinutes { from1To2Publishers } } } } }")["sessionSummaries"]
    (s1,) = data["resources"]
    assert (s1["sessionId"], s1["publisherMinutes"], s1["subscriberMinutes"]) == (fx.S1, 35.0, 24.0)
    assert s1["participantMinutes"] == {"from1To4Publishers": 70.0}
    assert s1["meetings"]["totalCount"] == 3
    assert s1["meetings"]["resources"][0] == {
        "meetingId": "m-1a", "createdAt": "2025-11-26T17:00:00.000Z", "destroyedAt": "2025-11-26T17:30:00.000Z",
        "publisherMinutes": 30.0, "maxConcurrentConnections": 2, "totalSubscribers": 2,
        "participantMinutes": {"from1To2Publishers": 50.0}}


@pytest.mark.parametrize("args", ['start: "2025-10-01", end: "2025-10-30"', 'start: "2025-11-20", end: "2025-11-10"'])
def test_session_summaries_bad_ranges(run: Run, args: str) -> None:
    assert sd_error(run, f"sessionSummaries({args}) {{ totalCount }}")["errorCode"] == 1002


def test_advanced_insights_required(run: Run) -> None:
    body = run("{ project(projectId: 100) { projectData(start: 0) { totalCount } sessionData { "
               'sessionSummaries(start: 0) { totalCount } } } }', as_project=fx.DOCS_PROJECT)
    (err,) = body["errors"]
    assert (err["errorCode"], err["path"]) == (1014, ["project", "sessionData"])
    assert body["data"]["project"]["projectData"] == {"totalCount": 1}  # the rest of the query still answers


# -- batching -------------------------------------------------------------------

class CountingCursor:
    """Wraps a DuckDB cursor and counts the statements run through it."""

    def __init__(self, cursor: Any, log: list[str]) -> None:
        self._cursor = cursor
        self._log = log

    def execute(self, sql: str, params: Any = None) -> Any:
        self._log.append(sql)
        return self._cursor.execute(sql, params)

    def sql(self, sql: str, params: Any = None) -> Any:
        self._log.append(sql)
        return self._cursor.sql(sql, params=params)

    def __getattr__(self, name: str) -> Any:  # register / unregister: no statement
        return getattr(self._cursor, name)



def logged_executor(store: DuckDBStore, log: list[str]) -> Executor:
    """An executor on `store` whose every statement is appended to `log`."""
    return Executor(SETTINGS, lambda: CountingCursor(store.reader(), log), store.get_project, clock, sql=store.sql)


N_SESSIONS = 50


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """50 sessions x 3 meetings x 3 connections; each connection publishes a stream with 2 subscribers and
    5 stats samples per publisher and subscriber."""
    store = DuckDBStore(str(Path(tmp_path_factory.mktemp("big")) / "big.duckdb"))
    store.insert_project(Project("55555555", "project", "big", "s" * 40, None, "t", True, fx.NOW_MS))
    t0 = fx.utc("2025-11-25T10:00")
    con = store._con
    con.execute(f"""INSERT INTO sessions (project_id, session_id, media_mode, created_at, last_seen_at,
        meeting_count, publisher_minutes, subscriber_minutes)
        SELECT '55555555', 's' || s, 'routed', {t0}, {t0 + 3_600_000}, 3, 1, 1 FROM range({N_SESSIONS}) t(s)""")
    con.execute(f"""INSERT INTO meetings (project_id, session_id, meeting_index, meeting_id, created_at,
        destroyed_at, publisher_minutes, subscriber_minutes, max_concurrent_connections, max_concurrent_streams,
        max_concurrent_subscribers, total_connections, total_streams, total_subscribers)
        SELECT '55555555', 's' || s, m, 'm' || s || '-' || m, {t0} + m * 1200000, {t0} + m * 1200000 + 600000,
               1, 1, 3, 3, 6, 3, 3, 6 FROM range({N_SESSIONS}) a(s), range(3) b(m)""")
    con.execute(f"""INSERT INTO connections (project_id, session_id, meeting_index, connection_id, created_at,
        ended_at) SELECT '55555555', 's' || s, m, 'c' || m || '-' || c, {t0} + m * 1200000,
        {t0} + m * 1200000 + 600000 FROM range({N_SESSIONS}) a(s), range(3) b(m), range(3) d(c)""")
    con.execute(f"""INSERT INTO publishers (project_id, session_id, meeting_index, stream_id, connection_id,
        created_at, ended_at, minutes) SELECT '55555555', 's' || s, m, 'st' || m || '-' || c, 'c' || m || '-' || c,
        {t0} + m * 1200000, {t0} + m * 1200000 + 600000, 10
        FROM range({N_SESSIONS}) a(s), range(3) b(m), range(3) d(c)""")
    con.execute(f"""INSERT INTO subscribers (project_id, session_id, meeting_index, subscriber_id, stream_id,
        connection_id, created_at, ended_at, minutes)
        SELECT '55555555', 's' || s, m, 'sub' || m || '-' || c || '-' || k, 'st' || m || '-' || c,
               'c' || m || '-' || ((c + 1) % 3), {t0} + m * 1200000, {t0} + m * 1200000 + 600000, 10
        FROM range({N_SESSIONS}) a(s), range(3) b(m), range(3) d(c), range(2) e(k)""")
    for kind, id_col, ids in (("publisherStats", "stream_id", "'st' || m || '-' || c"),
                              ("subscriberStats", "subscriber_id", "'sub' || m || '-' || c || '-0'")):
        con.execute(f"""INSERT INTO raw.stats_samples (project_id, event_id, type, session_id, ts, day, received_at,
            seq, {id_col}, video_bitrate_kbps) SELECT '55555555', '{kind}' || s || m || c || i, '{kind}', 's' || s,
            {t0} + m * 1200000 + i * 30000, DATE '2025-11-25', 0, 0, {ids}, 100 + i
            FROM range({N_SESSIONS}) a(s), range(3) b(m), range(3) d(c), range(5) f(i)""")
    yield store
    store.close()


DEEP = """query($ids: [String]!) { project(projectId: 55555555) { sessionData { sessions(sessionIds: $ids) {
  resources { sessionId meetings { resources { meetingId
    connections { resources { connectionId publishers { resources { stream { streamId } } }
                              subscribers { resources { subscriberId } } } }
    publishers { resources { stream { streamId } streamStatsCollection { resources { videoBitrateKbps } }
                             subscribers { resources { subscriberId streamStatsCollection { totalCount } } } } }
    subscribers { resources { subscriberId stream { streamId videoType } streamStatsCollection {
      resources { createdAt } } } } } } } } } } }"""


def test_statements_do_not_grow_with_the_tree(big: DuckDBStore) -> None:
    log: list[str] = []
    executor = logged_executor(big, log)
    auth = AuthContext("55555555", "project")

    def statements(n: int) -> tuple[int, dict[str, Any]]:
        log.clear()
        body = executor.run(auth, DEEP, {"ids": [f"s{i}" for i in range(n)]})
        assert "errors" not in body, body
        return len(log), body

    one, _ = statements(1)
    fifty, body = statements(N_SESSIONS)
    sessions = body["data"]["project"]["sessionData"]["sessions"]["resources"]
    assert len(sessions) == N_SESSIONS
    meeting = sessions[-1]["meetings"]["resources"][2]
    assert len(meeting["publishers"]["resources"]) == 3
    assert len(meeting["publishers"]["resources"][0]["streamStatsCollection"]["resources"]) == 5
    assert meeting["publishers"]["resources"][0]["subscribers"]["resources"][0]["streamStatsCollection"][
        "totalCount"] == 5
    # per level and field: one statement fetching the rows of the sessions through the session_id index
    # (two for subscribers, which carry their stream's attributes from publishers), then one for the page;
    # stats of parents close in time take one statement (a ts-bounded scan): sessions 2, meetings 2,
    # connections 2, connection publishers 2, connection subscribers 3, meeting publishers 2, publisher
    # stats 1, publisher subscribers 3, their stats 1, meeting subscribers 3, their stats 1
    assert one == fifty == 22


def test_stats_of_parents_far_apart_take_the_index_path(big: DuckDBStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """Stats of parents hours apart are fetched through the session_id index; same answer as the scan."""
    from videoinsights.store.duckdb import reads

    executor = Executor(SETTINGS, big.reader, big.get_project, clock)
    auth = AuthContext("55555555", "project")
    variables = {"ids": [f"s{i}" for i in range(N_SESSIONS)]}
    scanned = executor.run(auth, DEEP, variables)
    log: list[str] = []
    counting = logged_executor(big, log)
    monkeypatch.setattr(reads, "_NARROW_STATS_SPAN_MS", -1)
    indexed = counting.run(auth, DEEP, variables)
    assert "errors" not in indexed and indexed == scanned
    assert sum("FROM stats_samples WHERE session_id IN" in sql for sql in log) == 3
