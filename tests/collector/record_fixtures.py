"""Record real getStats() reports from Chromium for the collector's unit tests (run once, by hand):

    .venv/bin/python -m tests.collector.record_fixtures

Writes collector/test/fixtures/chromium-loopback.json: the session descriptions and two
consecutive reports (two seconds apart) of a publishing and a subscribing peer connection of the
loopback test page (fake camera 640x480 and microphone), without any collector on the page.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from tests.collector.browser import launch_args
from tests.collector.pageserver import serve_pages

OUT = Path(__file__).resolve().parents[2] / "collector" / "test" / "fixtures" / "chromium-loopback.json"

SNAPSHOT = """async () => {
  const plain = async (pc) => { const o = {}; (await pc.getStats()).forEach((s) => { o[s.id] = s; }); return o; };
  return { pub: await plain(window.pcs.pubA), sub: await plain(window.pcs.sub1) };
}"""


def main() -> None:
    with serve_pages() as origin, sync_playwright() as p:
        executable, args = launch_args()
        browser = p.chromium.launch(executable_path=executable, args=args)
        page = browser.new_page()
        page.goto(f"{origin}/loopback.html?nocollector=1")
        page.wait_for_function("window.ready === true", timeout=20_000)
        time.sleep(3)
        first = page.evaluate(SNAPSHOT)
        time.sleep(2)
        second = page.evaluate(SNAPSHOT)
        sdp = page.evaluate("""() => ({
          pubLocal: window.pcs.pubA.localDescription.sdp, pubRemote: window.pcs.pubA.remoteDescription.sdp,
          subLocal: window.pcs.sub1.localDescription.sdp, subRemote: window.pcs.sub1.remoteDescription.sdp,
          streamId: window.localStreamId, userAgent: navigator.userAgent })""")
        browser.close()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"recordedAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **sdp,
                               "reports": [first, second]}, indent=1) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
