"""The collector's JavaScript unit tests (collector/test/, node's test runner), run by pytest so
`./run test` and CI run them. Their output is shown when they fail."""

from __future__ import annotations

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
