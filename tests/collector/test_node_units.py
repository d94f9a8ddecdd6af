"""The collector's JavaScript unit tests (collector/test/, node's test runner), run by pytest so
`./run test` and CI run them. Their output is shown when they fail."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

COLLECTOR = Path(__file__).resolve().parents[2] / "collector"


def test_collector_node_units() -> None:
    node = shutil.which("node")
    assert node, "node (20+) is needed for the collector's unit tests"
    result = subprocess.run([node, "--test", "--test-reporter=spec", "test/"], cwd=COLLECTOR,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"node --test failed:\n{result.stdout}\n{result.stderr}"
    assert "# fail 0" in result.stdout or "ℹ fail 0" in result.stdout, result.stdout


def test_npm_pack_ships_both_bundles_and_the_types() -> None:
    npm = shutil.which("npm")
    assert npm, "npm is needed to check the collector package"
    # --ignore-scripts: list what ./run's build made, without rebuilding under a running server
    result = subprocess.run([npm, "pack", "--dry-run", "--json", "--silent", "--ignore-scripts"], cwd=COLLECTOR,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    packed = json.loads(result.stdout)[0]
    files = {f["path"] for f in packed["files"]}
    assert {"dist/videoinsights-collector.js", "dist/videoinsights-collector.mjs", "index.d.ts", "package.json",
            "README.md"} <= files
    manifest = json.loads((COLLECTOR / "package.json").read_text())
    assert not manifest.get("dependencies")  # no runtime dependency
    assert manifest["exports"]["."]["types"] == "./index.d.ts"
