"""`live` filters match the dimensions as the API reports them, on both backends: an SDK type or browser the
API's enums cannot name is OTHER (docs/api.md), as in the reports. The store's live reads are called directly;
the expected counts are the scenario's, by hand.

T: session S1 has u1 (REACT_NATIVE on OPERA, US) and u2 (JS on CHROME, US), both connected since T-2m; u1
publishes s1. Filtered on OTHER: u1 alone (1 participant, 1 publisher); on JS: u2 alone (no publisher).
"""

from __future__ import annotations

from typing import Any

from tests.support.stores import open_store
from videoinsights.derive.engine import derive_pending
from videoinsights.ingest.load import load_events

MIN = 60_000
T = 1_764_247_380_000
UNKNOWN = {"sdkType": "REACT_NATIVE", "sdkVersion": "0.73.0", "browser": "OPERA", "country": "US"}
JS = {"sdkType": "JS", "sdkVersion": "2.27.3", "browser": "CHROME", "browserVersion": "120.0", "country": "US"}


def _events() -> list[dict[str, Any]]:
    ev: list[dict[str, Any]] = []

    def add(kind: str, minutes_ago: float, **fields: Any) -> None:
        ev.append({"id": f"e{len(ev)}", "type": kind, "sessionId": "S1", "timestamp": T - round(minutes_ago * MIN),
                   **fields})

    add("connectionCreated", 2, connectionId="u1", **UNKNOWN)
    add("streamCreated", 2, streamId="s1", connectionId="u1", videoType="camera")
    add("connectionCreated", 2, connectionId="u2", **JS)
    return ev


def test_live_filters_on_the_reported_values(store_url: str) -> None:
    store = open_store(store_url)
    assert load_events(store, "1", _events()).accepted == 3
    while sum(derive_pending(store, 10)):
        pass
    live = store.sql.live

    def now(filters: tuple[tuple[str, tuple[str, ...]], ...]) -> tuple[int, int, int]:
        counts, _ = live.live_now(store.reader(), "1", T, T - 10 * MIN, filters)
        return counts["sessions"], counts["participants"], counts["publishers"]

    assert now(()) == (1, 2, 1)
    assert now((("sdk_type", ("OTHER",)),)) == (1, 1, 1)
    assert now((("browser", ("OTHER",)),)) == (1, 1, 1)
    assert now((("sdk_type", ("JS",)),)) == (1, 1, 0)
    assert now((("sdk_type", ("REACT_NATIVE",)),)) == (0, 0, 0)  # not a value the API reports
    store.close()
