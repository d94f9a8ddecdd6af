"""Endpoint day rows: minutes, quality and attempts attributed to endpoint dimensions."""

from __future__ import annotations

from tests.derive.derive_helpers import Events, at, derive_checked, nonzero, stats
from videoinsights.derive.model import EndpointDayRow, SessionDerivation

JS_US = {"sdk_type": "JS", "sdk_version": "2.27.3", "country": "US", "region": "CA", "browser": "CHROME",
         "browser_version": "120.0"}
IOS_GB = {"sdk_type": "IOS", "sdk_version": "2.26.0", "country": "GB", "region": None, "browser": None,
          "browser_version": None}
NONE = dict.fromkeys(JS_US)


def _rows(result: SessionDerivation) -> dict[tuple[str | None, ...], dict[str, float]]:
    """(sdk_type, country) -> non-zero measures, asserting one row per key on a single day."""
    out: dict[tuple[str | None, ...], dict[str, float]] = {}
    for r in result.endpoint_days:
        assert str(r.day) == "2024-07-10"
        key = (r.sdk_type, r.country)
        assert key not in out, f"row {key} not merged"
        out[key] = nonzero(r.measures)
    return out


def _dims(row: EndpointDayRow) -> dict[str, str | None]:
    return {k: getattr(row, k) for k in JS_US}


def _two_party() -> Events:
    # a (JS, US) publishes s 0-10; b (iOS, GB) subscribes x to s 2-7; c (JS, US) subscribes y 4-10.
    e = Events()
    e.connect("a", at(0), city="SF", **JS_US)
    e.connect("b", at(0), **IOS_GB)
    e.connect("c", at(0), **JS_US)
    e.publish("s", "a", at(0))
    e.subscribe("x", "s", "b", at(2))
    e.unsubscribe("x", at(7))
    e.subscribe("y", "s", "c", at(4))
    e.unsubscribe("y", at(10))
    e.unpublish("s", at(10))
    for cid in "abc":
        e.disconnect(cid, at(10))
    return e


def test_minutes_go_to_publishing_and_subscribing_connection_dims() -> None:
    result = derive_checked(_two_party())
    assert _rows(result) == {
        ("JS", "US"): {"published_minutes": 10.0, "subscribed_minutes": 6.0},  # a and c merged
        ("IOS", "GB"): {"subscribed_minutes": 5.0},
    }
    assert [_dims(r) for r in result.endpoint_days] == [IOS_GB, JS_US]  # sorted by day, then dims


def test_quality_attributed_to_the_connection_dims_and_summed() -> None:
    aggregates = [
        stats("pub", "s", at(0), at(9.5), samples=20, lat_bucket=0, br_bucket=3, lat_sum=800.0, br_sum=7000.0),
        stats("sub", "x", at(2), at(6.5), samples=9, lat_bucket=2, br_bucket=3, lat_sum=1500.0, br_sum=3000.0),
        stats("sub", "y", at(4), at(9.5), samples=11, lat_bucket=2, br_bucket=4, lat_sum=2000.0, br_sum=5000.0),
        stats("sub", "ghost", at(4), at(5), samples=2, lat_bucket=11, br_bucket=19, lat_sum=2400.0, br_sum=7000.0),
    ]
    rows = _rows(derive_checked(_two_party(), aggregates))
    assert rows[("JS", "US")] == {
        "published_minutes": 10.0, "subscribed_minutes": 6.0,
        "pub_lat_ms50": 20.0, "pub_br_kbps400": 20.0, "pub_samples": 20.0, "pub_lat_sum": 800.0,
        "pub_lat_count": 20.0, "pub_br_sum": 7000.0, "pub_br_count": 20.0,
        "sub_lat_ms200": 11.0, "sub_br_kbps500": 11.0, "sub_samples": 11.0, "sub_lat_sum": 2000.0,
        "sub_lat_count": 11.0, "sub_br_sum": 5000.0, "sub_br_count": 11.0,
    }
    assert rows[("IOS", "GB")] == {
        "subscribed_minutes": 5.0,
        "sub_lat_ms200": 9.0, "sub_br_kbps400": 9.0, "sub_samples": 9.0, "sub_lat_sum": 1500.0,
        "sub_lat_count": 9.0, "sub_br_sum": 3000.0, "sub_br_count": 9.0,
    }
    assert rows[(None, None)] == {  # unknown subscriber: all-None dims
        "sub_lat_ms1000plus": 2.0, "sub_br_kbps3000plus": 2.0, "sub_samples": 2.0, "sub_lat_sum": 2400.0,
        "sub_lat_count": 2.0, "sub_br_sum": 7000.0, "sub_br_count": 2.0,
    }


def test_attempts_use_connection_dims_else_inline_dims() -> None:
    e = Events()
    e.connect("a", at(0), **JS_US)
    e.disconnect("a", at(10))
    # Known connection: its dims win over the (different) inline fields.
    e.add("connectAttempt", at(0), connection_id="a", outcome="success", **IOS_GB)
    e.add("publishAttempt", at(1), connection_id="a", outcome="failure", error_code=1500)
    e.add("publishAttempt", at(2), connection_id="a", outcome="success")
    # Unknown connection / no connection: the attempt's own endpoint fields.
    e.add("connectAttempt", at(3), connection_id="never-connected", outcome="failure", **IOS_GB)
    e.add("subscribeAttempt", at(4), outcome="failure", stream_id="s", **IOS_GB)
    e.add("subscribeAttempt", at(5), outcome="failure")
    assert _rows(derive_checked(e)) == {
        ("JS", "US"): {"connect_attempts": 1.0, "publish_attempts": 2.0, "publish_failures": 1.0},
        ("IOS", "GB"): {"connect_attempts": 1.0, "connect_failures": 1.0, "subscribe_attempts": 1.0,
                        "subscribe_failures": 1.0},
        (None, None): {"subscribe_attempts": 1.0, "subscribe_failures": 1.0},
    }


def test_connection_without_measures_gives_no_row() -> None:
    e = Events()
    e.user("a", 0, 10)
    e.user("b", 0, 10)
    assert derive_checked(e).endpoint_days == []


def test_unknown_publishing_connection_gives_none_dims() -> None:
    e = Events()
    e.user("a", 0, 10)
    e.publish("s", "ghost", at(1))
    e.unpublish("s", at(4))
    [row] = derive_checked(e).endpoint_days
    assert _dims(row) == NONE
    assert nonzero(row.measures) == {"published_minutes": 3.0}
