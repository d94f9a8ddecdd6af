"""One evaluation pass: the value of every rule's metric, then each rule's state change.

Values come from one grouped statement per metric (the store backend's alerts module);
the state machine is a pure function so its rules are easy to read and test:

    ok      --breach-->                                        firing  (webhook "fired")
    firing  --no breach, and quiet period over since firing--> ok      (webhook "resolved")

While firing, nothing more is sent; the quiet period also keeps a flapping
metric from resolving and firing again every few seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from videoinsights.alerts.rules import ATTEMPT_METRICS, MEETING_ENDED, SESSION_METRICS, Rule


@dataclass(frozen=True)
class Observation:
    """A rule's metric over its window: the value (None without data) and what it was computed from."""

    value: float | None
    detail: dict[str, Any]


@dataclass(frozen=True)
class Transition:
    rule: Rule
    event: str  # 'fired' | 'resolved' | 'meeting_ended'
    observation: Observation
    at_ms: int
    meeting: dict[str, Any] | None = None  # meeting_ended: the meeting's summary


def observe(store: Any, rules: list[Rule], now_ms: int) -> dict[str, Observation]:
    """Every rule's observation, by rule id: one statement per metric in use (on the calling thread's reader)."""
    cur, sql = store.reader(), store.sql.alerts
    longest: dict[str, int] = {}
    for rule in rules:
        longest[rule.metric] = max(longest.get(rule.metric, 0), rule.window_s)
    out: dict[str, Observation] = {}
    for metric, window_s in longest.items():
        if metric in ATTEMPT_METRICS:
            for rule_id, attempts, failures in sql.attempt_rates(cur, metric, ATTEMPT_METRICS[metric], now_ms,
                                                                  window_s):
                rate = failures / attempts if attempts else None
                out[rule_id] = Observation(rate, {"attempts": int(attempts), "failures": int(failures)})
        elif metric == "minutes":
            for rule_id, streams, minutes in sql.stream_minutes(cur, metric, now_ms, window_s):
                out[rule_id] = Observation(round(float(minutes), 6), {"streams": int(streams)})
        elif metric in SESSION_METRICS:
            for rule_id, sessions, p10, with_issue in sql.session_quality(cur, metric, now_ms, window_s):
                if metric == "score_p10":
                    value = None if p10 is None else round(float(p10), 6)
                    out[rule_id] = Observation(value, {"sessions": int(sessions)})
                else:
                    share = with_issue / sessions if sessions else None
                    out[rule_id] = Observation(share, {"sessions": int(sessions), "withIssue": int(with_issue)})
    return out


def step(rule: Rule, observation: Observation, now_ms: int) -> str | None:
    """The event this observation causes ('fired', 'resolved'), or None when the state stays."""
    breached = rule.breached(observation.value)
    if rule.state == "ok" and breached:
        return "fired"
    if rule.state == "firing" and not breached and now_ms - rule.state_since >= rule.quiet_s * 1000:
        return "resolved"
    return None


MEETING_LOOKBACK_MS = 86_400_000  # meetings that ended longer ago are not announced (e.g. after a long outage)
MEETINGS_PER_PASS = 500


def ended_meetings(store: Any, rules: list[Rule], now_ms: int) -> list[Transition]:
    """One 'meeting_ended' transition per meeting that ended and was derived since the last pass."""
    by_id = {r.rule_id: r for r in rules if r.metric == MEETING_ENDED}
    if not by_id:
        return []
    cur, sql = store.reader(), store.sql.alerts
    out = []
    for row in sql.ended_meetings(cur, now_ms, MEETING_LOOKBACK_MS, MEETINGS_PER_PASS):
        summary = dict(zip(sql.MEETING_SUMMARY, row[1:], strict=True))
        meeting = {
            "sessionId": summary["session_id"], "meetingIndex": summary["meeting_index"],
            "meetingId": summary["meeting_id"], "createdAt": summary["created_at"],
            "destroyedAt": summary["destroyed_at"], "publisherMinutes": summary["publisher_minutes"],
            "subscriberMinutes": summary["subscriber_minutes"],
            "maxConcurrentConnections": summary["max_concurrent_connections"],
            "totalConnections": summary["total_connections"], "totalStreams": summary["total_streams"],
            "totalSubscribers": summary["total_subscribers"],
            "quality": {"score": summary["score"], "scoreP10": summary["score_p10"],
                        "issues": [{"type": i["type"], "count": int(i["count"])} for i in summary["issues"]]},
        }
        out.append(Transition(by_id[row[0]], MEETING_ENDED, Observation(None, {}), now_ms, meeting))
    return out


def evaluate(store: Any, rules: list[Rule], now_ms: int) -> list[Transition]:
    """The transitions of one pass (the caller stores the new states and sends the webhooks)."""
    observations = observe(store, rules, now_ms)
    transitions = ended_meetings(store, rules, now_ms)
    for rule in rules:
        if rule.metric == MEETING_ENDED:
            continue
        observation = observations.get(rule.rule_id, Observation(None, {}))
        event = step(rule, observation, now_ms)
        if event is not None:
            transitions.append(Transition(rule, event, observation, now_ms))
    return transitions
