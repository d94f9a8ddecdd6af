"""The HTTP poster against a tiny real server on 127.0.0.1 (see fake_server.py)."""

from __future__ import annotations

import io
import socket
import time

from tests.simulate.fake_server import TOKEN
from videoinsights.simulate import post_events
from videoinsights.simulate.poster import RateLimiter


def events(n: int, prefix: str = "e") -> list[dict]:
    return [{"id": f"{prefix}{i}", "type": "sessionCreated", "sessionId": "s1", "timestamp": 1_700_000_000_000 + i}
            for i in range(n)]


def test_posts_every_event_in_batches_with_a_fresh_token(server, recorder):
    url, rec = server
    calls = []

    def token() -> str:
        calls.append(1)
        return TOKEN

    stats = post_events(url + "/", token, events(2_345), batch_size=500, concurrency=3, progress=None)
    assert stats.ok and stats.sent == 2_345 and stats.accepted == 2_345 and stats.acknowledged == 2_345
    assert set(rec.ids) == {f"e{i}" for i in range(2_345)}
    assert sorted(n for _, n in rec.requests) == [345, 500, 500, 500, 500]
    assert {t for t, _ in rec.requests} == {TOKEN} and len(calls) == 5
    assert len(stats.latencies_ms) == 5 and 0 < stats.latency_ms(0.5) <= stats.latency_ms(0.99)


def test_server_errors_are_retried_and_retries_are_deduplicated(server, recorder):
    url, rec = server
    rec.fail_next = 3
    stats = post_events(url, lambda: TOKEN, events(1_000), batch_size=250, concurrency=2, progress=None)
    assert stats.ok and stats.retried == 3 and stats.accepted == 1_000
    # Posting the same events again: all duplicates, nothing new stored.
    again = post_events(url, lambda: TOKEN, events(1_000), batch_size=250, concurrency=2, progress=None)
    assert again.accepted == 0 and again.duplicates == 1_000 and again.acknowledged == 1_000
    assert len(rec.ids) == 1_000


def test_rejections_are_counted_and_reported(server, recorder):
    url, _ = server
    batch = events(10)
    batch[4]["type"] = "bogus"
    stats = post_events(url, lambda: TOKEN, batch, batch_size=100, concurrency=1, progress=None)
    assert stats.accepted == 9 and stats.rejected == 1 and not stats.ok
    assert any("e4" in e and "unknown type" in e for e in stats.errors)


def test_too_large_batches_are_split(server, recorder):
    url, rec = server
    rec.max_events = 100
    stats = post_events(url, lambda: TOKEN, events(600), batch_size=300, concurrency=2, progress=None)
    assert stats.ok and stats.accepted == 600 and len(rec.ids) == 600


def test_a_bad_token_stops_the_run(server, recorder):
    url, _ = server
    stats = post_events(url, lambda: "wrong", events(5_000), batch_size=100, concurrency=2, progress=None)
    assert stats.aborted and not stats.ok and stats.accepted == 0
    assert any("401" in e for e in stats.errors)


def test_unreachable_server_gives_up_after_retries():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    stats = post_events(f"http://127.0.0.1:{port}", lambda: TOKEN, events(10), batch_size=10, concurrency=1,
                        max_retries=2, progress=None)
    assert stats.failed == 10 and stats.retried == 2 and not stats.ok


def test_rate_limits_to_a_steady_pace(server, recorder):
    url, _ = server
    started = time.monotonic()
    stats = post_events(url, lambda: TOKEN, events(1_000), batch_size=100, concurrency=2, rate=2_000, progress=None)
    took = time.monotonic() - started
    assert stats.accepted == 1_000
    assert took >= 0.45  # 10 batches of 100 at 2000/s: the last leaves 0.45 s after the first


def test_rate_limiter_schedule():
    now = [0.0]
    slept = []

    def sleep(s: float) -> None:
        slept.append(round(s, 6))
        now[0] += s

    limiter = RateLimiter(100, clock=lambda: now[0], sleep=sleep)
    for _ in range(4):
        limiter.wait(50)
    assert slept == [0.5, 0.5, 0.5]


def test_progress_line(server, recorder):
    url, _ = server
    out = io.StringIO()
    post_events(url, lambda: TOKEN, events(300), batch_size=100, concurrency=1, progress=out)
    last = out.getvalue().strip().splitlines()[-1]
    assert "300 sent" in last and "300 acknowledged" in last and "0 rejected" in last and "retried" in last
