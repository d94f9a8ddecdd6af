"""Archives, broadcasts, SIP calls and Experience Composers; lost destroys when configured."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import replace

import pytest

from tests.simulate.conftest import PROJECT, START_MS
from tests.simulate.helpers import lifetimes, vocabulary_errors
from videoinsights.simulate import DEFAULT_CONFIG, generate
from videoinsights.simulate.config import AddOnRates

EVERYTHING = AddOnRates(archive=1.0, broadcast=1.0, sip=1.0, composer=1.0)
CONFIG = replace(DEFAULT_CONFIG, stats=False, shapes=tuple(
    replace(s, addons=EVERYTHING) if s.media_mode == "routed" else s for s in DEFAULT_CONFIG.shapes))


@pytest.fixture(scope="module")
def run() -> list[dict]:
    return list(generate(PROJECT, START_MS, 1, 60, seed=21, config=CONFIG))


def test_archives(run):
    a = CONFIG.addons
    started = [ev for ev in run if ev["type"] == "archiveStarted"]
    modes = Counter(ev["outputMode"] for ev in started)
    assert modes["composed"] and modes["individual"]
    for ev in started:
        if ev["outputMode"] == "composed":
            assert ev["resolution"] in dict(a.archive_resolutions) and "streamCount" not in ev
        else:
            assert ev["streamCount"] >= 1 and "resolution" not in ev
    assert {"640x480", "1280x720"} <= {ev.get("resolution") for ev in started}  # SD and HD composed
    lives = lifetimes(run, "archiveStarted", "archiveStopped", "archiveId")
    for life in lives.values():
        stopped = next(ev for ev in run if ev["type"] == "archiveStopped" and ev["archiveId"] == life.created_event[
            "archiveId"])
        assert {k: stopped.get(k) for k in ("outputMode", "resolution", "streamCount")} == {
            k: life.created_event.get(k) for k in ("outputMode", "resolution", "streamCount")}


def test_broadcasts(run):
    started = [ev for ev in run if ev["type"] == "broadcastStarted"]
    assert Counter(ev["hls"] for ev in started).keys() == {True, False}
    for ev in started:
        assert ev["rtmpCount"] >= (0 if ev["hls"] else 1)
        assert ev["resolution"] in dict(CONFIG.addons.broadcast_resolutions)


def test_sip_calls_bring_an_audio_only_gateway_connection(run):
    calls = lifetimes(run, "sipCallStarted", "sipCallStopped", "callId")
    assert calls
    sip_conns = [ev for ev in run if ev["type"] == "connectionCreated" and "sdkVersion" not in ev]
    assert len(sip_conns) == len(calls)
    conn_ids = {ev["connectionId"] for ev in sip_conns}
    sip_streams = [ev for ev in run if ev["type"] == "streamCreated" and ev["connectionId"] in conn_ids]
    assert sip_streams and all(ev["hasVideo"] is False and "videoType" not in ev for ev in sip_streams)
    assert not [ev for ev in run if ev["type"] == "subscriberCreated" and ev["connectionId"] in conn_ids]


def test_experience_composers(run):
    started = [ev for ev in run if ev["type"] == "experienceComposerStarted"]
    assert {ev["destination"] for ev in started} == {"session", "archive", "broadcast"}
    stopped = [ev for ev in run if ev["type"] == "experienceComposerStopped"]
    assert len(stopped) == len(started) and all("resolution" not in ev for ev in stopped)


def test_addons_run_while_the_session_has_clients_and_never_in_relayed_sessions(run):
    span: dict[str, list[int]] = defaultdict(list)
    relayed = set()
    for ev in run:
        if ev["type"] in ("connectionCreated", "connectionDestroyed"):
            span[ev["sessionId"]].append(ev["timestamp"])
        if ev["type"] == "sessionCreated" and ev["mediaMode"] == "relayed":
            relayed.add(ev["sessionId"])
    addon_types = {t for t in Counter(ev["type"] for ev in run) if t.endswith(("Started", "Stopped"))}
    assert len(addon_types) == 8
    for ev in run:
        if ev["type"] in addon_types:
            assert ev["sessionId"] not in relayed
            assert min(span[ev["sessionId"]]) < ev["timestamp"] < max(span[ev["sessionId"]])
    assert not [e for ev in run for e in vocabulary_errors(ev)]


def test_lost_destroys_when_configured():
    lossy = replace(DEFAULT_CONFIG, behaviour=replace(DEFAULT_CONFIG.behaviour, lost_destroy=0.2))
    events = list(generate(PROJECT, START_MS, 1, 12, seed=4, config=lossy))
    for create, destroy, key in (("connectionCreated", "connectionDestroyed", "connectionId"),
                                 ("streamCreated", "streamDestroyed", "streamId"),
                                 ("subscriberCreated", "subscriberDestroyed", "subscriberId")):
        lives = lifetimes(events, create, destroy, key)  # still: no destroy without a create
        missing = sum(1 for life in lives.values() if life.destroyed is None)
        assert 0.1 < missing / len(lives) < 0.3, create
    # Stats stop where the entity ended even when its destroy was lost.
    ends = {}
    for ev in generate(PROJECT, START_MS, 1, 12, seed=4):
        if ev["type"] == "streamDestroyed":
            ends[ev["streamId"]] = ev["timestamp"]
    assert all(ev["timestamp"] < ends[ev["streamId"]] for ev in events if ev["type"] == "publisherStats")
