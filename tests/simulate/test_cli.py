"""The simulate command's arguments and body, as the main CLI will call them."""

from __future__ import annotations

import argparse
import io
from datetime import date

import pytest

from tests.simulate.fake_server import TOKEN
from videoinsights.domain.days import DAY_MS, day_start_ms
from videoinsights.simulate import add_simulate_arguments, deliver, generate, read_ndjson, run_simulate, write_ndjson
from videoinsights.simulate.cli import start_ms_for


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="videoinsights simulate")
    add_simulate_arguments(parser)
    return parser.parse_args(list(argv))


BASE = ("--project", "12345678", "--days", "1", "--sessions-per-day", "6", "--seed", "5", "--start", "2024-03-04")


def expected_bytes(late: float = 0.0, dup: float = 0.0) -> bytes:
    buf = io.BytesIO()
    events = generate("12345678", day_start_ms(date(2024, 3, 4)), 1, 6, 5)
    write_ndjson(deliver(events, 5, late, dup), buf)
    return buf.getvalue()


def test_out_file_matches_the_library(tmp_path):
    out = tmp_path / "events.ndjson"
    assert run_simulate(parse(*BASE, "--out", str(out))) == 0
    assert out.read_bytes() == expected_bytes()


def test_out_stdout_with_late_and_duplicates(capsysbinary):
    assert run_simulate(parse(*BASE, "--out", "-", "--late-fraction", "0.1", "--duplicate-fraction", "0.05")) == 0
    captured = capsysbinary.readouterr()
    assert captured.out == expected_bytes(0.1, 0.05)
    assert b"wrote" in captured.err


def test_default_start_ends_the_window_at_todays_midnight():
    assert start_ms_for(None, 3, today=date(2024, 3, 10)) == day_start_ms(date(2024, 3, 7))
    assert start_ms_for(date(2024, 1, 2), 3) == day_start_ms(date(2024, 1, 2))
    events = list(generate(1, start_ms_for(None, 1, today=date(2024, 3, 10)), 1, 3, 1))
    assert all(ev["timestamp"] < day_start_ms(date(2024, 3, 10)) for ev in events)
    assert all(ev["timestamp"] >= day_start_ms(date(2024, 3, 10)) - DAY_MS - 3_600_000 for ev in events)


def test_posts_to_a_url_and_can_tee_to_a_file(server, recorder, tmp_path):
    url, rec = server
    out = tmp_path / "copy.ndjson"
    code = run_simulate(parse(*BASE, "--url", url, "--batch-size", "400", "--concurrency", "2", "--out", str(out),
                              "--duplicate-fraction", "0.02"), token_provider=lambda: TOKEN)
    assert code == 0
    sent = list(read_ndjson(io.BytesIO(out.read_bytes())))
    assert set(rec.ids) == {ev["id"] for ev in sent}
    assert len(sent) > len(rec.ids)  # the duplicates were sent, and deduplicated


def test_static_token_flag(server, recorder):
    url, _ = server
    assert run_simulate(parse(*BASE, "--url", url, "--token", TOKEN)) == 0
    assert run_simulate(parse(*BASE, "--url", url, "--token", "nope")) == 1


def test_usage_errors(capsys, monkeypatch):
    monkeypatch.delenv("VIDEOINSIGHTS_TOKEN", raising=False)
    assert run_simulate(parse(*BASE)) == 2
    assert run_simulate(parse(*BASE, "--url", "http://127.0.0.1:9")) == 2
    with pytest.raises(SystemExit):
        parse(*BASE, "--late-fraction", "2")
    with pytest.raises(SystemExit):
        parse("--days", "1")  # --project is required
