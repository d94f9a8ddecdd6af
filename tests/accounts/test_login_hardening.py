"""Login throttling under attack, against a real server: concurrent guesses are counted before they are
checked, password hashing is bounded in memory, and the throttle keys on the client address that
web/client_address.py derives (X-Forwarded-For only from trusted proxies)."""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import Server, create_login
from videoinsights.web.pages.throttle import LoginThrottle

PASSWORD = "open sesame 42"


def accounts(db: Path, *emails: str) -> None:
    for email in emails:
        create_login(db, email, PASSWORD)


def login_form(client: httpx.Client) -> str:
    form = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert token, form.text
    return token.group(1)


def post_login(client: httpx.Client, csrf: str, email: str, password: str,
               headers: dict[str, str] | None = None) -> httpx.Response:
    return client.post("/login", data={"csrf": csrf, "next": "/", "email": email, "password": password},
                       headers=headers)


def attempt(server: Server, email: str, password: str, headers: dict[str, str] | None = None) -> int:
    with httpx.Client(base_url=server.url, timeout=60) as client:
        return post_login(client, login_form(client), email, password, headers).status_code


def memory_kib(server: Server, field: str) -> int:
    assert server.proc is not None
    status = Path(f"/proc/{server.proc.pid}/status").read_text()
    return int(re.search(rf"{field}:\s+(\d+) kB", status).group(1))  # type: ignore[union-attr]


def test_concurrent_wrong_passwords_are_counted_before_checking(tmp_path: Path, server_factory: Any) -> None:
    db = tmp_path / "vi.duckdb"
    accounts(db, "ann@example.com", "bob@example.com")
    server = server_factory(db=db)
    clients = [httpx.Client(base_url=server.url, timeout=120) for _ in range(40)]
    forms = [login_form(c) for c in clients]
    before = memory_kib(server, "VmRSS")
    assert server.proc is not None
    Path(f"/proc/{server.proc.pid}/clear_refs").write_text("5")  # reset the peak (VmHWM) to the current RSS
    start = threading.Barrier(40)

    def guess(i: int) -> int:
        start.wait()
        return post_login(clients[i], forms[i], "ann@example.com", f"wrong guess {i}").status_code

    with ThreadPoolExecutor(40) as pool:
        statuses = list(pool.map(guess, range(40)))
    peak = memory_kib(server, "VmHWM")
    for c in clients:
        c.close()
    assert sorted(set(statuses)) == [401, 429]
    assert statuses.count(401) <= 10 and statuses.count(401) + statuses.count(429) == 40
    # at most 2 argon2 verifications (64 MiB each) at once; 10 at once would add 640 MiB
    assert peak - before < 250 * 1024, (before, peak)
    assert attempt(server, "ann@example.com", PASSWORD) == 429  # locked for a while, even the right password
    assert attempt(server, "bob@example.com", PASSWORD) == 303  # others still sign in


def test_successful_logins_give_their_slot_back() -> None:
    throttle = LoginThrottle(per_email=2, per_address=3, window_s=900)
    for _ in range(6):  # six right passwords from one address: never blocked
        stamp = throttle.reserve("10.0.0.1", "ann@example.com")
        assert stamp is not None
        throttle.succeeded("10.0.0.1", "ann@example.com", stamp)
    assert throttle.reserve("10.0.0.1", "bob@example.com") is not None  # failures: 1 of 3 for the address
    assert throttle.reserve("10.0.0.1", "bob@example.com") is not None  # 2 of 2 for bob
    assert throttle.reserve("10.0.0.1", "bob@example.com") is None
    assert throttle.reserve("10.0.0.1", "cy@example.com") is not None  # 3 of 3 for the address
    assert throttle.reserve("10.0.0.1", "dee@example.com") is None
    assert throttle.reserve("10.0.0.2", "bob@example.com") is not None  # another address


def test_a_forged_forwarded_for_does_not_change_who_is_throttled(tmp_path: Path, server_factory: Any) -> None:
    db = tmp_path / "vi.duckdb"
    accounts(db, "ann@example.com")
    server = server_factory(db=db)  # no trusted proxies: X-Forwarded-For is ignored
    for i in range(10):
        assert attempt(server, "ann@example.com", "wrong guess", {"X-Forwarded-For": f"203.0.113.{i}"}) == 401
    assert attempt(server, "ann@example.com", PASSWORD, {"X-Forwarded-For": "198.51.100.7"}) == 429


def test_behind_a_trusted_proxy_each_forwarded_client_is_throttled_alone(tmp_path: Path, server_factory: Any) -> None:
    db = tmp_path / "vi.duckdb"
    accounts(db, "ann@example.com")
    server = server_factory(db=db, env={"VIDEOINSIGHTS_TRUSTED_PROXIES": "127.0.0.1"})
    attacker, user = {"X-Forwarded-For": "203.0.113.5"}, {"X-Forwarded-For": "198.51.100.7"}
    assert [attempt(server, "ann@example.com", "wrong guess", attacker) for _ in range(10)] == [401] * 10
    assert attempt(server, "ann@example.com", PASSWORD, attacker) == 429
    assert attempt(server, "ann@example.com", "wrong guess", user) == 401  # a different client: not throttled
    assert attempt(server, "ann@example.com", PASSWORD, user) == 303
