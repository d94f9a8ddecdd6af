"""Quality in Chromium (docs/quality.md): the inspector marks detected issues on the timeline row of the affected
stream or participant and shades them on the stream's charts; the dashboard's Quality tab shows sessions by score
and issues by type over time.

Its own server and project, with sessions posted over HTTP whose scores and issue windows are worked out by hand
(tests/query/test_score_distribution.py explains the scores)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.browser.conftest import screenshot, wait_ready
from tests.conftest import ProjectCreds, Server, create_login, create_project, free_port
from tests.query.test_score_distribution import audio_call, scenario
from videoinsights.domain.days import day_start_ms, la_day

PASSWORD = "correct horse battery"
EMAIL = "quality@example.com"
MIN = 60_000
HOUR = 60 * MIN


def marked_call(session: str, t0: int) -> list[dict[str, Any]]:
    """20 minutes: A publishes audio stream S, B subscribes (subscriber U) and both send a sample every 30 s.
    A's samples 11-20 (5:30-10:00) have 5% loss and RTT 300 ms: high_packet_loss and high_rtt on S from 5:00
    (the 5:30 sample minus its 30 s) to 10:00, participant A. B's samples 31-36 (15:30-18:00) have 50 ms
    jitter (threshold 30): high_jitter on U from 15:00 to 18:00, participant B."""
    ev = [e for e in audio_call(session, t0, 20, 50.0, 0.0) if e["type"] != "publisherStats"]
    for k in range(1, 41):
        bad = 11 <= k <= 20
        at = t0 + k * 30_000
        ev.append({"id": f"{session}-p{k}", "type": "publisherStats", "sessionId": session, "timestamp": at,
                   "streamId": f"{session}-S", "roundTripMs": 300.0 if bad else 50.0,
                   "audioPacketLoss": 0.05 if bad else 0.0})
        ev.append({"id": f"{session}-s{k}", "type": "subscriberStats", "sessionId": session, "timestamp": at,
                   "subscriberId": f"{session}-U", "jitterMs": 50.0 if 31 <= k <= 36 else 10.0})
    return ev


@dataclass
class Site:
    server: Server
    creds: ProjectCreds
    day1: date
    marked_t0: int


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    db = tmp_path_factory.mktemp("quality-views") / "vi.duckdb"
    creds = create_project(db, "Quality by hand", project_id="55560001")
    create_login(db, EMAIL, PASSWORD, (creds.project_id,))
    server = Server(db, free_port())
    server.start()
    now = int(time.time() * 1000)
    _, _, _, events = scenario(now)
    marked_t0 = day_start_ms(la_day(now) - timedelta(days=1)) + 10 * HOUR
    events += marked_call("marked", marked_t0)
    r = httpx.post(f"{server.url}/v1/events", json=events, headers=creds.headers())
    assert r.json()["accepted"] == len(events)
    server.wait_derived()
    yield Site(server, creds, la_day(now) - timedelta(days=3), marked_t0)
    server.stop()


def login(page: Any, site: Site, path: str) -> None:
    page.goto(f"{site.server.url}/login?next={quote(path, safe='/')}")
    page.fill("input[name=email]", EMAIL)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(re.escape(site.server.url + path.split("?")[0])))
    wait_ready(page)


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def box(page: Any, selector: str) -> dict[str, float]:
    boxes = page.locator(selector)
    assert boxes.count() == 1, selector
    found = boxes.first.bounding_box()
    assert found is not None and found["width"] > 0 and found["height"] > 0, selector
    return found  # type: ignore[no-any-return]


def assert_linear_in_time(first: dict[str, float], second: dict[str, float],
                          spans: tuple[tuple[int, int], ...]) -> None:
    """Two boxes drawn for the minute spans (start, end) lie on one linear time axis: the first's width gives
    the pixels per minute, which must place the second's edges."""
    (s1, e1), (s2, e2) = spans
    per_minute = first["width"] / (e1 - s1)
    assert second["width"] == pytest.approx((e2 - s2) * per_minute, abs=2.5)
    assert second["x"] - first["x"] == pytest.approx((s2 - s1) * per_minute, abs=2.5)


