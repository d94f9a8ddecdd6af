"""The compiled fast path (ingest/fast.py) accepts only what the Python path accepts, and gives exactly
the same columns; anything else it hands back (None) to the Python path, which makes the errors."""

from __future__ import annotations

import json
import time
from datetime import date
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz.test_event_fuzz import broken_event, valid_event
from videoinsights.domain.days import la_day
from videoinsights.ingest.batch import validate_events
from videoinsights.ingest.fast import fast_validate
from videoinsights.ingest.parse import BodyError, parse_body

NOW = int(time.time() * 1000)
WINDOW = (NOW - 21 * 86_400_000, NOW + 300_000)
PID = "12345678"


def both(body: bytes, max_events: int = 1000) -> tuple[Any, Any]:
    fast = fast_validate(body, PID, NOW, *WINDOW, max_events)
    try:
        slow = validate_events(parse_body(body), PID, NOW, *WINDOW)
    except BodyError:
        slow = None
    return fast, slow


def stats(i: int, **extra: Any) -> dict[str, Any]:
    return {"id": f"e{i}", "type": "publisherStats", "sessionId": "s1", "timestamp": NOW - i, "streamId": "st1",
            **extra}


def test_a_valid_body_takes_the_fast_path_with_hand_computed_columns() -> None:
    ts = 1_764_662_400_000  # 2025-12-02T08:00:00Z = midnight in Los Angeles: the day begins here
    window = (ts - 86_400_000, ts + 86_400_000)
    body = orjson.dumps([
        {"id": "a", "type": "publisherStats", "sessionId": "s", "timestamp": ts - 1, "streamId": "p",
         "videoBitrateKbps": 300, "videoResolution": "1280x720", "qualityLimitationReason": "CPU", "hasVideo": False},
        {"type": "subscriberStats", "id": "b", "sessionId": "s", "timestamp": "2025-12-02T08:00:00.000Z",
         "subscriberId": "u", "frameRate": 29.5, "freezeCount": 3, "audioCodec": None},
    ])
    batch = fast_validate(body, PID, 99, *window, 1000)
    assert batch is not None and not batch.rejected and batch.within_duplicates == 0
    assert batch.columns == {
        "project_id": [PID, PID], "event_id": ["a", "b"], "type": ["publisherStats", "subscriberStats"],
        "session_id": ["s", "s"], "ts": [ts - 1, ts], "day": [date(2025, 12, 1), date(2025, 12, 2)],
        "received_at": [99, 99], "stream_id": ["p", None], "subscriber_id": [None, "u"],
        "has_video": [False, None], "video_bitrate_kbps": [300.0, None], "video_resolution": ["1280x720", None],
        "frame_rate": [None, 29.5], "freeze_count": [None, 3], "quality_limitation_reason": ["cpu", None],
    }
    assert type(batch.columns["video_bitrate_kbps"][0]) is float  # an integer in a number field is stored as one


def test_the_common_bodies_are_taken_and_equal_the_python_path() -> None:
    for body in (orjson.dumps([stats(i, videoBitrateKbps=300.0 + i, hasAudio=True) for i in range(1000)]),
                 json.dumps([{"id": "c", "type": "connectionCreated", "sessionId": "s", "timestamp": NOW,
                              "connectionId": "c1", "sdkType": "js"}], indent=2).encode() + b"\n"):
        fast, slow = both(body)
        assert fast is not None and fast.columns == slow.columns


