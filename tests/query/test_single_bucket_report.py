"""A report of one bucket and no groups is read with a cheaper statement (store/duckdb/reads.py and
store/clickhouse/reads.py, _single_bucket_sql); it must give exactly the rows and totals of the general
report statement (report_sql) of the same backend, which stays the reference, over the hand-made world
of tests/query/fixtures.py (copied row for row into chdb for ClickHouse)."""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

import pytest

from tests.query import fixtures
from tests.support.copy_store import copy
from tests.support.stores import drop, new_store_url, open_store
from videoinsights.query.report import ReportQuery
from videoinsights.store.clickhouse import reads as ch_reads
from videoinsights.store.duckdb import reads
from videoinsights.store.duckdb.store import DuckDBStore

MONTHLY_BEFORE = date(2025, 8, 1)  # the fixtures' daily window starts 2025-08-29
RANGES = [  # (first_day, last_day): data on both sides, monthly only, endpoint only, project only, nothing
    (None, date(2025, 11, 27)),
    (date(2025, 5, 1), date(2025, 11, 27)),
    (date(2025, 6, 1), date(2025, 6, 30)),
    (date(2025, 11, 20), date(2025, 11, 20)),
    (date(2025, 11, 26), date(2025, 11, 27)),
    (date(2025, 11, 12), date(2025, 11, 12)),
    (date(2025, 11, 21), date(2025, 11, 24)),
]
FILTERS = [(), (("sdk_type", ("JS",)),), (("country", ("US", "GB")),), (("browser", ()),)]
ENDPOINT = [("published_minutes", "subscribed_minutes"), ("connect_attempts",), ()]
PROJECT = [("pm_from1to2", "sd_archive_composed_minutes"), ()]


def general(store: Any, q: ReportQuery) -> tuple[list[dict[str, Any]], int]:
    """report_sql, the statement every other report shape uses, paged as project_report pages it."""
    cur = store.reader()

    def run(sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        if hasattr(store, "client"):
            return ch_reads.rows_of(cur, sql, params)
        return reads._dicts(cur.execute(sql, params))

    params: dict[str, Any] = {"limit": q.limit, "offset": q.offset}
    sql = (ch_reads if hasattr(store, "client") else reads).report_sql(q, params)
    rows = run(sql, params)
    if rows:
        return rows, int(rows[0]["_total"])
    if q.offset == 0:
        return [], 0
    params.update(limit=1, offset=0)
    first = run(sql, params)
    return [], int(first[0]["_total"]) if first else 0


@pytest.fixture(scope="module")
def house(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The fixture world copied row for row into a chdb store."""
    tmp = tmp_path_factory.mktemp("single-bucket")
    duck = fixtures.build_world(str(tmp / "world.duckdb"))
    url = new_store_url("chdb", tmp)
    ch = open_store(url)
    copy(duck, ch)
    duck.close()
    yield ch
    ch.close()
    drop(url)


@pytest.mark.parametrize("backend", ["duckdb", "chdb"])
def test_one_bucket_reports_equal_the_general_statement(backend: str, request: pytest.FixtureRequest) -> None:
    store = request.getfixturevalue("store" if backend == "duckdb" else "house")
    compared = with_rows = 0
    shapes = [(*shape, (0, 50)) for shape in itertools.product(
        (fixtures.PROJECT, fixtures.DOCS_PROJECT, "99999999"), RANGES, FILTERS[:3], ENDPOINT[:2], PROJECT)]
    shapes += [(fixtures.PROJECT, r, f, ENDPOINT[0], PROJECT[0], page) for r, f, page in itertools.product(
        RANGES[:5], (FILTERS[0], FILTERS[3]), ((1, 50), (0, 0), (2, 1), (0, 1)))]
    for project, (first, last), filters, ep_cols, pr_cols, (offset, limit) in shapes:
        q = ReportQuery(project, first, last, None, filters, (), ep_cols, pr_cols, include_project=not filters,
                        monthly_before=MONTHLY_BEFORE, offset=offset, limit=limit)
        got = store.sql.reads.project_report(store.reader(), q)
        expected = general(store, q)
        assert got == expected, q
        assert [list(r) for r in got[0]] == [list(r) for r in expected[0]], q  # same keys, same order
        compared += 1
        with_rows += bool(got[0])
    assert compared == 3 * 7 * 3 * 2 * 2 + 5 * 2 * 4
    assert with_rows > 60  # the comparison is not only of empty answers


def test_hand_computed_one_bucket_row(store: DuckDBStore) -> None:
    """2025-11-26 of project 12345678: endpoint rows 20 + 10 + 5 published minutes (fixtures' comments),
    its project row 12 SD archive minutes."""
    q = ReportQuery(fixtures.PROJECT, date(2025, 11, 26), date(2025, 11, 26), None, (), (),
                    ("published_minutes",), ("sd_archive_composed_minutes",), include_project=True,
                    monthly_before=MONTHLY_BEFORE, offset=0, limit=50)
    rows, total = reads.project_report(store.reader(), q)
    assert total == 1
    assert rows == [{"bucket": date(1970, 1, 1), "first_day": date(2025, 11, 26), "published_minutes": 35.0,
                     "sd_archive_composed_minutes": 12.0, "_total": 1, "min_day": date(2025, 11, 26)}]


class Counting:
    """A cursor that counts the statements it runs."""

    def __init__(self, cursor: Any) -> None:
        self.cursor, self.statements = cursor, 0

    def execute(self, sql: str, params: Any = None) -> Any:
        self.statements += 1
        return self.cursor.execute(sql, params)


@pytest.mark.parametrize(("first", "last", "project_columns", "statements"), [
    (date(2025, 11, 26), date(2025, 11, 27), (), 1),  # an endpoint row on the first day: the project side skipped
    (date(2025, 11, 13), date(2025, 11, 20), (), 2),  # the first endpoint row on 11-17: the project side read too
    (date(2025, 11, 21), date(2025, 11, 24), (), 2),  # no endpoint row: only the project side can make one
    (date(2025, 11, 26), date(2025, 11, 27), ("sd_archive_composed_minutes",), 1),  # both sides, one statement
])
def test_the_project_side_is_read_only_when_it_can_change_the_row(store: DuckDBStore, first: date, last: date,
                                                                  project_columns: tuple[str, ...],
                                                                  statements: int) -> None:
    q = ReportQuery(fixtures.PROJECT, first, last, None, (), (), ("published_minutes",), project_columns,
                    include_project=True, monthly_before=MONTHLY_BEFORE, offset=0, limit=50)
    cursor = Counting(store.reader())
    assert reads.project_report(cursor, q) == general(store, q)
    assert cursor.statements == statements
