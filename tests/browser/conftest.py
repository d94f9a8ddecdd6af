"""Fixtures of the browser suite: Debian's Chromium driven by Playwright, one server for the
session, and a page that fails its test on any console error or failed request.

Needs `apt-get install chromium` and a built frontend (`cd frontend && npm ci && npm run build`);
`./run test` sets both up. Without them the suite fails: a skipped suite would hide a gap.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.world import PASSWORD, World, build_world
from tests.support import playwright
from videoinsights.web.pages.render import DIST

playwright_api = playwright.playwright_api  # the package's Playwright (tests/support/playwright.py)

CHROMIUM = os.environ.get("VIDEOINSIGHTS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def _missing() -> str | None:
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        return f"no Chromium at {CHROMIUM} (apt-get install -y chromium)"
    if not (DIST / "dashboard.js").exists():
        return "frontend not built (cd frontend && npm ci && npm run build)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[dev]')"
    return None


@pytest.fixture(autouse=True, scope="session")
def _requirements() -> None:
    reason = _missing()
    if reason is not None:
        pytest.fail(f"browser suite cannot run: {reason}")


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    w = build_world(tmp_path_factory.mktemp("browser"))
    yield w
    w.server.stop()


@pytest.fixture(scope="package")
def browser(playwright_api: Any) -> Iterator[Any]:
    b = playwright_api.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield b
    b.close()


class Guard:
    """Collects console errors, page errors and failed requests of a page."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.allowed_statuses: set[int] = set()

    def attach(self, page: Any) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        page.on("requestfailed", self._failed)
        page.on("response", self._response)

    def _console(self, message: Any) -> None:
        if message.type != "error":
            return
        status = re.search(r"Failed to load resource: the server responded with a status of (\d+)", message.text)
        if status and int(status.group(1)) in self.allowed_statuses:
            return  # an answer the test expects (checked by _response)
        self.problems.append(f"console error: {message.text}")

    def _failed(self, request: Any) -> None:
        # A navigation cancels the previous page's requests: that is not a failure of the app.
        if request.failure != "net::ERR_ABORTED":
            self.problems.append(f"request failed: {request.method} {request.url}: {request.failure}")

    def _response(self, response: Any) -> None:
        if response.status >= 400 and response.status not in self.allowed_statuses:
            self.problems.append(f"HTTP {response.status}: {response.request.method} {response.url}")


@pytest.fixture
def guard() -> Guard:
    return Guard()


def _context(browser: Any, viewport: dict[str, int]) -> Any:
    context = browser.new_context(viewport=viewport, locale="en-US", timezone_id="America/Los_Angeles")
    context.set_default_timeout(60_000)  # Playwright's 30 s ran out on a loaded machine (parallel workers)
    return context


@pytest.fixture
def page(browser: Any, guard: Guard) -> Iterator[Any]:
    """A fresh desktop page (1280 px); the test fails on any console error or failed request."""
    context = _context(browser, DESKTOP)
    p = context.new_page()
    guard.attach(p)
    yield p
    context.close()
    assert not guard.problems, "\n".join(guard.problems)


@pytest.fixture
def phone_page(browser: Any, guard: Guard) -> Iterator[Any]:
    context = _context(browser, PHONE)
    p = context.new_page()
    guard.attach(p)
    yield p
    context.close()
    assert not guard.problems, "\n".join(guard.problems)


def login(page: Any, world: World, email: str | None = None, next_path: str = "/") -> None:
    page.goto(f"{world.url}/login?next={next_path}")
    page.fill("input[name=email]", email or world.alice)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(re.escape(world.url + next_path.split("?")[0])))


def wait_ready(page: Any, timeout: float = 60_000) -> None:
    """Wait until the page's data is drawn (the pages set #app[data-state]). Selectors, not
    wait_for_function: the pages' Content-Security-Policy forbids the eval that needs."""
    page.wait_for_selector("#app[data-state=ready]", state="attached", timeout=timeout)


def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


# Fraction of a canvas's pixels that are painted (not transparent): > 0 means something drew.
CANVAS_INK = """(canvas) => {
  const ctx = canvas.getContext('2d');
  const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
  let painted = 0;
  for (let i = 3; i < data.length; i += 4) if (data[i] > 0) painted += 1;
  return painted / (canvas.width * canvas.height);
}"""


def ink(page: Any, selector: str) -> float:
    """How much of the canvas under `selector` is painted."""
    return float(page.eval_on_selector(f"{selector} canvas", CANVAS_INK))
