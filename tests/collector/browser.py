"""How the collector tests launch Debian's Chromium: the browser suite's flags plus fake media
devices (a test-pattern camera and a beep microphone, no permission prompt)."""

from __future__ import annotations

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS

FAKE_MEDIA = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
              "--autoplay-policy=no-user-gesture-required"]


def launch_args() -> tuple[str, list[str]]:
    return CHROMIUM, [*CHROMIUM_ARGS, *FAKE_MEDIA]
