"""The collector end to end: Chromium's own WebRTC stack (fake camera 640x480 and microphone), the
bundle served at /collector.js, a real client key, a real server, and what the Insights API shows.

The test page (pages/loopback.js, on its own origin) runs one publisher sending one MediaStream to
two subscribers over loopback peer connections, one collector per client (three connections), with
1-second snapshots. It keeps every event its collectors queued in `window.generated`.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any
from urllib.parse import urlencode

from tests.collector.conftest import CallWorld, PageWatch

INTERVAL_MS = 1000
CAP_INTERVAL_MS = 6000


def start_call(page: Any, world: CallWorld, key: str, session: str, interval_ms: int = INTERVAL_MS,
               **extra: str) -> None:
    query = urlencode({"server": world.url, "key": key, "session": session, "interval": interval_ms, "backoff": 2000,
                       **extra})
    page.goto(f"{world.pages}/loopback.html?{query}")
    page.wait_for_function("window.ready === true", timeout=60_000)


def publisher(meetings: list[dict[str, Any]]) -> dict[str, Any]:
    return meetings[0]["publishers"]["resources"][0]  # type: ignore[no-any-return]


def stats(entity: dict[str, Any]) -> list[dict[str, Any]]:
    return entity["streamStatsCollection"]["resources"]  # type: ignore[no-any-return]


def call_complete(meetings: list[dict[str, Any]]) -> bool:
    """Three connections, the stream, two subscribers, and video stats on both sides."""
    m = meetings[0]
    return (m["connections"]["totalCount"] == 3 and m["publishers"]["totalCount"] == 1
            and m["subscribers"]["totalCount"] == 2
            and any((s["videoBitrateKbps"] or 0) > 0 for s in stats(publisher(meetings)))
            and all(any((s["videoBitrateKbps"] or 0) > 0 for s in stats(sub)) for sub in m["subscribers"]["resources"]))


def generated(page: Any) -> list[dict[str, Any]]:
    return page.evaluate("window.generated")  # type: ignore[no-any-return]


def test_call_shows_in_the_api(call_page: tuple[Any, PageWatch], call_world: CallWorld) -> None:
    page, watch = call_page
    start_call(page, call_world, call_world.client_key(), "loopback-1")
    stream_id = page.evaluate("window.localStreamId")

    meetings = call_world.wait_for("loopback-1", call_complete)
    assert len(meetings) == 1
    m = meetings[0]
    connections = m["connections"]["resources"]
    assert {c["browser"] for c in connections} == {"CHROME"}
    assert {c["sdkType"] for c in connections} == {"JS"}
    pub = publisher(meetings)
    assert pub["stream"] == {"streamId": stream_id, "hasAudioTrack": True, "hasVideoTrack": True, "videoType": "camera"}
    subscribers = m["subscribers"]["resources"]
    assert [s["stream"]["streamId"] for s in subscribers] == [stream_id, stream_id]
    assert len({s["connectionId"] for s in subscribers} | {pub["connectionId"]}) == 3  # three distinct clients
    for entity in (pub, *subscribers):
        samples = [s for s in stats(entity) if (s["videoBitrateKbps"] or 0) > 0]
        assert samples, entity
        assert {s["videoResolution"] for s in samples} == {"640x480"}  # the fake camera's
        assert all(s["frameRate"] > 0 for s in samples)
        assert all(s["roundTripMs"] is not None for s in samples)
    assert watch.errors == []
    assert page.evaluate("window.pageErrors") == []


def test_bandwidth_cap_shows_within_two_intervals(call_page: tuple[Any, PageWatch], call_world: CallWorld) -> None:
    # Chromium's encoder gives up resolution (qualityLimitationReason "bandwidth") about 5 s after
    # a cap (measured: frame rate first, resolution next); 6-second snapshots let two intervals cover that.
    page, _ = call_page
    start_call(page, call_world, call_world.client_key(), "loopback-cap", interval_ms=CAP_INTERVAL_MS)
    call_world.wait_for("loopback-cap", call_complete)
    before = [e for e in generated(page) if e["type"] == "publisherStats" and "videoBitrateKbps" in e]
    assert max(e["videoBitrateKbps"] for e in before) > 200  # uncapped, the fake camera needs more

    capped_at = page.evaluate("Date.now()")
    page.evaluate("window.capBitrate(100)")
    deadline = time.monotonic() + 10 * CAP_INTERVAL_MS / 1000  # generous: a loaded machine snapshots late
    after: list[dict[str, Any]] = []
    while time.monotonic() < deadline and len(after) < 2:
        after = [e for e in generated(page) if e["type"] == "publisherStats" and e["timestamp"] > capped_at]
        time.sleep(0.2)
    assert len(after) >= 2, after
    second = after[1]  # the first snapshot wholly after the cap
    assert 50 <= second["videoBitrateKbps"] <= 130, after[:2]  # payload bitrate under a 100 kbps cap
    assert second["qualityLimitationReason"] == "bandwidth", after[:2]

    def capped_in_api(meetings: list[dict[str, Any]]) -> bool:
        return any(s["createdAt"] and s["qualityLimitationReason"] == "bandwidth" and s["videoBitrateKbps"] <= 130
                   for s in stats(publisher(meetings)))

    call_world.wait_for("loopback-cap", capped_in_api)


def test_server_down_15_s_every_event_stored_once(call_page: tuple[Any, PageWatch], call_world: CallWorld) -> None:
    page, watch = call_page
    start_call(page, call_world, call_world.client_key(), "loopback-down")
    call_world.wait_for("loopback-down", call_complete)
    call_world.server.stop()
    time.sleep(15)  # the page keeps calling and queueing; every send fails
    call_world.server.start()
    # the collectors' own retries (not a flush) empty their queues once the server is back
    page.wait_for_function("window.pending() === 0", timeout=60_000)
    page.evaluate("window.closeAll()")  # final snapshots and destroyed events, flushed
    events = generated(page)
    ids = [e["id"] for e in events]
    assert len(ids) == len(set(ids))
    down = [e for e in events if e["type"] in ("publisherStats", "subscriberStats")]
    assert len(down) > 3 * 15  # ~1 snapshot a second per client, most of them made while the server was down

    stats_per_entity = Counter(e.get("streamId") or e.get("subscriberId") for e in down)

    def all_stored(meetings: list[dict[str, Any]]) -> bool:
        m = meetings[0]
        pub = publisher(meetings)
        stored = {pub["stream"]["streamId"]: pub["streamStatsCollection"]["totalCount"]}
        stored.update({s["subscriberId"]: s["streamStatsCollection"]["totalCount"]
                       for s in m["subscribers"]["resources"]})
        return stored == dict(stats_per_entity) and all(c["destroyedAt"] for c in m["connections"]["resources"])

    meetings = call_world.wait_for("loopback-down", all_stored, timeout=90)
    m = meetings[0]
    assert m["connections"]["totalCount"] == 3
    assert m["publishers"]["totalCount"] == 1 and m["subscribers"]["totalCount"] == 2
    assert publisher(meetings)["destroyedAt"] is not None
    assert all(s["destroyedAt"] for s in m["subscribers"]["resources"])
    assert watch.errors == [] and page.evaluate("window.pageErrors") == []


def test_leaving_the_page_delivers_the_final_snapshot_and_destroyed_events(
        call_page: tuple[Any, PageWatch], call_world: CallWorld) -> None:
    page, watch = call_page
    # One snapshot a minute: the only snapshots of this call are the ones taken as the page goes away.
    start_call(page, call_world, call_world.client_key(), "loopback-leave", interval_ms=60_000)
    call_world.wait_for("loopback-leave", lambda m: m[0]["connections"]["totalCount"] == 3
                        and m[0]["subscribers"]["totalCount"] == 2)
    page.goto(f"{call_world.pages}/away.html")
    events = page.evaluate("JSON.parse(localStorage.getItem('generated'))")
    final = [e for e in events if e["type"] in ("publisherStats", "subscriberStats")]
    assert {e["type"] for e in final} == {"publisherStats", "subscriberStats"}
    assert all(e["late"] for e in final)  # taken after the navigation started
    destroyed = Counter(e["type"] for e in events if e["type"].endswith("Destroyed"))
    assert destroyed == {"connectionDestroyed": 3, "streamDestroyed": 1, "subscriberDestroyed": 2}

    def delivered(meetings: list[dict[str, Any]]) -> bool:
        m = meetings[0]
        return (all(c["destroyedAt"] for c in m["connections"]["resources"])
                and publisher(meetings)["destroyedAt"] is not None
                and all(s["destroyedAt"] for s in m["subscribers"]["resources"])
                and publisher(meetings)["streamStatsCollection"]["totalCount"] == 1
                and all(s["streamStatsCollection"]["totalCount"] == 1 for s in m["subscribers"]["resources"]))

    meetings = call_world.wait_for("loopback-leave", delivered)
    assert (stats(publisher(meetings))[0]["videoBitrateKbps"] or 0) > 0
    assert watch.errors == []


def test_revoked_key_stops_the_collector_quietly(call_page: tuple[Any, PageWatch], call_world: CallWorld) -> None:
    page, watch = call_page
    key = call_world.client_key()
    start_call(page, call_world, key, "loopback-revoked")
    call_world.wait_for("loopback-revoked", call_complete)
    from tests.conftest import cli

    cli(call_world.server.db, "keys", "revoke", key)
    page.wait_for_function("window.allStopped()", timeout=60_000)
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if "/v1/events" in r.url else None)
    time.sleep(3 * INTERVAL_MS / 1000)
    assert posts == []  # stopped: nothing more is sent
    refusals = [w for w in watch.warnings if "refused" in w]
    assert len(refusals) == 3, watch.warnings  # once per collector
    assert watch.errors == []
    assert page.evaluate("window.pageErrors") == []


def test_page_at_another_origin_is_refused_by_cors(call_page: tuple[Any, PageWatch], call_world: CallWorld) -> None:
    # The key allows the test pages' origin (http://127.0.0.1:PORT); the same page from
    # http://localhost:PORT is another origin: the browser refuses the answers, the server stores nothing.
    page, watch = call_page
    key = call_world.client_key()
    posts: list[str] = []
    failed: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if "/v1/events" in r.url else None)
    page.on("requestfailed", lambda r: failed.append(r.url) if "/v1/events" in r.url else None)
    other = call_world.pages.replace("127.0.0.1", "localhost")
    query = urlencode({"server": call_world.url, "key": key, "session": "loopback-cors", "interval": INTERVAL_MS})
    page.goto(f"{other}/loopback.html?{query}")
    page.wait_for_function("window.ready === true", timeout=60_000)
    page.wait_for_function("window.generated.some((e) => e.type === 'publisherStats')", timeout=60_000)
    page.wait_for_timeout(2000)
    assert posts and failed  # the collector tried; the browser would not let it read the answers
    assert call_world.meetings("loopback-cors") == []  # and the server kept nothing
    assert not page.evaluate("window.allStopped()")  # indistinguishable from a network error: it retries
    assert watch.errors == [] and page.evaluate("window.pageErrors") == []


def test_wrap_mode_instruments_every_peer_connection(call_page: tuple[Any, PageWatch], call_world: CallWorld) -> None:
    # One collector wraps RTCPeerConnection before the page makes its four: one client that
    # publishes its stream on two pcs (one stream) and receives it on two (two subscribers).
    page, watch = call_page
    start_call(page, call_world, call_world.client_key(), "loopback-wrap", wrap="1")
    assert page.evaluate("window.allInstances")  # the wrapped constructor still makes real RTCPeerConnections
    stream_id = page.evaluate("window.localStreamId")

    def seen(meetings: list[dict[str, Any]]) -> bool:
        m = meetings[0]
        return (m["subscribers"]["totalCount"] == 2 and m["publishers"]["totalCount"] == 1
                and any((s["videoBitrateKbps"] or 0) > 0 for s in stats(publisher(meetings))))

    meetings = call_world.wait_for("loopback-wrap", seen)
    m = meetings[0]
    assert m["connections"]["totalCount"] == 1
    assert publisher(meetings)["stream"]["streamId"] == stream_id
    assert [s["stream"]["streamId"] for s in m["subscribers"]["resources"]] == [stream_id, stream_id]
    assert watch.errors == [] and page.evaluate("window.pageErrors") == []
