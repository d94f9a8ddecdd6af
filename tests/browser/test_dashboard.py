"""The dashboard at /dashboard: tabs, stacking filters kept in the URL, every figure equal to the API's."""

from __future__ import annotations

import csv
import re
from typing import Any

import pytest

from tests.browser.conftest import ink, login, screenshot, wait_ready
from tests.browser.expect import days_ago, group, narrowing, percent, report, with_unit
from tests.browser.world import World


def kpi(page: Any, key: str) -> tuple[float | None, str]:
    """(exact value the page got from the API, the text it shows) of a number tile."""
    el = page.locator(f"[data-kpi='{key}']")
    raw = el.get_attribute("data-value")
    return (float(raw) if raw else None), el.locator(".kpi-value").inner_text()


def assert_kpi(page: Any, key: str, expected: float | None, text: str) -> None:
    value, shown = kpi(page, key)
    if expected is None:
        assert value is None, f"{key}: {value}"
    else:
        assert value == pytest.approx(expected, rel=1e-9), f"{key}: page {value} != API {expected}"
    assert shown == text, f"{key}: shows {shown!r}, expected {text!r}"


def check_usage(page: Any, expected: dict[str, Any]) -> float:
    published = expected["totals"]["usage"]["streamedPublishedMinutes"] if expected["totals"] else None
    assert_kpi(page, "published", published, with_unit(published, "min"))
    subscribed = expected["totals"]["usage"]["streamedSubscribedMinutes"] if expected["totals"] else None
    assert_kpi(page, "subscribed", subscribed, with_unit(subscribed, "min"))
    return published or 0.0


def apply(page: Any, action: Any, url_part: str) -> None:
    """Do something to the filters, then wait for the URL to hold it and the data to be drawn."""
    action()
    page.wait_for_url(lambda url: url_part in url)
    wait_ready(page)


def pick(page: Any, key: str, value: str) -> None:
    details = page.locator(f"details[data-filter='{key}']")
    if details.get_attribute("open") is None:
        details.locator("summary").click()
    details.locator(f"input[value='{value}']").check()
    page.locator("h1").click()  # close the list


def test_tabs_show_the_api_figures_and_draw_map_and_charts(page: Any, world: World) -> None:
    login(page, world, next_path="/dashboard")
    wait_ready(page)
    expected = report(world, world.main, days_ago(29), days_ago(0))
    assert check_usage(page, expected) > 0
    # the map and the charts drew something
    page.wait_for_selector("#usage-map canvas")
    wait_ready(page)
    assert ink(page, "#usage-map") > 0.05
    for card in ("#usage-over-time", "#usage-sdk", "#usage-browser", "#usage-tiers"):
        assert ink(page, card) > 0.01, card
    assert page.locator("#usage-map tr[data-country]").count() > 1
    screenshot(page, "dashboard-usage")

    page.click("button[data-tab=quality]")
    wait_ready(page)
    assert "tab=quality" in page.url
    totals = expected["totals"]["quality"]
    v = totals["publisher"]["videoBitrateKbpsAvg"]
    assert_kpi(page, "pubBitrate", v, with_unit(v, "kbps"))
    v = totals["publisher"]["latencyMsAvg"]
    assert_kpi(page, "pubLatency", v, with_unit(v, "ms"))
    for card in ("#quality-bitrate", "#quality-latency", "#quality-bitrate-trend", "#quality-latency-trend"):
        assert ink(page, card) > 0.01, card
    screenshot(page, "dashboard-quality")

    page.click("button[data-tab=errors]")
    wait_ready(page)
    rate = expected["totals"]["errors"]["connect"]["failureRate"]
    assert_kpi(page, "connectRate", rate, percent(rate))
    rate = expected["totals"]["errors"]["subscribe"]["failureRate"]
    assert_kpi(page, "subscribeRate", rate, percent(rate))
    for card in ("#errors-over-time", "#errors-browser", "#errors-sdk", "#errors-country"):
        assert ink(page, card) > 0.005, card
    screenshot(page, "dashboard-errors")

    page.reload()  # the URL keeps the view
    wait_ready(page)
    assert page.locator("button[data-tab=errors]").get_attribute("aria-selected") == "true"
    assert_kpi(page, "connectRate", expected["totals"]["errors"]["connect"]["failureRate"],
               percent(expected["totals"]["errors"]["connect"]["failureRate"]))


