"""Playwright for one test package (tests/browser, tests/collector), shared by their conftests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="package")
def playwright_api() -> Iterator[Any]:
    """Playwright for this suite only: its sync API allows one running instance per thread and runs an event
    loop in the test thread until stopped, so it stops when the suite ends (under pytest-xdist other suites'
    tests run next in this process, and asyncio.run() refuses a running loop)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p
