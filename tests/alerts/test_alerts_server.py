"""Alert rules evaluated by a real server, delivering signed webhooks to a real receiver on 127.0.0.1.

The scenario (hand-computed): a rule "connect failure rate above 0.2 over 10 s, quiet 12 s" (a window long
enough that a loaded machine, slow to ingest, still sees the attempts in it). Five connect attempts, two
failed: rate 2/5 = 0.4 > 0.2, so it fires once; the receiver answers the first try with 500, so the same
delivery is retried and then accepted. More failures during the quiet period send nothing. Once the window
holds no attempts (no data is no breach) and the quiet period is over, it resolves.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests.alerts.receiver import Receiver
from tests.conftest import ProjectCreds, Server, cli, create_project, metric_values

FAST = {"VIDEOINSIGHTS_ALERT_EVAL_INTERVAL_MS": "200", "VIDEOINSIGHTS_WEBHOOK_BACKOFF_MS": "200"}


@pytest.fixture
def receiver() -> Any:
    r = Receiver().start()
    yield r
    r.stop()


def attempts(server: Server, creds: ProjectCreds, outcomes: list[str], country: str = "US") -> None:
    now = int(time.time() * 1000)
    events = [{"id": str(uuid.uuid4()), "type": "connectAttempt", "sessionId": "s-alerts", "timestamp": now - i,
               "outcome": outcome, "connectionId": f"c-{i}", "country": country, "sdkType": "JS",
               **({"errorCode": 1006} if outcome == "failure" else {})}
              for i, outcome in enumerate(outcomes)]
    response = httpx.post(f"{server.url}/v1/events", content=orjson.dumps(events),
                          headers={**creds.headers(), "Content-Type": "application/json"}, timeout=60)
    assert response.status_code == 200, response.text


def create_rule(db: Path, creds: ProjectCreds, url: str, *extra: str) -> dict[str, Any]:
    return dict(json.loads(cli(db, "alerts", "create", "--project", creds.project_id, "--metric",
                               "connect_failure_rate", "--threshold", "0.2", "--window", "10s", "--quiet", "12s",
                               "--webhook", url, "--json", *extra)))


def deliveries(db: Path, creds: ProjectCreds) -> list[dict[str, Any]]:
    return list(json.loads(cli(db, "alerts", "deliveries", "--project", creds.project_id, "--json")))


def test_rule_fires_once_stays_quiet_then_resolves(tmp_path: Path, server_factory: Any, receiver: Receiver) -> None:
    db = tmp_path / "vi.duckdb"
    creds = create_project(db)
    server = server_factory({**FAST, "VIDEOINSIGHTS_WEBHOOK_ALLOW_PRIVATE": "1"})
    rule = create_rule(db, creds, receiver.url, "--country", "us")  # beside the running server
    receiver.secret, receiver.fail_first = rule["secret"], 1
    attempts(server, creds, ["failure", "failure", "success", "success", "success"])
    attempts(server, creds, ["failure"] * 5, country="FR")  # another country: outside the rule's filter

    receiver.wait_for(lambda got: any(d.answered == 200 for d in got))
    fired = receiver.received
    assert [d.answered for d in fired] == [500, 200]  # retried after the 500
    assert all(d.verified for d in fired)
    assert fired[0].body == fired[1].body  # the same delivery, tried twice
    body = fired[0].body
    assert body["type"] == "alert.fired" and body["rule"]["id"] == rule["id"]
    assert body["value"] == pytest.approx(0.4)
    assert body["observed"] == {"attempts": 5, "failures": 2}
    assert "secret" not in body["rule"]

    attempts(server, creds, ["failure"] * 3)  # still breaching, within the quiet period: nothing is sent
    receiver.wait_for(lambda got: len(got) == 3)  # then, with no data and the quiet period over: resolved
    resolved = receiver.received[2]
    assert resolved.verified and resolved.answered == 200
    assert resolved.body["type"] == "alert.resolved" and resolved.body["value"] is None
    assert resolved.body["at"] - body["at"] >= 12_000  # never before the quiet period ended
    assert [d.body["type"] for d in receiver.received] == ["alert.fired", "alert.fired", "alert.resolved"]

    log = {d["event"]: d for d in deliveries(db, creds)}
    assert log["fired"]["status"] == "delivered" and log["fired"]["attempts"] == 2
    assert log["fired"]["httpStatus"] == 200 and log["fired"]["id"] == body["deliveryId"]
    assert log["resolved"]["status"] == "delivered" and log["resolved"]["attempts"] == 1
    listed = json.loads(cli(db, "alerts", "list", "--project", creds.project_id, "--json"))
    assert [(r["id"], r["state"]) for r in listed] == [(rule["id"], "ok")]


def test_private_target_refused_without_the_setting(tmp_path: Path, server_factory: Any,
                                                    receiver: Receiver) -> None:
    db = tmp_path / "vi.duckdb"
    creds = create_project(db)
    server = server_factory(FAST)
    rule = create_rule(db, creds, receiver.url)
    receiver.secret = rule["secret"]
    attempts(server, creds, ["failure"])
    deadline = time.monotonic() + 30
    while not (log := deliveries(db, creds)) or log[0]["status"] == "pending":
        assert time.monotonic() < deadline, "no delivery was logged"
        time.sleep(0.1)
    assert log[0]["status"] == "refused" and log[0]["attempts"] == 0
    assert "127.0.0.1" in log[0]["lastError"] and "VIDEOINSIGHTS_WEBHOOK_ALLOW_PRIVATE" in log[0]["lastError"]
    assert receiver.received == []


def test_gives_up_after_the_bounded_tries(tmp_path: Path, server_factory: Any, receiver: Receiver) -> None:
    db = tmp_path / "vi.duckdb"
    creds = create_project(db)
    server = server_factory({**FAST, "VIDEOINSIGHTS_WEBHOOK_ALLOW_PRIVATE": "1",
                             "VIDEOINSIGHTS_WEBHOOK_MAX_ATTEMPTS": "3"})
    # A quiet period longer than the test: with a short one, the rule resolved while a loaded machine was still
    # polling, and the resolve's own tries (newest first in the log) were taken for the fired delivery's.
    rule = create_rule(db, creds, receiver.url, "--quiet", "1h")
    receiver.secret, receiver.fail_first = rule["secret"], 100
    attempts(server, creds, ["failure"])
    receiver.wait_for(lambda got: len(got) == 3)
    deadline = time.monotonic() + 60
    while (fired := [d for d in deliveries(db, creds) if d["event"] == "fired"]) == [] or \
            fired[0]["status"] in ("pending", "retrying"):
        assert time.monotonic() < deadline, f"the delivery never ended: {fired}"
        time.sleep(0.2)
    assert len(fired) == 1
    assert fired[0]["status"] == "failed" and fired[0]["attempts"] == 3
    assert fired[0]["httpStatus"] == 500 and fired[0]["lastError"] == "HTTP 500"
    assert [d.answered for d in receiver.received] == [500, 500, 500]  # no fourth try
    assert [d.body["type"] for d in receiver.received] == ["alert.fired"] * 3


def test_meeting_ended_webhook_with_its_summary(tmp_path: Path, server_factory: Any, receiver: Receiver) -> None:
    """One meeting: A connects at t0, publishes from t0+10 s to t0+130 s (2 publisher minutes), B subscribes to
    it from t0+40 s to t0+100 s (1 subscriber minute); both leave by t0+150 s. One webhook, sent once."""
    db = tmp_path / "vi.duckdb"
    creds = create_project(db)
    server = server_factory({**FAST, "VIDEOINSIGHTS_WEBHOOK_ALLOW_PRIVATE": "1"})
    rule = json.loads(cli(db, "alerts", "create", "--project", creds.project_id, "--metric", "meeting_ended",
                          "--webhook", receiver.url, "--json"))
    receiver.secret = rule["secret"]
    t0 = int(time.time() * 1000) - 200_000
    timeline = [
        (0, "connectionCreated", {"connectionId": "A", "sdkType": "JS"}),
        (5_000, "connectionCreated", {"connectionId": "B", "sdkType": "JS"}),
        (10_000, "streamCreated", {"streamId": "st", "connectionId": "A"}),
        (40_000, "subscriberCreated", {"subscriberId": "sub", "streamId": "st", "connectionId": "B"}),
        (100_000, "subscriberDestroyed", {"subscriberId": "sub"}),
        (130_000, "streamDestroyed", {"streamId": "st"}),
        (140_000, "connectionDestroyed", {"connectionId": "B"}),
        (150_000, "connectionDestroyed", {"connectionId": "A"}),
    ]
    events = [{"id": f"m{i}", "type": kind, "sessionId": "s-meeting", "timestamp": t0 + at, **fields}
              for i, (at, kind, fields) in enumerate(timeline)]
    response = httpx.post(f"{server.url}/v1/events", content=orjson.dumps(events),
                          headers={**creds.headers(), "Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    receiver.wait_for(lambda got: len(got) == 1)
    delivery = receiver.received[0]
    assert delivery.verified and delivery.body["type"] == "meeting.ended"
    meeting = delivery.body["meeting"]
    assert meeting["sessionId"] == "s-meeting" and meeting["meetingIndex"] == 0
    assert (meeting["createdAt"], meeting["destroyedAt"]) == (t0, t0 + 150_000)
    assert meeting["publisherMinutes"] == pytest.approx(2.0) and meeting["subscriberMinutes"] == pytest.approx(1.0)
    assert meeting["totalConnections"] == 2 and meeting["totalStreams"] == 1 and meeting["totalSubscribers"] == 1
    assert set(meeting["quality"]) == {"score", "scoreP10", "issues"}  # no stats samples: no score
    time.sleep(1.5)  # several more passes: the meeting is announced once
    assert len(receiver.received) == 1


def test_a_server_with_alerts_off_sends_nothing(tmp_path: Path, server_factory: Any, receiver: Receiver) -> None:
    """Several `serve` processes on one store run all but one with `--no-alerts`: that one must never evaluate.
    The same rule and data then fire at once in a server with alerts on (so the rule was breached all along)."""
    db = tmp_path / "vi.duckdb"
    creds = create_project(db)
    env = {**FAST, "VIDEOINSIGHTS_WEBHOOK_ALLOW_PRIVATE": "1"}
    quiet = server_factory({**env, "VIDEOINSIGHTS_ALERTS_IN_SERVER": "0"})
    rule = create_rule(db, creds, receiver.url, "--window", "10m")
    receiver.secret = rule["secret"]
    attempts(quiet, creds, ["failure"] * 3)
    quiet.wait_derived(60)
    time.sleep(2.0)  # ten evaluation intervals of a server that evaluates
    assert metric_values(quiet.url, "videoinsights_alert_evaluator", "videoinsights_alert_passes_total") == {
        "videoinsights_alert_evaluator": 0, "videoinsights_alert_passes_total": 0}
    assert receiver.received == [] and deliveries(db, creds) == []
    quiet.stop()

    evaluating = server_factory(env)
    assert metric_values(evaluating.url, "videoinsights_alert_evaluator") == {"videoinsights_alert_evaluator": 1}
    receiver.wait_for(lambda got: len(got) >= 1)
    assert receiver.received[0].verified and receiver.received[0].body["type"] == "alert.fired"
