"""The Date scalar: every accepted form, the output form, and that every form
of the same moment gives the same projectData answer."""

from __future__ import annotations

from typing import Any

import pytest

from tests.query.fixtures import utc
from videoinsights.query.dates import DateValueError, format_date, parse_date

NOV26_LA = utc("2025-11-26T08:00:00")  # 2025-11-26 00:00 PST


@pytest.mark.parametrize("value", [
    "2025-11-26T08:00:00.000Z", "2025-11-26T08:00:00Z", "2025-11-26T08:00:00z", "2025-11-26T08:00:00+00:00",
    "2025-11-26T00:00:00-08:00", "2025-11-26T09:00:00.000+01:00", "2025-11-26T08:00:00",
    "2025-11-26",  # bare dates are America/Los_Angeles midnight
    1764144000, 1764144000000, "1764144000", "1764144000000", " 1764144000 ", 1764144000.0,
])
def test_forms_of_one_moment(value: Any) -> None:
    assert parse_date(value) == NOV26_LA


def test_digit_count_decides_seconds_or_milliseconds() -> None:
    assert parse_date(9_999_999_999) == 9_999_999_999_000  # 10 digits: seconds
    assert parse_date(10_000_000_000) == 10_000_000_000  # 11 digits: milliseconds
    assert parse_date(0) == 0 and parse_date("0") == 0  # earliest


def test_summer_bare_date_is_pdt_midnight() -> None:
    assert format_date(parse_date("2025-07-04")) == "2025-07-04T07:00:00.000Z"


@pytest.mark.parametrize("value", ["yesterday", "2025-13-01", "2025-02-30", -5, True, None, [1], "1.5e3", 1.5,
                                   "2025-11-26T25:00:00Z", "99999999999999999999"])
def test_rejected(value: Any) -> None:
    with pytest.raises(DateValueError):
        parse_date(value)


def test_output_is_utc_with_milliseconds() -> None:
    assert format_date(utc("2020-03-22T12:24:05.407")) == "2020-03-22T12:24:05.407Z"
    assert format_date(0) == "1970-01-01T00:00:00.000Z"


START_FORMS = ['"2025-11-26"', '"2025-11-26T08:00:00.000Z"', '"2025-11-26T08:00:00Z"',
               '"2025-11-26T09:00:00.000+01:00"', "1764144000", "1764144000000", '"1764144000"', '"1764144000000"']
QUERY = """{ project(projectId: 12345678) { projectData(start: %s, end: %s, interval: DAILY) {
  resources { intervalStart intervalEnd usage { streamedPublishedMinutes streamedSubscribedMinutes } } } } }"""
EXPECTED = [{"intervalStart": "2025-11-26T08:00:00.000Z", "intervalEnd": "2025-11-26T08:00:00.000Z",
             "usage": {"streamedPublishedMinutes": 35.0, "streamedSubscribedMinutes": 24.0}}]


@pytest.mark.parametrize("start", START_FORMS)
def test_every_literal_form_gives_the_same_answer(run: Any, start: str) -> None:
    body = run(QUERY % (start, '"2025-11-26T23:00:00Z"'))  # end: Nov 26 15:00 PST
    assert body == {"data": {"project": {"projectData": {"resources": EXPECTED}}}}


VARIABLE_FORMS = [(d, v) for d in ("Date!", "String!", "Int!") for v in (
    "2025-11-26", "2025-11-26T08:00:00.000Z", 1764144000, 1764144000000, "1764144000", "2025-11-26T00:00:00-08:00")
    if d == "Date!" or (d == "String!") == isinstance(v, str)]


@pytest.mark.parametrize(("declared", "start"), VARIABLE_FORMS)
def test_every_variable_form_gives_the_same_answer(run: Any, declared: str, start: Any) -> None:
    query = QUERY.replace("query", "") % ("$start", '"2025-11-26T23:00:00Z"')
    body = run(f"query q($start: {declared}) " + query, {"start": start})
    assert body == {"data": {"project": {"projectData": {"resources": EXPECTED}}}}


def test_unquoted_iso_date_is_a_syntax_error(run: Any) -> None:
    body = run("{ project(projectId: 1) { projectData(start: 2022-04-24T07:00:00.000Z) { totalCount } } }")
    assert "data" not in body
    assert body["errors"][0]["message"].startswith("Syntax Error")


def test_bad_date_literal_is_a_type_error(run: Any) -> None:
    body = run('{ project(projectId: 12345678) { projectData(start: "next tuesday") { totalCount } } }')
    assert body["errors"][0]["errorCode"] == 1022
    assert "next tuesday" in body["errors"][0]["message"]


def test_bad_date_variable_is_a_type_error(run: Any) -> None:
    body = run("query($s: Date!) { project(projectId: 12345678) { projectData(start: $s) { totalCount } } }",
               {"s": "2025-02-30"})
    assert body["errors"][0]["errorCode"] == 1022
    assert "calendar date" in body["errors"][0]["message"]
