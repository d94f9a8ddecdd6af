"""A small, hand-computed world for the API tests.

"Now" is pinned to 2025-11-27T20:00Z (12:00 PST on 2025-11-27), the day the
client queries in ../shared/reference/client-queries were collected: their
dates (1764230393000 = 2025-11-27T07:59:53Z, i.e. 23:59:53 PST on Nov 26)
then mean what they meant, and the queries run unchanged.

The derived tables are filled with explicit rows (derivation is tested on
its own); raw stats samples go through DuckDBStore.append_events. Every
expected value in the tests is computed by hand from the rows below; the
comments give the sums.

November 2025 is PST (UTC-8, DST ended Nov 2): LA midnight is 08:00Z.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from videoinsights.domain.days import la_day
from videoinsights.domain.events import RAW_COLUMNS
from videoinsights.domain.tiers import TIER_COLUMNS
from videoinsights.store.base import Project
from videoinsights.store.duckdb.store import DuckDBStore
from videoinsights.store.duckdb.totals import refill_day_totals


def utc(text: str) -> int:
    """'2025-11-26T17:00' (UTC) -> epoch ms."""
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


NOW_MS = utc("2025-11-27T20:00:00")

PROJECT = "12345678"  # Advanced Insights; the id every client query uses
SECRET = "0123456789abcdef0123456789abcdef01234567"
DOCS_PROJECT = "100"  # the docs' pagination example; no Advanced Insights
DOCS_SECRET = "fedcba9876543210fedcba9876543210fedcba98"
OTHER = "87654321"  # another customer: same session id, different data
OTHER_SECRET = "00112233445566778899aabbccddeeff00112233"
APP = "6f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4b"  # a Vonage application

S1 = "1_MX4xMDB-fjE1Mzg4NzA0MjExNDd-VjRuSWhpn4"  # the docs' sample session ids
S2 = "2_MX4xMDB-fjE1Mzg4NzA0OTQzOTN-RFFxeXfcn4"
S3_EXPIRED = "3_expired"
S4_TODAY = "4_today"
PAGED = [f"p-{i:02d}" for i in range(1, 13)]


def _rsa_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private, public


APP_PRIVATE_KEY, APP_PUBLIC_KEY = _rsa_pair()


def _tiers(low_tiers: float) -> dict[str, float]:
    """Minutes that all had 1 or 2 publishers: they count toward every tier starting at 1."""
    return {c: (low_tiers if c.startswith("pm_from1to") else 0.0) for c in TIER_COLUMNS}


def _insert(store: DuckDBStore, table: str, rows: list[dict[str, Any]]) -> None:
    con = store._con  # the fixture plays the writer
    for row in rows:
        cols = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        con.execute(f"INSERT INTO {table} ({cols}) VALUES ({marks})", list(row.values()))


def _projects(store: DuckDBStore) -> None:
    for pid, kind, secret, public, advanced in (
        (PROJECT, "project", SECRET, None, True),
        (DOCS_PROJECT, "project", DOCS_SECRET, None, False),
        (OTHER, "project", OTHER_SECRET, None, True),
        (APP, "application", None, APP_PUBLIC_KEY, True),
    ):
        store.insert_project(Project(pid, kind, f"test {pid}", secret, public, "cb-token", advanced, NOW_MS))


def _session(pid: str, sid: str, mode: str, created: int, last: int, meetings: int, pub: float, sub: float,
             tiers: float) -> dict[str, Any]:
    return {"project_id": pid, "session_id": sid, "media_mode": mode, "created_at": created, "last_seen_at": last,
            "meeting_count": meetings, "publisher_minutes": pub, "subscriber_minutes": sub, **_tiers(tiers)}


def _meeting(pid: str, sid: str, idx: int, mid: str, created: int, destroyed: int | None, pub: float, sub: float,
             maxc: tuple[int, int, int], totals: tuple[int, int, int], tiers: float) -> dict[str, Any]:
    return {"project_id": pid, "session_id": sid, "meeting_index": idx, "meeting_id": mid, "created_at": created,
            "destroyed_at": destroyed, "publisher_minutes": pub, "subscriber_minutes": sub,
            "max_concurrent_connections": maxc[0], "max_concurrent_streams": maxc[1],
            "max_concurrent_subscribers": maxc[2], "total_connections": totals[0], "total_streams": totals[1],
            "total_subscribers": totals[2], **_tiers(tiers)}


def _sessions(store: DuckDBStore) -> None:
    t = utc
    sessions = [
        # S1: 3 meeting records on 2025-11-26 (UTC afternoon = PST morning); pub 30+0+5, sub 24, tiers 50+10+10
        _session(PROJECT, S1, "routed", t("2025-11-26T17:00"), t("2025-11-26T19:10"), 3, 35.0, 24.0, 70.0),
        _session(PROJECT, S2, "relayed", t("2025-11-12T10:00"), t("2025-11-12T10:20"), 1, 10.0, 0.0, 20.0),
        _session(PROJECT, S3_EXPIRED, "routed", t("2025-10-01T10:00"), t("2025-10-01T11:00"), 1, 0.0, 0.0, 60.0),
        _session(PROJECT, S4_TODAY, "routed", t("2025-11-27T09:00"), t("2025-11-27T09:30"), 1, 0.0, 0.0, 30.0),
        *(_session(PROJECT, sid, "routed", t("2025-11-20T10:00") + i * 60_000, t("2025-11-20T11:00") + i * 60_000,
                   1, float(i + 1), 0.0, 0.0) for i, sid in enumerate(PAGED)),
        # another customer's session with the very same id
        _session(OTHER, S1, "relayed", t("2025-11-26T18:00"), t("2025-11-26T18:30"), 1, 999.0, 999.0, 999.0),
    ]
    _insert(store, "sessions", sessions)
    meetings = [
        _meeting(PROJECT, S1, 0, "m-1a", t("2025-11-26T17:00"), t("2025-11-26T17:30"), 30.0, 24.0,
                 (2, 2, 2), (2, 2, 2), 50.0),
        # back within 10 minutes: a new record with the same meeting id
        _meeting(PROJECT, S1, 1, "m-1a", t("2025-11-26T17:35"), t("2025-11-26T17:45"), 0.0, 0.0,
                 (1, 0, 0), (1, 0, 0), 10.0),
        _meeting(PROJECT, S1, 2, "m-1b", t("2025-11-26T19:00"), t("2025-11-26T19:10"), 5.0, 0.0,
                 (1, 1, 0), (1, 1, 0), 10.0),
        _meeting(PROJECT, S2, 0, "m-2a", t("2025-11-12T10:00"), t("2025-11-12T10:20"), 10.0, 0.0,
                 (1, 1, 0), (1, 1, 0), 20.0),
        _meeting(PROJECT, S3_EXPIRED, 0, "m-3", t("2025-10-01T10:00"), t("2025-10-01T11:00"), 0.0, 0.0,
                 (1, 0, 0), (1, 0, 0), 60.0),
        _meeting(PROJECT, S4_TODAY, 0, "m-4", t("2025-11-27T09:00"), None, 0.0, 0.0, (1, 0, 0), (1, 0, 0), 30.0),
        *(_meeting(PROJECT, sid, 0, f"m-{sid}", t("2025-11-20T10:00") + i * 60_000, t("2025-11-20T11:00"),
                   float(i + 1), 0.0, (1, 1, 0), (1, 1, 0), 0.0) for i, sid in enumerate(PAGED)),
        _meeting(OTHER, S1, 0, "m-other", t("2025-11-26T18:00"), t("2025-11-26T18:30"), 999.0, 999.0,
                 (9, 9, 9), (9, 9, 9), 999.0),
    ]
    _insert(store, "meetings", meetings)

    def conn(pid: str, sid: str, idx: int, cid: str, created: str, destroyed: str | None, **dims: Any) -> dict:
        end = t(destroyed) if destroyed else NOW_MS
        return {"project_id": pid, "session_id": sid, "meeting_index": idx, "connection_id": cid,
                "created_at": t(created), "destroyed_at": t(destroyed) if destroyed else None, "ended_at": end,
                "reason": "clientDisconnected" if destroyed else None, **dims}

    _insert(store, "connections", [
        conn(PROJECT, S1, 0, "c1", "2025-11-26T17:00", "2025-11-26T17:30", sdk_type="JS", sdk_version="2.27.3",
             browser="CHROME", browser_version="120.0", country="US", region="CA", city="San Francisco",
             guid="g-1", user_agent="Mozilla/5.0 Chrome/120.0"),
        conn(PROJECT, S1, 0, "c2", "2025-11-26T17:05", "2025-11-26T17:25", sdk_type="IOS", sdk_version="2.26.0",
             country="GB", city="London", guid="g-2", device_model="iPhone15,2"),
        conn(PROJECT, S1, 1, "c3", "2025-11-26T17:35", "2025-11-26T17:45", sdk_type="ANDROID",
             sdk_version="2.27.0", country="US", region="NY", guid="g-3", device_model="Pixel 8"),
        conn(PROJECT, S1, 2, "c4", "2025-11-26T19:00", "2025-11-26T19:10", sdk_type="JS", sdk_version="2.27.3",
             browser="FIREFOX", browser_version="119.0", country="US", region="CA", guid="g-1"),
        conn(PROJECT, S2, 0, "c5", "2025-11-12T10:00", "2025-11-12T10:20", sdk_type="JS", browser="CHROME"),
        conn(PROJECT, S4_TODAY, 0, "c6", "2025-11-27T09:00", None, sdk_type="ANDROID"),
        *(conn(PROJECT, sid, 0, f"c-{sid}", "2025-11-20T10:00", "2025-11-20T11:00") for sid in PAGED),
        conn(OTHER, S1, 0, "c1", "2025-11-26T18:00", "2025-11-26T18:30", guid="g-other"),
    ])

    def pub(pid: str, sid: str, idx: int, stream: str, cid: str, created: str, destroyed: str,
            video_type: str | None, audio: bool, video: bool) -> dict:
        return {"project_id": pid, "session_id": sid, "meeting_index": idx, "stream_id": stream,
                "connection_id": cid, "created_at": t(created), "destroyed_at": t(destroyed),
                "ended_at": t(destroyed), "minutes": (t(destroyed) - t(created)) / 60_000,
                "video_type": video_type, "has_audio": audio, "has_video": video}

    _insert(store, "publishers", [
        pub(PROJECT, S1, 0, "st1", "c1", "2025-11-26T17:01", "2025-11-26T17:21", "camera", True, True),
        pub(PROJECT, S1, 0, "st2", "c2", "2025-11-26T17:06", "2025-11-26T17:16", "screen", False, True),
        pub(PROJECT, S1, 2, "st3", "c4", "2025-11-26T19:01", "2025-11-26T19:06", "camera", True, True),
        pub(PROJECT, S2, 0, "st5", "c5", "2025-11-12T10:00", "2025-11-12T10:10", None, True, False),
        *(pub(PROJECT, sid, 0, f"st-{sid}", f"c-{sid}", "2025-11-20T10:00", "2025-11-20T10:30", "camera",
              True, True) for sid in PAGED),
        pub(OTHER, S1, 0, "st1", "c1", "2025-11-26T18:00", "2025-11-26T18:20", "custom", True, True),
    ])

    def sub(pid: str, sid: str, idx: int, sub_id: str, stream: str, cid: str, created: str, destroyed: str) -> dict:
        return {"project_id": pid, "session_id": sid, "meeting_index": idx, "subscriber_id": sub_id,
                "stream_id": stream, "connection_id": cid, "created_at": t(created), "destroyed_at": t(destroyed),
                "ended_at": t(destroyed), "minutes": (t(destroyed) - t(created)) / 60_000}

    _insert(store, "subscribers", [
        sub(PROJECT, S1, 0, "sub1", "st1", "c2", "2025-11-26T17:06", "2025-11-26T17:21"),  # 15 min
        sub(PROJECT, S1, 0, "sub2", "st2", "c1", "2025-11-26T17:07", "2025-11-26T17:16"),  # 9 min
        sub(OTHER, S1, 0, "sub-other", "st1", "c1", "2025-11-26T18:01", "2025-11-26T18:20"),
    ])


def _raw(pid: str, sid: str, type_: str, ts: str, n: int, **fields: Any) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(RAW_COLUMNS)
    ms = utc(ts)
    row.update(project_id=pid, event_id=f"{pid}-{type_}-{n}", type=type_, session_id=sid, ts=ms, day=la_day(ms),
               received_at=ms + 1000, **fields)
    return row


_PUB = {"audio_codec": "opus", "video_codec": "VP8", "has_audio": True, "has_video": True,
        "video_resolution": "640x480"}

STATS_EVENTS = [
    # st1: three publisher samples; video bitrate 500, 900, 1500 kbps; video latency 40, 120, 1200 ms
    _raw(PROJECT, S1, "publisherStats", "2025-11-26T17:01:30", 1, stream_id="st1", video_bitrate_kbps=500.0,
         video_latency_ms=40.0, audio_bitrate_kbps=40.0, audio_latency_ms=30.0, audio_packet_loss=0.0,
         video_packet_loss=0.01, **_PUB),
    _raw(PROJECT, S1, "publisherStats", "2025-11-26T17:02:00", 2, stream_id="st1", video_bitrate_kbps=900.0,
         video_latency_ms=120.0, audio_bitrate_kbps=41.0, audio_latency_ms=35.0, audio_packet_loss=0.02,
         video_packet_loss=0.0, **_PUB),
    _raw(PROJECT, S1, "publisherStats", "2025-11-26T17:02:30", 3, stream_id="st1", video_bitrate_kbps=1500.0,
         video_latency_ms=1200.0, audio_bitrate_kbps=42.0, audio_latency_ms=33.0, audio_packet_loss=0.0,
         video_packet_loss=0.05, **{**_PUB, "video_resolution": "1280x720"}),
    _raw(PROJECT, S1, "publisherStats", "2025-11-26T19:02:00", 4, stream_id="st3", video_bitrate_kbps=300.0,
         **_PUB),
    # sub1 (receives st1): two samples, video switched off in the second
    _raw(PROJECT, S1, "subscriberStats", "2025-11-26T17:06:30", 5, subscriber_id="sub1", stream_id="st1",
         video_bitrate_kbps=650.0, video_latency_ms=80.0, subscribe_to_audio=True, subscribe_to_video=True,
         video_packet_loss=0.03, audio_codec="opus", video_codec="VP8", video_resolution="640x480"),
    _raw(PROJECT, S1, "subscriberStats", "2025-11-26T17:07:00", 6, subscriber_id="sub1", stream_id="st1",
         video_bitrate_kbps=650.0, video_latency_ms=70.0, subscribe_to_audio=True, subscribe_to_video=False,
         video_packet_loss=0.0, audio_codec="opus", video_codec="VP8", video_resolution="640x480"),
    # the other customer's samples for a stream with the same ids
    _raw(OTHER, S1, "publisherStats", "2025-11-26T18:01:00", 7, stream_id="st1", video_bitrate_kbps=999.0,
         **_PUB),
    _raw(OTHER, S1, "subscriberStats", "2025-11-26T18:02:00", 8, subscriber_id="sub1", stream_id="st1",
         video_bitrate_kbps=999.0),
]


def _endpoint_row(pid: str, day: date, dims: tuple[str | None, ...], **measures: float) -> dict[str, Any]:
    names = ("sdk_type", "sdk_version", "country", "region", "browser", "browser_version")
    return {"project_id": pid, "day": day, **dict(zip(names, dims, strict=True)), **measures}


D = date
CHROME_US = ("JS", "2.27.3", "US", "CA", "CHROME", "120.0")
FIREFOX_US = ("JS", "2.27.3", "US", "CA", "FIREFOX", "119.0")
IOS_GB = ("IOS", "2.26.0", "GB", None, None, None)
ANDROID_US = ("ANDROID", "2.27.0", "US", "NY", None, None)

ENDPOINT_DAILY = [
    # 2025-11-26: pub 20+10+0+5 = 35, sub 9+15 = 24
    _endpoint_row(PROJECT, D(2025, 11, 26), CHROME_US, published_minutes=20, subscribed_minutes=9,
                  connect_attempts=10, connect_failures=1, publish_attempts=4, publish_failures=0,
                  subscribe_attempts=6, subscribe_failures=1,
                  # publisher samples of st1: latency 40 / 120 / 1200 ms, bitrate 500 / 900 / 1500 kbps
                  pub_samples=3, pub_lat_ms50=1, pub_lat_ms200=1, pub_lat_ms1000plus=1, pub_lat_sum=1360,
                  pub_lat_count=3, pub_br_kbps500=1, pub_br_kbps1000=1, pub_br_kbps1600=1, pub_br_sum=2900,
                  pub_br_count=3,
                  # subscriber samples: latency 80 / 70 ms, bitrate 650 / 650 kbps
                  sub_samples=2, sub_lat_ms100=2, sub_lat_sum=150, sub_lat_count=2, sub_br_kbps700=2,
                  sub_br_sum=1300, sub_br_count=2),
    _endpoint_row(PROJECT, D(2025, 11, 26), IOS_GB, published_minutes=10, subscribed_minutes=15,
                  connect_attempts=5, connect_failures=0, publish_attempts=2, publish_failures=1,
                  subscribe_attempts=3, subscribe_failures=0,
                  sub_samples=1, sub_lat_ms300=1, sub_lat_sum=250, sub_lat_count=1, sub_br_kbps200=1,
                  sub_br_sum=150, sub_br_count=1),
    _endpoint_row(PROJECT, D(2025, 11, 26), ANDROID_US, connect_attempts=2, connect_failures=1),
    _endpoint_row(PROJECT, D(2025, 11, 26), FIREFOX_US, published_minutes=5, connect_attempts=1),
    _endpoint_row(PROJECT, D(2025, 11, 27), ANDROID_US, connect_attempts=1),
    _endpoint_row(PROJECT, D(2025, 11, 25), FIREFOX_US, published_minutes=5, connect_attempts=3),
    _endpoint_row(PROJECT, D(2025, 11, 20), ("JS", "2.27.3", "FR", None, "SAFARI", "17.1"), published_minutes=7.5,
                  subscribed_minutes=12.25),
    # an SDK the API has no enum value for: reported as OTHER
    _endpoint_row(PROJECT, D(2025, 11, 17), ("REACT_NATIVE", "1.0.0", "BR", None, None, None), published_minutes=3,
                  subscribed_minutes=4),
    _endpoint_row(PROJECT, D(2025, 11, 12), CHROME_US, published_minutes=10, connect_attempts=1),
    _endpoint_row(OTHER, D(2025, 11, 26), CHROME_US, published_minutes=999, subscribed_minutes=999,
                  connect_attempts=999, connect_failures=999),
    _endpoint_row(APP, D(2025, 11, 26), CHROME_US, published_minutes=42, subscribed_minutes=21),
    # the docs project: Aug..Nov 2025 from daily rollups (Dec 2024..Jul 2025 are monthly, below)
    *(_endpoint_row(DOCS_PROJECT, D(2025, m, 15), CHROME_US, published_minutes=10.0 * (m - 7 + 8))
      for m in (8, 9, 10, 11)),
]

ENDPOINT_MONTHLY = [
    # before the daily window (which starts 2025-08-29, so months before 2025-08 come from here)
    {"project_id": PROJECT, "month": D(2025, 6, 1), "sdk_type": "JS", "sdk_version": "2.25.0", "country": "US",
     "region": "CA", "browser": "CHROME", "browser_version": "114.0", "published_minutes": 100,
     "subscribed_minutes": 200},
    # docs project: 12 months with data, published 10, 20, ... 120 minutes
    *({"project_id": DOCS_PROJECT, "month": d, "sdk_type": "JS", "country": "US", "published_minutes": 10.0 * (i + 1)}
      for i, d in enumerate([D(2024, 12, 1), *(D(2025, m, 1) for m in range(1, 8))])),
]

PROJECT_DAILY = [
    {"project_id": PROJECT, "day": D(2025, 11, 26), **_tiers(70.0), "sd_archive_composed_minutes": 12,
     "hd_broadcast_composed_minutes": 6, "hls_minutes": 6, "sip_user_minutes": 3, "individual_archive_minutes": 8,
     "experience_composer_minutes": 2, "experience_composer_archive_minutes": 1,
     "experience_composer_broadcast_minutes": 0.5},
    {"project_id": PROJECT, "day": D(2025, 11, 12), **_tiers(20.0)},
    {"project_id": PROJECT, "day": D(2025, 11, 27), **_tiers(15.0)},
    {"project_id": OTHER, "day": D(2025, 11, 26), **_tiers(999.0), "sip_user_minutes": 999},
]

PROJECT_MONTHLY = [
    {"project_id": PROJECT, "month": D(2025, 6, 1), "sd_archive_composed_minutes": 50},
]


def build_world(path: str) -> DuckDBStore:
    """Create the database file and fill it; returns the open store."""
    store = DuckDBStore(path)
    _projects(store)
    _sessions(store)
    _insert(store, "rollup_endpoint_daily", ENDPOINT_DAILY)
    refill_day_totals(store._con)  # a derive step keeps them; rows written straight in need them summed
    _insert(store, "rollup_endpoint_monthly", ENDPOINT_MONTHLY)
    _insert(store, "rollup_project_daily", PROJECT_DAILY)
    _insert(store, "rollup_project_monthly", PROJECT_MONTHLY)
    store.append_events([{c: [e[c] for e in STATS_EVENTS] for c in RAW_COLUMNS}])
    store.checkpoint()
    return store