def test_inspector_marks_issues_on_the_affected_rows_and_charts(page: Any, site: Site) -> None:
    login(page, site, f"/sessions/marked?project={site.creds.project_id}")
    t0 = site.marked_t0
    loss = {"issue-type": "high_packet_loss", "start": iso(t0 + 5 * MIN), "end": iso(t0 + 10 * MIN),
            "connection": "marked-A", "row": "stream:marked-S"}
    jitter = {"issue-type": "high_jitter", "start": iso(t0 + 15 * MIN), "end": iso(t0 + 18 * MIN),
              "connection": "marked-B", "row": "connection:marked-B"}

    marks = page.locator("#meeting-timeline .timeline-mark")
    shown = sorted((marks.nth(i).get_attribute("data-issue-type"), marks.nth(i).get_attribute("data-row"))
                   for i in range(marks.count()))
    assert shown == [("high_jitter", "connection:marked-B"), ("high_packet_loss", "stream:marked-S"),
                     ("high_rtt", "stream:marked-S")]

    def selector(attrs: dict[str, str], prefix: str) -> str:
        return prefix + "".join(f"[data-{k}='{v}']" for k, v in attrs.items())

    loss_mark = box(page, selector(loss, "#meeting-timeline .timeline-mark"))
    jitter_mark = box(page, selector(jitter, "#meeting-timeline .timeline-mark"))
    rtt_mark = box(page, "#meeting-timeline .timeline-mark[data-issue-type=high_rtt]")
    assert rtt_mark == pytest.approx(loss_mark)  # same stream, same window
    assert_linear_in_time(loss_mark, jitter_mark, ((5, 10), (15, 18)))
    # rows: connection A, connection B, then stream S: B's mark lies above the stream's
    assert jitter_mark["y"] + jitter_mark["height"] <= loss_mark["y"]
    assert "packet loss 5% (threshold 3%)" in page.locator(
        "#meeting-timeline .timeline-mark[data-issue-type=high_packet_loss]").get_attribute("title")

    # the stream's charts: each issue shaded on the chart of its metric, the subscriber's jitter included
    stream = "details.stream[data-stream='marked-S']"
    on_chart = {k: v for k, v in loss.items() if k != "row"}
    loss_band = box(page, selector(on_chart, f"{stream} [data-metric='%'] .issue-band"))
    box(page, f"{stream} [data-metric='rtt'] .issue-band[data-issue-type=high_rtt]")
    jitter_band = box(page, f"{stream} [data-metric='jitter'] .issue-band[data-issue-type=high_jitter]")
    assert page.locator(f"{stream} [data-metric='jitter'] .issue-band").count() == 1
    assert page.locator(f"{stream} [data-metric='kbps'] .issue-band").count() == 0
    # the loss and jitter charts have the same time axis (samples 0:30-20:00 on both): one linear scale
    loss_band["x"] -= box(page, f"{stream} [data-metric='%'] canvas")["x"]
    jitter_band["x"] -= box(page, f"{stream} [data-metric='jitter'] canvas")["x"]
    assert_linear_in_time(loss_band, jitter_band, ((5, 10), (15, 18)))
    items = page.locator(f"{stream} .issue-list .issue-item")
    assert items.count() == 3
    assert "High jitter" in page.locator(f"{stream} .issue-item[data-issue-type=high_jitter]").inner_text()
    assert "3 issues detected" in page.inner_text("[data-kpi=score]")
    screenshot(page, "inspector-issues")


def table(page: Any, card: str) -> dict[str, dict[str, str]]:
    """A card's data table: row label -> column label -> exact value."""
    heads = page.locator(f"{card} .data-table thead th")
    columns = [heads.nth(i).text_content() for i in range(1, heads.count())]  # the table is folded: text_content
    out: dict[str, dict[str, str]] = {}
    rows = page.locator(f"{card} .data-table tbody tr")
    for i in range(rows.count()):
        row = rows.nth(i)
        cells = row.locator("td")
        out[row.locator("th").text_content()] = {c: cells.nth(j).get_attribute("data-value")
                                               for j, c in enumerate(columns)}
    return out


def test_quality_tab_shows_sessions_by_score_and_issues_by_type(page: Any, site: Site) -> None:
    today = site.day1 + timedelta(days=3)
    login(page, site, f"/dashboard?project={site.creds.project_id}&tab=quality&start={site.day1}&end={today}"
                      "&interval=DAILY")
    # clean1, clean2, marked in 4-4.5; bad (5% loss, RTT 300) in 3.5-4; lossy (20% loss) in 2.5-3; silent unscored
    scores = table(page, "#quality-score-distribution")
    assert {label: row["Sessions"] for label, row in scores.items()} == {
        "score 1–1.5": "0", "score 1.5–2": "0", "score 2–2.5": "0", "score 2.5–3": "1", "score 3–3.5": "0",
        "score 3.5–4": "1", "score 4–4.5": "3", "score 4.5–5": "0"}
    issues = table(page, "#quality-issues-trend")

    def label(d: date) -> str:
        return f"{d:%b} {d.day}"

    day2, day3 = site.day1 + timedelta(days=1), site.day1 + timedelta(days=2)
    assert issues == {
        label(site.day1): {"High packet loss": "1", "High round-trip time": "0", "High jitter": "0"},
        label(day2): {"High packet loss": "1", "High round-trip time": "1", "High jitter": "0"},
        label(day3): {"High packet loss": "1", "High round-trip time": "1", "High jitter": "1"},
        label(today): {"High packet loss": "0", "High round-trip time": "0", "High jitter": "0"},
    }
    screenshot(page, "dashboard-quality-scores")

    # a location filter: the score distribution is per session, so the card says why it is empty
    page.goto(f"{site.server.url}/dashboard?project={site.creds.project_id}&tab=quality&start={site.day1}"
              f"&end={today}&interval=DAILY&country=US")
    wait_ready(page)
    assert "not available with location" in page.inner_text("#quality-score-distribution")
