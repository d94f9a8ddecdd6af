"""The test servers' ports under pytest-xdist: each worker takes ports from a range of its own, and a server
whose port was taken meanwhile starts on another one (tests/conftest.py)."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest

import tests.conftest as shared
from tests.conftest import Server, free_port


def test_a_worker_takes_ports_from_its_own_range(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw3")
    monkeypatch.setattr(shared, "_worker_ports", None)
    ports = [free_port() for _ in range(20)]
    assert all(11_500 <= p < 12_000 for p in ports), ports  # 10000 + 3 * 500: below the ephemeral range
    assert len(set(ports)) == 20  # the range is walked, not the same port again


def test_a_server_whose_port_is_taken_starts_on_another(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        server = Server(tmp_path / "vi.duckdb", taken)
        server.start()
        try:
            assert server.port != taken
            assert httpx.get(f"{server.url}/health", timeout=30).status_code == 200
            assert "address already in use" in "".join(p.read_text().lower() for p in tmp_path.glob("vi.*.log"))
        finally:
            server.stop()
