"""The package as a user gets it: a wheel built from this checkout, installed into a fresh virtualenv
without node on PATH, runs the demo (a tiny one) and serves the API and the dashboard's bundle."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str | Path, **kwargs: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=600, **kwargs)
    assert result.returncode == 0, f"{args}: {result.stdout}\n{result.stderr}"
    return result


def test_wheel_installs_without_node_and_runs_the_demo(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", wheels, ROOT)
    (wheel,) = wheels.glob("videoinsights-*.whl")
    venv = tmp_path / "fresh"
    run(sys.executable, "-m", "venv", venv)
    env = {**os.environ, "PATH": str(venv / "bin")}  # no node, no npm, not even /usr/bin
    env.pop("VIDEOINSIGHTS_DB", None)
    assert shutil.which("node", path=env["PATH"]) is None and shutil.which("npm", path=env["PATH"]) is None
    install = run(venv / "bin" / "python", "-m", "pip", "install", "--quiet", wheel, env=env, cwd=tmp_path)
    assert "deprecat" not in (install.stdout + install.stderr).lower()
    version = run(venv / "bin" / "videoinsights", "--version", env=env, cwd=tmp_path).stdout.strip()
    assert re.fullmatch(r"videoinsights \d+\.\d+\.\d+", version)
    where = run(venv / "bin" / "python", "-c", "import videoinsights; print(videoinsights.__file__)",
                env=env, cwd=tmp_path).stdout
    assert where.startswith(str(venv))  # the installed copy, not this checkout

    port = free_port()
    log = tmp_path / "demo.log"
    with open(log, "w") as out:
        demo = subprocess.Popen([venv / "bin" / "videoinsights", "--db", tmp_path / "demo.duckdb", "demo", "--days",
                                 "1", "--sessions-per-day", "6", "--port", str(port)],
                                stdout=out, stderr=subprocess.STDOUT, env=env, cwd=tmp_path)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert demo.poll() is None, log.read_text()
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise AssertionError(f"the demo did not come up: {log.read_text()}")
        printed = log.read_text()
        project = re.search(r"project id:\s+(\d+)", printed)
        token = re.search(r"X-OPENTOK-AUTH: ([\w.-]+)", printed)
        assert project and token, printed
        query = (f"{{ project(projectId: {project[1]}) {{ projectData(start: 0) "
                 "{ resources { usage { streamedPublishedMinutes } } } } }")
        answer = httpx.post(f"{url}/graphql", json={"query": query}, headers={"X-OPENTOK-AUTH": token[1]}).json()
        assert answer["data"]["project"]["projectData"]["resources"][0]["usage"]["streamedPublishedMinutes"] > 0
        bundle = httpx.get(f"{url}/static/dist/dashboard.js")
        assert bundle.status_code == 200 and len(bundle.content) > 1000  # the dashboard came in the wheel
        assert "━" not in printed  # no progress bars when the output is a file
    finally:
        demo.send_signal(signal.SIGTERM)
        demo.wait(60)
