"""Seeded simulator runs shared by the tests (generated once per test session)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from tests.simulate.fake_server import Recorder, running_server
from videoinsights.domain.days import DAY_MS, day_start_ms
from videoinsights.simulate import generate

PROJECT = 47_110_815
START_MS = day_start_ms(date(2024, 3, 4))  # a Monday, local midnight in Los Angeles
DAYS, PER_DAY, SEED = 2, 40, 7


@pytest.fixture(scope="session")
def run() -> list[dict]:
    """2 days x 40 sessions with the default model."""
    return list(generate(PROJECT, START_MS, DAYS, PER_DAY, SEED))


@pytest.fixture(scope="session")
def window() -> tuple[int, int]:
    return START_MS, START_MS + DAYS * DAY_MS


@pytest.fixture(scope="session")
def server() -> Iterator[tuple[str, Recorder]]:
    """A fake ingestion server: (base url, recorder)."""
    with running_server() as s:
        yield s


@pytest.fixture
def recorder(server: tuple[str, Recorder]) -> Recorder:
    server[1].reset()
    return server[1]
