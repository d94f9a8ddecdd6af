"""The session inspector charts the stream metrics beyond Vonage's (jitter, RTT, frame rate, freezes,
available outgoing bitrate, quality limitation) when the samples carry them, and says so when not."""

from __future__ import annotations

import time
from typing import Any

import httpx

from tests.browser.conftest import ink, login, screenshot, wait_ready
from tests.browser.world import World

NEW_CHARTS = ("jitter", "rtt", "fps", "freezes", "available", "limitation")


def post_session(world: World, session_id: str, with_new_metrics: bool) -> None:
    """One publisher and one subscriber, 10 samples each, in the second project (alice may read it)."""
    t0 = int(time.time() * 1000) - 15 * 60_000
    ev: list[dict[str, Any]] = []

    def add(kind: str, t: int, **fields: Any) -> None:
        ev.append({"id": f"{session_id}-{len(ev)}", "type": kind, "sessionId": session_id, "timestamp": t0 + t,
                   **fields})

    add("connectionCreated", 0, connectionId="pub-conn", sdkType="JS")
    add("streamCreated", 1000, streamId="cam", connectionId="pub-conn", videoType="camera", hasAudio=True,
        hasVideo=True)
    add("connectionCreated", 2000, connectionId="sub-conn", sdkType="JS")
    add("subscriberCreated", 3000, subscriberId="sub", streamId="cam", connectionId="sub-conn")
    for i in range(10):
        capped = 4 <= i < 7  # a bandwidth cut in the middle
        pub = {"videoBitrateKbps": 300.0 if capped else 1200.0, "videoLatencyMs": 60.0 + i, "videoPacketLoss": 0.01}
        sub = {"videoBitrateKbps": 280.0 if capped else 1100.0, "videoLatencyMs": 90.0 + i, "videoPacketLoss": 0.02}
        if with_new_metrics:
            pub.update(jitterMs=4.0 + i, roundTripMs=40.0 + 2 * i, frameRate=15.0 if capped else 30.0,
                       qualityLimitationReason="bandwidth" if capped else "none",
                       availableOutgoingBitrateKbps=350.0 if capped else 2500.0)
            sub.update(jitterMs=6.0 + i, roundTripMs=45.0 + i, frameRate=14.0 if capped else 29.0,
                       freezeCount=2 if capped else 0)
        add("publisherStats", 30_000 * (i + 1), streamId="cam", **pub)
        add("subscriberStats", 30_000 * (i + 1) + 500, subscriberId="sub", **sub)
    add("subscriberDestroyed", 330_000, subscriberId="sub")
    add("streamDestroyed", 340_000, streamId="cam")
    add("connectionDestroyed", 350_000, connectionId="sub-conn")
    add("connectionDestroyed", 350_000, connectionId="pub-conn")
    r = httpx.post(f"{world.url}/v1/events", json=ev, headers=world.second.headers(), timeout=30)
    assert r.json()["accepted"] == len(ev), r.text


def open_inspector(page: Any, world: World, session_id: str) -> None:
    login(page, world, next_path=f"/sessions/{session_id}?project={world.second.project_id}")
    wait_ready(page)
    page.locator("details.stream[open] [data-metric=kbps] canvas").wait_for()


def test_inspector_charts_the_new_metrics(page: Any, world: World) -> None:
    post_session(world, "metrics-new", with_new_metrics=True)
    world.server.wait_derived()
    open_inspector(page, world, "metrics-new")
    stream = "details.stream[open]"
    for metric in ("kbps", "ms", "%", *NEW_CHARTS):
        assert page.locator(f"{stream} [data-metric='{metric}'] canvas").count() == 1, metric
        assert ink(page, f"{stream} [data-metric='{metric}']") > 0.005, metric
    screenshot(page, "inspector-stream-metrics")


def test_inspector_says_when_older_clients_sent_none(page: Any, world: World) -> None:
    post_session(world, "metrics-old", with_new_metrics=False)
    world.server.wait_derived()
    open_inspector(page, world, "metrics-old")
    stream = "details.stream[open]"
    assert ink(page, f"{stream} [data-metric='kbps']") > 0.005
    for metric in NEW_CHARTS:
        assert page.locator(f"{stream} [data-metric='{metric}'] canvas").count() == 0, metric
    text = page.inner_text(stream)
    assert "No jitter reported." in text and "No quality limitation reported." in text
