"""Archive, broadcast, SIP and Experience Composer minutes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.derive.derive_helpers import Events, at, derive_checked, nonzero, project_day, stats, utc_ms


def _addon(start_type: str, stop_type: str, minutes: float, start: dict[str, Any],
           stop: dict[str, Any] | None = None) -> dict[str, float]:
    e = Events()
    e.user("a", 0, 60)
    e.add(start_type, at(1), resource_id="r1", **start)
    e.add(stop_type, at(1 + minutes), resource_id="r1", **(stop or {}))
    return nonzero(project_day(derive_checked(e), "2024-07-10"))


@pytest.mark.parametrize(
    ("start", "stop", "expected"),
    [
        ({}, {}, {"sd_archive_composed_minutes": 10.0}),  # no mode, no resolution: composed SD
        ({"resolution": "640x480"}, {}, {"sd_archive_composed_minutes": 10.0}),  # 307200 px: still SD
        ({"resolution": "641x480"}, {}, {"hd_archive_composed_minutes": 10.0}),
        ({"output_mode": "composed", "resolution": "1280x720"}, {}, {"hd_archive_composed_minutes": 10.0}),
        ({}, {"resolution": "1920x1080"}, {"hd_archive_composed_minutes": 10.0}),  # stop's field as fallback
        ({"resolution": "480x360"}, {"resolution": "1920x1080"}, {"sd_archive_composed_minutes": 10.0}),  # start wins
        ({"resolution": "garbage"}, {}, {"sd_archive_composed_minutes": 10.0}),
        ({"output_mode": "individual", "stream_count": 3}, {}, {"individual_archive_minutes": 30.0}),
        ({"output_mode": "individual"}, {}, {"individual_archive_minutes": 10.0}),
        ({"output_mode": "individual", "stream_count": 0}, {}, {"individual_archive_minutes": 10.0}),
        ({}, {"output_mode": "individual", "stream_count": 2}, {"individual_archive_minutes": 20.0}),
    ],
)
def test_archives(start: dict[str, Any], stop: dict[str, Any], expected: dict[str, float]) -> None:
    assert _addon("archiveStarted", "archiveStopped", 10, start, stop) == expected


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        ({"hls": True, "rtmp_count": 2, "resolution": "1920x1080"},
         {"hd_broadcast_composed_minutes": 20.0, "hls_minutes": 20.0}),
        ({"hls": False, "rtmp_count": 1}, {"sd_broadcast_composed_minutes": 20.0}),
        ({"hls": True, "resolution": "640x360"}, {"sd_broadcast_composed_minutes": 20.0, "hls_minutes": 20.0}),
    ],
)
def test_broadcasts(start: dict[str, Any], expected: dict[str, float]) -> None:
    assert _addon("broadcastStarted", "broadcastStopped", 20, start) == expected


def test_sip() -> None:
    assert _addon("sipCallStarted", "sipCallStopped", 5, {}) == {"sip_user_minutes": 5.0}


@pytest.mark.parametrize(
    ("destination", "column"),
    [
        (None, "experience_composer_minutes"),
        ("session", "experience_composer_minutes"),
        ("archive", "experience_composer_archive_minutes"),
        ("broadcast", "experience_composer_broadcast_minutes"),
    ],
)
def test_experience_composer_destinations(destination: str | None, column: str) -> None:
    assert _addon("experienceComposerStarted", "experienceComposerStopped", 7, {"destination": destination}) == {
        column: 7.0}


def test_without_stop_runs_to_latest_session_timestamp_and_stop_without_start_is_ignored() -> None:
    e = Events()
    e.user("a", 0, 30)
    e.add("archiveStarted", at(2), resource_id="open")
    e.add("archiveStopped", at(5), resource_id="orphan")
    e.add("sipCallStarted", at(3), resource_id="open")  # same id, other kind: a separate resource
    # Latest timestamp of the session: the disconnect at 30 -> archive 28 min, SIP 27 min.
    assert nonzero(project_day(derive_checked(e), "2024-07-10")) == {
        "sd_archive_composed_minutes": 28.0, "sip_user_minutes": 27.0}


def test_stats_extend_the_end_of_an_unstopped_resource() -> None:
    e = Events()
    e.user("a", 0, 30, publish=(0, 30))
    e.add("sipCallStarted", at(10), resource_id="call")
    result = derive_checked(e, [stats("pub", "a-s", at(0), at(40))])
    assert result.session.last_seen_at == at(40)
    assert project_day(result, "2024-07-10")["sip_user_minutes"] == 30.0


def test_addon_split_at_la_midnight() -> None:
    e = Events()
    e.connect("a", utc_ms("2024-01-16T07:00"))
    e.disconnect("a", utc_ms("2024-01-16T09:00"))
    e.add("archiveStarted", utc_ms("2024-01-16T07:45"), resource_id="r", resolution="1280x720")
    e.add("archiveStopped", utc_ms("2024-01-16T08:30"), resource_id="r")
    result = derive_checked(e)
    assert nonzero(project_day(result, "2024-01-15")) == {"hd_archive_composed_minutes": 15.0}
    assert nonzero(project_day(result, "2024-01-16")) == {"hd_archive_composed_minutes": 30.0}