# Each of these is something the Python path refuses or treats specially: the fast path must not take it.
HANDED_BACK = {
    "an integer field given 5.0": [stats(0, freezeCount=5.0)],
    "an integer field given true": [stats(0, freezeCount=True)],
    "a number given true": [stats(0, frameRate=True)],
    "a number out of its bounds": [stats(0, frameRate=1000.5)],
    "a ratio above 1": [stats(0, videoPacketLoss=1.01)],
    "a bool given 1": [stats(0, hasVideo=1)],
    "a resolution too long": [stats(0, videoResolution="123456x1")],
    "a resolution with a trailing newline": [stats(0, videoResolution="1280x720\n")],
    "a resolution in non-ASCII digits": [stats(0, videoResolution="\u0661\u0662x\u0667")],
    "an unknown choice": [stats(0, qualityLimitationReason="bogus")],
    "a text too long": [stats(0, videoCodec="v" * 1025)],
    "an id too long": [stats(0) | {"id": "i" * 257}],
    "an empty session id": [stats(0) | {"sessionId": ""}],
    "a required field null": [stats(0) | {"streamId": None}],
    "a required field missing": [{k: v for k, v in stats(0).items() if k != "streamId"}],
    "a field of another type": [stats(0, subscriberId="x")],
    "an unknown type": [stats(0) | {"type": "nope"}],
    "a timestamp without a zone": [stats(0) | {"timestamp": "2026-12-02T00:00:00"}],
    "a timestamp too far ahead": [stats(0) | {"timestamp": NOW + 301_000}],
    "a timestamp before retention": [stats(0) | {"timestamp": WINDOW[0] - 1}],
    "the same id twice": [stats(0), stats(0)],
    "one invalid event among valid ones": [stats(0), stats(1, frameRate=-1)],
    "not an object": [stats(0), 7],
    "an empty array": [],
}


def test_what_the_python_path_refuses_is_handed_back() -> None:
    for what, events in HANDED_BACK.items():
        fast, slow = both(orjson.dumps(events))
        assert fast is None, what
        assert slow is not None and (slow.rejected or slow.within_duplicates or not events), what


def test_bodies_the_python_path_reads_its_own_way_are_handed_back() -> None:
    ndjson = b"\n".join(orjson.dumps(stats(i)) for i in range(3))
    float_ts = orjson.dumps([stats(0) | {"timestamp": float(NOW)}])  # accepted, but only by the Python path
    huge_ts = orjson.dumps([stats(0)]).replace(str(NOW).encode(), b"9" * 30)  # beyond 64 bits: refused
    for body in (ndjson, float_ts, huge_ts, b"", b"  ", b"[", b'[{"id": NaN}]', b'["\\ud800"]', b"\xef\xbb\xbf[]",
                 orjson.dumps([stats(i) for i in range(11)])):
        assert fast_validate(body, PID, NOW, *WINDOW, 10) is None, body[:40]
    assert validate_events(parse_body(ndjson), PID, NOW, *WINDOW).size == 3  # the Python path still takes them
    assert validate_events(parse_body(float_ts), PID, NOW, *WINDOW).columns["ts"] == [NOW]


@settings(max_examples=400, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(events=st.lists(valid_event() | broken_event(), max_size=12), ascii_only=st.booleans())
def test_whatever_the_fast_path_takes_equals_the_python_path(events: list[Any], ascii_only: bool) -> None:
    for i, event in enumerate(events):
        if isinstance(event, dict) and event.get("id") == "*":
            event["id"] = f"fresh-{i}"
    body = json.dumps(events, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
    fast, slow = both(body)
    if fast is None:
        return
    assert slow is not None and not slow.rejected and slow.within_duplicates == 0
    assert fast.columns == slow.columns
    assert {type(v) for c in ("ts",) for v in fast.columns[c]} == {int}
    assert fast.columns["day"] == [la_day(t) for t in fast.columns["ts"]]


@settings(max_examples=200, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(events=st.lists(valid_event(), min_size=1, max_size=12))
def test_valid_distinct_events_are_taken(events: list[dict[str, Any]]) -> None:
    """Guards against a fast path that silently refuses everything (and so tests nothing above)."""
    for i, event in enumerate(events):
        event["id"] = f"id-{i}"
    fast, slow = both(json.dumps(events).encode())
    assert slow is not None and slow.size == len(events)
    assert fast is not None and fast.columns == slow.columns
