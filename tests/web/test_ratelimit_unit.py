"""Token buckets and client addresses, by hand: limits per key, refill, trusted proxies only."""

import pytest

from videoinsights.web.client_address import client_address, parse_networks
from videoinsights.web.ratelimit import RateLimiter, rate_limited_response


def test_bucket_allows_limit_then_waits_for_refill() -> None:
    limiter = RateLimiter(limit=3, window_s=30)  # refills 0.1 request/s
    assert [limiter.check("a", now=100.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.check("a", now=100.0) == pytest.approx(10.0)  # one token takes 10 s
    assert limiter.check("b", now=100.0) == 0.0  # another key has its own bucket
    assert limiter.check("a", now=105.0) == pytest.approx(5.0)
    assert limiter.check("a", now=110.0) == 0.0


def test_zero_limit_is_off() -> None:
    limiter = RateLimiter(limit=0, window_s=30)
    assert all(limiter.check("a") == 0.0 for _ in range(1000))


def test_key_table_stays_bounded() -> None:
    limiter = RateLimiter(limit=2, window_s=1, max_keys=10)
    for i in range(1000):
        limiter.check(str(i), now=float(i))
    assert len(limiter._buckets) <= 10


def test_response_has_retry_after_in_whole_seconds() -> None:
    response = rate_limited_response(0.2, "project")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "1"
    assert b'"status":429' in response.body


def _scope(peer: str, forwarded: str | None = None) -> dict:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
    return {"client": (peer, 5000), "headers": headers}


def test_forwarded_for_ignored_without_trusted_proxies() -> None:
    assert client_address(_scope("127.0.0.1", "203.0.113.9"), ()) == "127.0.0.1"


def test_forwarded_for_from_a_trusted_proxy_skips_trusted_hops() -> None:
    proxies = parse_networks("127.0.0.1, 10.0.0.0/8")
    # the client forged the first entry; our proxies appended the real one and themselves
    scope = _scope("127.0.0.1", "1.2.3.4, 198.51.100.7, 10.1.2.3")
    assert client_address(scope, proxies) == "198.51.100.7"
    assert client_address(_scope("192.0.2.1", "1.2.3.4"), proxies) == "192.0.2.1"  # untrusted peer


def test_bad_proxy_setting_names_the_entry() -> None:
    with pytest.raises(ValueError, match="nonsense"):
        parse_networks("127.0.0.1,nonsense")
