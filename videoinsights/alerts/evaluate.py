"""One evaluation pass: the value of every rule's metric, then each rule's state change.

Values come from one grouped statement per metric (store/duckdb/alerts.py);
the state machine is a pure function so its rules are easy to read and test:

    ok      --breach-->                                        firing  (webhook "fired")
    firing  --no breach, and quiet period over since firing--> ok      (webhook "resolved")

While firing, nothing more is sent; the quiet period also keeps a flapping
metric from resolving and firing again every few seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from videoinsights.alerts.rules import ATTEMPT_METRICS, SESSION_METRICS, Rule
from videoinsights.store.duckdb import alerts as sql


@dataclass(frozen=True)
class Observation:
    """A rule's metric over its window: the value (None without data) and what it was computed from."""

    value: float | None
    detail: dict[str, Any]


@dataclass(frozen=True)
class Transition:
    rule: Rule
    event: str  # 'fired' | 'resolved'
    observation: Observation
    at_ms: int


def observe(cur: Any, rules: list[Rule], now_ms: int) -> dict[str, Observation]:
    """Every rule's observation, by rule id: one statement per metric in use."""
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


def evaluate(cur: Any, rules: list[Rule], now_ms: int) -> list[Transition]:
    """The transitions of one pass (the caller stores the new states and sends the webhooks)."""
    observations = observe(cur, rules, now_ms)
    transitions = []
    for rule in rules:
        observation = observations.get(rule.rule_id, Observation(None, {}))
        event = step(rule, observation, now_ms)
        if event is not None:
            transitions.append(Transition(rule, event, observation, now_ms))
    return transitions
