"""Every setting is documented, and bad values are refused by name."""

from dataclasses import fields
from pathlib import Path

import pytest

from videoinsights.settings import ENV_PREFIX, HELP, Settings, SettingsError, load_settings

DOC = (Path(__file__).resolve().parents[1] / "docs" / "configuration.md").read_text()


@pytest.mark.parametrize("name", [f.name for f in fields(Settings)])
def test_every_setting_is_documented(name: str) -> None:
    assert name in HELP
    assert f"`{ENV_PREFIX}{name.upper()}`" in DOC


def test_environment_then_overrides() -> None:
    s = load_settings({"VIDEOINSIGHTS_PORT": "9000", "VIDEOINSIGHTS_DB": "/tmp/x.duckdb"}, port=9100)
    assert (s.port, s.db) == (9100, "/tmp/x.duckdb")


def test_bad_value_names_the_variable() -> None:
    with pytest.raises(SettingsError, match="VIDEOINSIGHTS_PORT"):
        load_settings({"VIDEOINSIGHTS_PORT": "eighty"})
