"""The pure parts: the state machine, durations, the signature and which addresses are refused."""

from __future__ import annotations

import asyncio
import hashlib
import hmac

import pytest

from videoinsights.alerts.evaluate import Observation, step
from videoinsights.alerts.rules import AlertError, Rule, parse_duration
from videoinsights.alerts.webhooks import RefusedTarget, check_target, signature


def rule(state: str = "ok", since: int = 0, direction: str = "above") -> Rule:
    return Rule("al_1", "1", "connect_failure_rate", (), (), (), 60, 0.2, direction, 30, "https://x", "k", 0, state,
                since, None)


def test_state_machine() -> None:
    assert step(rule(), Observation(0.25, {}), 1000) == "fired"
    assert step(rule(), Observation(0.2, {}), 1000) is None  # at the threshold is not above it
    assert step(rule(), Observation(None, {}), 1000) is None  # no attempts: no data, no breach
    assert step(rule("firing", since=1000), Observation(0.9, {}), 60_000) is None  # firing: silent
    assert step(rule("firing", since=1000), Observation(0.0, {}), 30_999) is None  # quiet until 1000 + 30 s
    assert step(rule("firing", since=1000), Observation(0.0, {}), 31_000) == "resolved"
    assert step(rule(direction="below"), Observation(0.1, {}), 0) == "fired"
    assert step(rule(direction="below"), Observation(None, {}), 0) is None


def test_durations() -> None:
    assert [parse_duration(t, "w") for t in ("90", "30s", "15m", "2h", "1d")] == [90, 30, 900, 7200, 86400]
    with pytest.raises(AlertError):
        parse_duration("15 minutes", "w")


def test_signature_is_hmac_of_timestamp_dot_body() -> None:
    body = b'{"type":"alert.fired"}'
    expected = hmac.new(b"whsec_x", b'1700000000.{"type":"alert.fired"}', hashlib.sha256).hexdigest()
    assert signature("whsec_x", body, 1_700_000_000) == f"t=1700000000,v1={expected}"


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/h", "http://localhost/h", "http://10.1.2.3/h",
                                 "http://192.168.0.1/h", "http://169.254.169.254/latest", "http://[::1]/h",
                                 "http://[::ffff:127.0.0.1]/h", "https://[fe80::1]/h", "http://0.0.0.0/h",
                                 "http://100.64.0.1/h"])
def test_private_targets_are_refused(url: str) -> None:
    with pytest.raises(RefusedTarget):
        asyncio.run(check_target(url, allow_private=False))
    asyncio.run(check_target(url, allow_private=True))  # the operator's opt-in


def test_public_address_is_allowed() -> None:
    asyncio.run(check_target("https://8.8.8.8/hook", allow_private=False))