def test_each_filter_changes_the_numbers_to_the_api_values(page: Any, world: World) -> None:
    start, end = days_ago(29), days_ago(0)
    country = narrowing(group(world, world.main, "COUNTRY", "country", start))
    region = narrowing(group(world, world.main, "REGION", "region", start, country=[country]))
    sdk = narrowing(group(world, world.main, "SDK_TYPE", "sdkType", start))
    sdk_version = narrowing(group(world, world.main, "SDK_VERSION", "sdkVersion", start, sdkType=[sdk]))
    browser = narrowing(group(world, world.main, "BROWSER", "browser", start))
    browser_version = narrowing(group(world, world.main, "BROWSER_VERSION", "browserVersion", start, browser=[browser]))

    login(page, world, next_path="/dashboard")
    wait_ready(page)
    previous = check_usage(page, report(world, world.main, start, end))

    changes = 0

    def step(filters: dict[str, list[str]], **range_: str) -> None:
        nonlocal previous, changes
        expected = report(world, world.main, range_.get("start", start), range_.get("end", end), **filters)
        now = check_usage(page, expected)  # the page shows the API's figure for the stacked filters...
        changes += now != previous  # ...which, for the values picked (see `narrowing`), is a new one
        previous = now

    # date range: from yesterday, then the 7-day preset
    apply(page, lambda: page.fill("input[name=start]", days_ago(1)), f"start={days_ago(1)}")
    step({}, start=days_ago(1))
    apply(page, lambda: page.click("button[data-preset='7']"), f"start={days_ago(6)}")
    step({}, start=days_ago(6))
    start = days_ago(6)

    # interval: the series under the chart is the API's weekly series
    apply(page, lambda: page.select_option("select[name=interval]", "WEEKLY"), "interval=WEEKLY")
    weekly = report(world, world.main, start, end, "WEEKLY")["series"]
    cells = page.locator("#usage-over-time .data-table tbody tr td:first-of-type")
    assert cells.count() == len(weekly) >= 1
    for i, row in enumerate(weekly):
        shown = float(cells.nth(i).get_attribute("data-value"))
        assert shown == pytest.approx(row["usage"]["streamedPublishedMinutes"])

    # location filters stack: country, then a region of it
    apply(page, lambda: pick(page, "country", country), f"country={country}")
    step({"country": [country]})
    apply(page, lambda: pick(page, "region", region), f"region={region}")
    step({"country": [country], "region": [region]})
    screenshot(page, "dashboard-filtered-location")

    page.click("button.reset")
    wait_ready(page)
    # endpoint filters: SDK type then version; browser then version
    apply(page, lambda: pick(page, "sdkType", sdk), f"sdkType={sdk}")
    step({"sdkType": [sdk]})
    apply(page, lambda: pick(page, "sdkVersion", sdk_version), f"sdkVersion={sdk_version}")
    step({"sdkType": [sdk], "sdkVersion": [sdk_version]})
    apply(page, lambda: pick(page, "browser", browser), f"browser={browser}")
    step({"sdkType": [sdk], "sdkVersion": [sdk_version], "browser": [browser]})
    apply(page, lambda: pick(page, "browserVersion", browser_version), f"browserVersion={browser_version}")
    filters = {"sdkType": [sdk], "sdkVersion": [sdk_version], "browser": [browser], "browserVersion": [browser_version]}
    step(filters)
    assert changes >= 7, "the filters picked should change the figures nearly every time"
    # session-level minutes are not split by endpoint: shown as unavailable, not as zero
    assert kpi(page, "archives") == (None, "–")

    # the same stacked filters on the Errors tab, and the URL reloads to the same view
    page.click("button[data-tab=errors]")
    wait_ready(page)
    expected = report(world, world.main, start, end, **filters)["totals"]
    rate = expected["errors"]["connect"]["failureRate"] if expected else None
    assert_kpi(page, "connectRate", rate, percent(rate))
    screenshot(page, "dashboard-filtered-errors")
    url = page.url
    page.goto(url)
    wait_ready(page)
    assert re.search(r"browserVersion=[^&]+", page.url) and page.url == url
    assert_kpi(page, "connectRate", rate, percent(rate))


def test_dashboard_on_a_phone(phone_page: Any, world: World) -> None:
    page = phone_page
    login(page, world, next_path="/dashboard")
    wait_ready(page)
    page.wait_for_selector("#usage-map canvas")
    wait_ready(page)
    assert ink(page, "#usage-map") > 0.02
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"the page is {overflow}px wider than a phone screen"
    screenshot(page, "dashboard-phone")


def test_every_data_table_downloads_its_rows_as_csv(page: Any, world: World, tmp_path: Any) -> None:
    login(page, world, next_path="/dashboard")
    wait_ready(page)
    tables = page.locator("#usage-over-time details.data-table")
    assert tables.count() >= 1
    details = tables.first
    details.locator("summary").click()
    header = [th.inner_text() for th in details.locator("thead th").all()][1:]
    labels = [th.inner_text() for th in details.locator("tbody th").all()]
    values = [[td.get_attribute("data-value") for td in tr.locator("td").all()]
              for tr in details.locator("tbody tr").all()]
    with page.expect_download() as info:
        details.locator("a.csv-download").click()
    download = info.value
    assert download.suggested_filename.endswith(".csv")
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    rows = list(csv.reader(path.open(newline="")))
    assert rows[0] == ["", *header]
    assert [r[0] for r in rows[1:]] == labels
    assert [r[1:] for r in rows[1:]] == values  # the exact values, not the formatted text
    assert any(float(v) > 0 for row in values for v in row if v)
    # every chart of every tab has one
    for tab in ("quality", "errors"):
        page.click(f"button[data-tab={tab}]")
        wait_ready(page)
    assert page.locator("details.data-table").count() == page.locator("details.data-table a.csv-download").count()
