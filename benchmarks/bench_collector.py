"""The browser collector's cost: bundle size, and one stats snapshot per peer connection in Chromium.

    .venv/bin/python -m benchmarks.bench_collector [--runs 300]

Size: the IIFE bundle served at /collector.js, minified and gzipped (goal <= 8 KB gzipped).
Snapshot: on the loopback test page (fake camera 640x480 + microphone, one publisher, two subscribers),
a collector watching one publishing peer connection; `collector.sample()` (getStats + scan of the
session descriptions + our event mapping + queueing) timed beside a bare `pc.getStats()` on the same
pc, interleaved in the same run (goal <= 2 ms per pc). Sending is left out (a fetch that answers 200).
Chromium caches a pc's stats report for 50 ms, so calls are spaced 60 ms apart (each one does the
work), and the page is cross-origin isolated for 5-microsecond timers.
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
from pathlib import Path

from playwright.sync_api import sync_playwright

from tests.collector.browser import launch_args
from tests.collector.pageserver import serve_pages

ROOT = Path(__file__).resolve().parents[1]
BUNDLE = ROOT / "videoinsights" / "web" / "pages" / "static" / "collector" / "videoinsights-collector.js"

MEASURE = """async (runs) => {
  const pc = window.pcs.pubA;
  let events = 0;
  const c = VideoInsights.createCollector({ url: 'http://127.0.0.1:9', key: 'vik_bench', sessionId: 'bench',
    intervalMs: 3600000, fetch: async () => ({ status: 200, headers: { get: () => null } }),
    onEvent: (e) => { if (e.type === 'publisherStats') events += 1; } });
  c.watch(pc);
  // time spent inside getStats during a snapshot, so our own processing is measured in the same call
  const getStats = pc.getStats.bind(pc);
  let inner = 0;
  pc.getStats = async (...a) => {
    const t = performance.now();
    const r = await getStats(...a);
    inner += performance.now() - t;
    return r;
  };
  const pause = () => new Promise((r) => setTimeout(r, 60));  // past Chromium's 50 ms stats cache
  for (let i = 0; i < 10; i++) { await pause(); await pc.getStats(); await pause(); await c.sample(); }  // warm up
  const bare = [], snap = [], own = [];
  for (let i = 0; i < runs; i++) {
    await pause();
    let t = performance.now(); await getStats(); bare.push(performance.now() - t);
    await pause();
    inner = 0;
    t = performance.now(); await c.sample(); const total = performance.now() - t;
    snap.push(total);
    own.push(total - inner);
  }
  await c.close();
  return { bare, snap, own, events, isolated: crossOriginIsolated };
}"""


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()

    body = BUNDLE.read_bytes()
    gz = len(gzip.compress(body, compresslevel=9))
    print(f"bundle {BUNDLE.name}: {len(body):,} B minified, {gz:,} B gzipped (goal <= 8,192 B gzipped): "
          f"{'met' if gz <= 8192 else 'NOT met'}")

    with serve_pages() as origin, sync_playwright() as p:
        executable, flags = launch_args()
        browser = p.chromium.launch(executable_path=executable, args=flags)
        page = browser.new_page()
        page.goto(f"{origin}/loopback.html?nocollector=1&isolated=1")
        page.wait_for_function("window.ready === true", timeout=20_000)
        page.add_script_tag(path=str(BUNDLE))
        page.wait_for_timeout(2000)  # media flowing, stats populated
        result = page.evaluate(MEASURE, args.runs)
        version = page.evaluate("navigator.userAgent")
        browser.close()

    bare, snap, own = result["bare"], result["snap"], result["own"]
    mb, ms, mo = statistics.median(bare), statistics.median(snap), statistics.median(own)
    print(f"chromium: {version}")
    print(f"runs: {args.runs} (interleaved, 60 ms apart); publisherStats events made: {result['events']}; "
          f"cross-origin isolated: {result['isolated']}")
    print(f"bare getStats():     median {mb:.3f} ms  p90 {quantile(bare, 0.9):.3f} ms")
    print(f"collector snapshot:  median {ms:.3f} ms  p90 {quantile(snap, 0.9):.3f} ms "
          f"(goal <= 2 ms: {'met' if ms <= 2 else 'NOT met'})")
    print(f"  of which ours:     median {mo:.3f} ms  p90 {quantile(own, 0.9):.3f} ms (outside getStats)")
    print(f"ratio snapshot/bare: {ms / mb:.2f}x")
    print(json.dumps({"bundle_bytes": len(body), "bundle_gzip_bytes": gz, "bare_median_ms": round(mb, 3),
                      "snapshot_median_ms": round(ms, 3), "own_median_ms": round(mo, 3), "ratio": round(ms / mb, 2)}))


if __name__ == "__main__":
    main()
