"""The interpreter lock's switch interval (setting gil_switch_interval_ms): set by `serve`, refused by name when not
positive."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from videoinsights.settings import Settings, SettingsError
from videoinsights.web.server import set_switch_interval


def test_the_server_sets_the_interval_in_milliseconds() -> None:
    before = sys.getswitchinterval()
    try:
        set_switch_interval(Settings(gil_switch_interval_ms=0.25))
        assert sys.getswitchinterval() == pytest.approx(0.00025)
        set_switch_interval(Settings())  # the default: a tenth of Python's 5 ms
        assert sys.getswitchinterval() == pytest.approx(0.0005)
    finally:
        sys.setswitchinterval(before)


@pytest.mark.parametrize("value", [0.0, -1.0])
def test_an_interval_that_is_not_positive_is_refused_by_name(value: float) -> None:
    with pytest.raises(SettingsError, match="VIDEOINSIGHTS_GIL_SWITCH_INTERVAL_MS"):
        set_switch_interval(Settings(gil_switch_interval_ms=value))


def test_serve_refuses_it_before_starting(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "videoinsights", "--db", str(tmp_path / "x.duckdb"), "serve",
                             "--port", "1"], env={"VIDEOINSIGHTS_GIL_SWITCH_INTERVAL_MS": "0", "PATH": ""},
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "VIDEOINSIGHTS_GIL_SWITCH_INTERVAL_MS must be more than 0" in result.stderr
