"""The endpoint mixes of a larger run match the configuration, within sampling tolerance."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import replace

import pytest

from tests.simulate.conftest import PROJECT, START_MS
from videoinsights.simulate import DEFAULT_CONFIG, generate
from videoinsights.simulate.config import Schedule

# Stats off keeps the run small; the endpoint draws are the same code path.
# A flat week makes every country's chance of starting a session equal to its weight.
CONFIG = replace(DEFAULT_CONFIG, stats=False, schedule=Schedule(weekly=(1.0,) * 7))


@pytest.fixture(scope="module")
def mix_run() -> list[dict]:
    return list(generate(PROJECT, START_MS, 5, 300, seed=11, config=CONFIG))


def assert_shares(observed: Counter, expected: dict[str, float]) -> None:
    n = sum(observed.values())
    total = sum(expected.values())
    assert set(observed) <= set(expected)
    for value, weight in expected.items():
        p = weight / total
        tolerance = 4 * math.sqrt(p * (1 - p) / n) + 0.005
        assert abs(observed[value] / n - p) <= tolerance, (value, observed[value] / n, p, n)


def clients(run: list[dict]) -> dict[str, dict]:
    """One connectionCreated per client (guid), SIP gateways (no SDK version) excluded."""
    out: dict[str, dict] = {}
    for ev in run:
        if ev["type"] == "connectionCreated" and "sdkVersion" in ev:
            out.setdefault(ev["guid"], ev)
    return out


def test_sdk_types_and_versions(mix_run):
    by_guid = clients(mix_run)
    assert len(by_guid) > 5_000
    assert_shares(Counter(ev["sdkType"] for ev in by_guid.values()), {s.type: s.weight for s in CONFIG.sdks})
    js = CONFIG.sdks[0]
    assert js.type == "JS"
    assert_shares(Counter(ev["sdkVersion"] for ev in by_guid.values() if ev["sdkType"] == "JS"), dict(js.versions))


def test_browsers_among_web_clients(mix_run):
    web = [ev for ev in clients(mix_run).values() if ev["sdkType"] == "JS"]
    assert_shares(Counter(ev["browser"] for ev in web), {b.name: b.weight for b in CONFIG.browsers})
    chrome = next(b for b in CONFIG.browsers if b.name == "CHROME")
    assert_shares(Counter(ev["browserVersion"] for ev in web if ev["browser"] == "CHROME"), dict(chrome.versions))
    assert not [ev for ev in clients(mix_run).values() if ev["sdkType"] != "JS" and "browser" in ev]


def test_session_countries(mix_run):
    # The first client of each session: every client's country follows the mix (the host's
    # is the session's, guests are sometimes foreign, drawn from the same mix).
    first: dict[str, str] = {}
    for ev in mix_run:
        if ev["type"] == "connectionCreated" and "sdkVersion" in ev:
            first.setdefault(ev["sessionId"], ev["country"])
    assert len(first) > 1_000
    assert_shares(Counter(first.values()), {c.code: c.weight for c in CONFIG.countries})


def test_regions_belong_to_their_country(mix_run):
    regions = {c.code: {r.code for r in c.regions} for c in CONFIG.countries}
    for ev in clients(mix_run).values():
        assert ev["region"] in regions[ev["country"]]


def failure_rates(run: list[dict], dimension: str) -> dict[str, float]:
    """Attempt failure rate per value of an endpoint dimension (all attempt types)."""
    endpoint = {ev["connectionId"]: ev for ev in run if ev["type"] == "connectionCreated"}
    tries, fails = Counter(), Counter()
    for ev in run:
        if not ev["type"].endswith("Attempt"):
            continue
        source = ev if ev["outcome"] == "failure" and "connectionId" not in ev else endpoint.get(ev.get("connectionId"))
        if source is None or dimension not in source:
            continue
        tries[source[dimension]] += 1
        fails[source[dimension]] += ev["outcome"] == "failure"
    return {k: fails[k] / tries[k] for k in tries if tries[k] >= 500}


def test_failures_depend_on_network_and_browser(mix_run):
    # Multipliers: cellular -> mobile profile (2.0), ethernet -> mostly good broadband (0.6);
    # Safari 1.5 and Firefox 1.2 against Chrome 1.0.
    network = failure_rates(mix_run, "networkType")
    assert network["cellular"] > 1.8 * network["ethernet"]
    browser = failure_rates(mix_run, "browser")
    assert browser["SAFARI"] > 1.2 * browser["CHROME"]
    assert 0.005 < browser["CHROME"] < 0.05
