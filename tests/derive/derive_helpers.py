"""Builders for raw-event scenarios and the order-independence check.

Every scenario test derives through `derive_checked`, which also derives the
same events shuffled (several seeds) and duplicated, and asserts identical
output: determinism is checked everywhere, not in one test.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime
from typing import Any

from videoinsights.derive.model import SessionDerivation, StatsAggregate
from videoinsights.derive.session import derive_session
from videoinsights.domain.days import la_day
from videoinsights.domain.events import RAW_COLUMNS
from videoinsights.domain.quality import BITRATE_FIELDS, LATENCY_FIELDS
from videoinsights.domain.tiers import TIERS

PROJECT = "proj-1"
SESSION = "sess-1"
MIN = 60_000
# 2024-07-10 10:00 PDT, a minute-aligned weekday far from any DST change.
T0 = int(datetime(2024, 7, 10, 17, 0, tzinfo=UTC).timestamp() * 1000)
TIER_COLUMN = {t.field: t.column for t in TIERS}


def utc_ms(text: str) -> int:
    """'2024-07-11T06:30' (UTC) -> epoch ms."""
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


def at(minutes: float) -> int:
    """T0 + minutes, in epoch ms."""
    return T0 + round(minutes * MIN)


def tiers(**by_field: float) -> dict[str, float]:
    """Expected tier dict from Insights field names: tiers(from1To2Publishers=45)."""
    expected = dict.fromkeys(TIER_COLUMN.values(), 0.0)
    for name, value in by_field.items():
        expected[TIER_COLUMN[name]] = value
    return expected


class Events:
    """Collects raw events shaped like rows of the raw table."""

    def __init__(self, session_id: str = SESSION) -> None:
        self.session_id = session_id
        self.rows: list[dict[str, Any]] = []

    def add(self, type_: str, ts: int, **fields: Any) -> dict[str, Any]:
        row: dict[str, Any] = dict.fromkeys(RAW_COLUMNS)
        row.update(project_id=PROJECT, event_id=f"ev-{len(self.rows):05d}", type=type_, session_id=self.session_id,
                   ts=ts, day=la_day(ts), received_at=ts + 1000, **fields)
        self.rows.append(row)
        return row

    def connect(self, cid: str, ts: int, **endpoint: Any) -> None:
        self.add("connectionCreated", ts, connection_id=cid, **endpoint)

    def disconnect(self, cid: str, ts: int, reason: str | None = "clientDisconnected") -> None:
        self.add("connectionDestroyed", ts, connection_id=cid, reason=reason)

    def publish(self, sid: str, cid: str, ts: int, **attrs: Any) -> None:
        self.add("streamCreated", ts, stream_id=sid, connection_id=cid, **attrs)

    def unpublish(self, sid: str, ts: int, reason: str | None = "clientDisconnected") -> None:
        self.add("streamDestroyed", ts, stream_id=sid, reason=reason)

    def subscribe(self, sub: str, sid: str, cid: str, ts: int) -> None:
        self.add("subscriberCreated", ts, subscriber_id=sub, stream_id=sid, connection_id=cid)

    def unsubscribe(self, sub: str, ts: int) -> None:
        self.add("subscriberDestroyed", ts, subscriber_id=sub)

    def user(self, cid: str, start: float, end: float | None, publish: tuple[float, float] | None = None) -> None:
        """A connection from `start` to `end` minutes after T0 (None: no destroy), optionally publishing."""
        self.connect(cid, at(start))
        if publish is not None:
            self.publish(f"{cid}-s", cid, at(publish[0]))
            self.unpublish(f"{cid}-s", at(publish[1]))
        if end is not None:
            self.disconnect(cid, at(end))


def stats(side: str, entity_id: str, first_ts: int, last_ts: int, samples: int = 4,
          lat_bucket: int = 1, br_bucket: int = 5, lat_sum: float = 300.0, br_sum: float = 2000.0) -> StatsAggregate:
    """A stats aggregate with all `samples` in one latency and one bitrate bucket."""
    latency = [0] * len(LATENCY_FIELDS)
    latency[lat_bucket] = samples
    bitrate = [0] * len(BITRATE_FIELDS)
    bitrate[br_bucket] = samples
    return StatsAggregate(side, entity_id, la_day(first_ts), samples, first_ts, last_ts, tuple(latency),
                          tuple(bitrate), lat_sum, samples, br_sum, samples)


def derive_checked(events: Events | list[dict[str, Any]], aggregates: list[StatsAggregate] | None = None,
                   session_id: str = SESSION) -> SessionDerivation:
    """derive_session, asserting the same result for shuffled and duplicated input."""
    rows = events.rows if isinstance(events, Events) else events
    aggregates = aggregates or []
    result = derive_session(PROJECT, session_id, list(rows), list(aggregates))
    for seed in (1, 2, 3):
        rng = random.Random(seed)
        shuffled = list(rows)
        rng.shuffle(shuffled)
        shuffled_stats = list(aggregates)
        rng.shuffle(shuffled_stats)
        assert derive_session(PROJECT, session_id, shuffled, shuffled_stats) == result, f"shuffle seed {seed}"
    # Re-deliveries: same event_id, later received_at.
    duplicated = list(rows) + [dict(r, received_at=r["received_at"] + 5) for r in rows] + list(rows[::2])
    random.Random(7).shuffle(duplicated)
    assert derive_session(PROJECT, session_id, duplicated, list(reversed(aggregates))) == result, "duplicates"
    return result


def day(text: str) -> date:
    return date.fromisoformat(text)


def project_day(result: SessionDerivation, on: str) -> dict[str, float]:
    rows = [r for r in result.project_days if r.day == day(on)]
    assert len(rows) == 1, f"expected one project-day row on {on}, got {len(rows)}"
    return rows[0].measures


def nonzero(measures: dict[str, float]) -> dict[str, float]:
    return {k: v for k, v in measures.items() if v}

