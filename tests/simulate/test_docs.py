"""docs/simulator.md documents every flag and the default mixes as configured."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from videoinsights.simulate import DEFAULT_CONFIG, add_simulate_arguments

DOC = (Path(__file__).resolve().parents[2] / "docs" / "simulator.md").read_text()


def pct(weight: float, items) -> str:
    return f"{round(100 * weight / sum(i.weight for i in items))}%"


def test_every_flag_is_documented():
    parser = argparse.ArgumentParser()
    add_simulate_arguments(parser)
    flags = [o for a in parser._actions for o in a.option_strings if o.startswith("--") and o != "--help"]
    assert flags
    for flag in flags:
        assert f"`{flag}" in DOC, flag


@pytest.mark.parametrize("row", [
    *(f"| {s.type} | {pct(s.weight, DEFAULT_CONFIG.sdks)} |" for s in DEFAULT_CONFIG.sdks),
    *(f"| {b.name} | {pct(b.weight, DEFAULT_CONFIG.browsers)} |" for b in DEFAULT_CONFIG.browsers),
    *(f"| {c.code} | {pct(c.weight, DEFAULT_CONFIG.countries)} |" for c in DEFAULT_CONFIG.countries),
    *(f"| `{s.name}` | {pct(s.weight, DEFAULT_CONFIG.shapes)} |" for s in DEFAULT_CONFIG.shapes),
    *(f"| {p.name} | {p.up_kbps:g} | {p.down_kbps:g} | {p.rtt_ms:g} | {p.loss:g} |"
      for p in DEFAULT_CONFIG.network_profiles),
])
def test_default_tables_match_the_config(row):
    assert row in DOC


def test_error_codes_are_documented():
    f = DEFAULT_CONFIG.failures
    for code, _ in (*f.connect_codes, *f.publish_codes, *f.subscribe_codes, *f.relayed_subscribe_codes):
        assert str(code) in DOC


def test_cycles_are_documented():
    weekly = " | ".join(f"{w:g}" for w in DEFAULT_CONFIG.schedule.weekly)
    assert f"| weight | {weekly} |" in DOC
    diurnal = " | ".join(f"{w:g}".removeprefix("0") for w in DEFAULT_CONFIG.schedule.diurnal)
    assert f"| weight | {diurnal} |" in DOC
