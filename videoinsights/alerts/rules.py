"""Alert rules: what a rule is, how its arguments are checked, and its admin operations.

Like auth/key_ops.py, the operations take the store and JSON-able arguments, so
the CLI runs them on the file or, while a server owns it, on the server's writer thread.
"""

from __future__ import annotations

import functools
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from videoinsights.domain.scoring import ISSUE_TYPES

# metric -> the attempt event type whose failure share it measures
ATTEMPT_METRICS = {
    "connect_failure_rate": "connectAttempt",
    "publish_failure_rate": "publishAttempt",
    "subscribe_failure_rate": "subscribeAttempt",
}
SESSION_METRICS = ("score_p10", "issue_share")  # from the quality tables (docs/quality.md)
MEETING_ENDED = "meeting_ended"  # not a threshold: a webhook with the summary of every meeting that ends
METRICS = (*ATTEMPT_METRICS, "minutes", *SESSION_METRICS, MEETING_ENDED)
DIRECTIONS = ("above", "below")
_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h|d)?\s*$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MAX_WINDOW_S = 7 * 86400


class AlertError(ValueError):
    """An alert operation was refused; the message says why."""


@dataclass(frozen=True)
class Rule:
    rule_id: str
    project_id: str
    metric: str
    countries: tuple[str, ...]
    sdks: tuple[str, ...]
    browsers: tuple[str, ...]
    window_s: int
    threshold: float
    direction: str
    quiet_s: int
    webhook_url: str
    secret: str
    created_at: int
    state: str
    state_since: int
    last_value: float | None
    issue_type: str | None = None

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> Rule:
        return cls(row[0], row[1], row[2], tuple(row[3]), tuple(row[4]), tuple(row[5]), int(row[6]), float(row[7]),
                   row[8], int(row[9]), row[10], row[11], int(row[12]), row[13], int(row[14]), row[15],
                   row[16])

    def breached(self, value: float | None) -> bool:
        """Whether `value` is past the threshold (no data is never a breach)."""
        if value is None:
            return False
        return value > self.threshold if self.direction == "above" else value < self.threshold

    def json(self, *, secret: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.rule_id, "projectId": int(self.project_id), "metric": self.metric,
            "filters": {"country": list(self.countries), "sdk": list(self.sdks), "browser": list(self.browsers)},
            "windowSeconds": self.window_s, "threshold": self.threshold, "direction": self.direction,
            "quietSeconds": self.quiet_s, "webhook": self.webhook_url, "createdAt": self.created_at,
            "state": self.state, "stateSince": self.state_since, "lastValue": self.last_value,
        }
        if self.issue_type:
            data["issueType"] = self.issue_type
        if secret:
            data["secret"] = self.secret
        return data


def parse_duration(text: str | int, what: str) -> int:
    """Seconds of '90', '30s', '15m', '2h' or '1d'."""
    match = _DURATION.match(str(text))
    if match is None:
        raise AlertError(f"{what} must be a duration like 30s, 15m or 1h, not {text!r}")
    return int(match.group(1)) * _UNIT_S[match.group(2) or "s"]


def check_webhook_url(url: str) -> str:
    """An absolute http(s) URL with a host (where it may point is checked at every delivery)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise AlertError(f"the webhook must be an http(s) URL, not {url!r}")
    if parts.username or parts.password:
        raise AlertError("the webhook URL must not carry credentials")
    return url.strip()


def _project(store: Any, project_id: str) -> str:
    project = store.get_project(str(project_id))
    if project is None or project.kind != "project":
        raise AlertError(f"no project {project_id}")
    return str(project.project_id)


def _names(values: list[str] | None, what: str, upper: bool = False) -> tuple[str, ...]:
    out = []
    for v in values or ():
        if not isinstance(v, str) or not v.strip() or len(v) > 64:
            raise AlertError(f"a {what} filter must be a short non-empty name")
        out.append(v.strip().upper() if upper else v.strip())
    return tuple(dict.fromkeys(out))


def create_alert(store: Any, project_id: str, metric: str, threshold: float | int | None, webhook: str,
                 window: str = "15m", quiet: str = "30m", direction: str = "above", countries: list[str] | None = None,
                 sdks: list[str] | None = None, browsers: list[str] | None = None,
                 issue_type: str | None = None) -> dict[str, Any]:
    """A new rule, in state ok; its secret is in this answer and in `alerts list`."""
    pid = _project(store, project_id)
    if metric not in METRICS:
        raise AlertError(f"unknown metric {metric!r}; one of: {', '.join(METRICS)}")
    if direction not in DIRECTIONS:
        raise AlertError("the direction is above or below")
    if metric == MEETING_ENDED:
        if threshold is not None or countries or sdks or browsers or issue_type:
            raise AlertError("a meeting_ended rule takes no threshold, filters or issue type")
        threshold = 0.0
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or threshold != threshold:
        raise AlertError("the threshold must be a number")
    if metric in (*ATTEMPT_METRICS, "issue_share") and not 0 <= threshold <= 1:
        raise AlertError("a rate or share threshold is between 0 and 1 (0.2 = 20%)")
    if metric == "score_p10" and not 1 <= threshold <= 5:
        raise AlertError("a score threshold is between 1 and 5")
    if (metric == "issue_share") != (issue_type is not None):
        raise AlertError("the issue_share metric, and only it, needs an issue type")
    if issue_type is not None and issue_type not in ISSUE_TYPES:
        raise AlertError(f"unknown issue type {issue_type!r}; one of: {', '.join(ISSUE_TYPES)}")
    window_s, quiet_s = parse_duration(window, "the window"), parse_duration(quiet, "the quiet period")
    if not 1 <= window_s <= MAX_WINDOW_S:
        raise AlertError("the window is between 1s and 7d")
    if quiet_s > MAX_WINDOW_S:
        raise AlertError("the quiet period is at most 7d")
    now = int(time.time() * 1000)
    rule = Rule("al_" + secrets.token_hex(8), pid, metric, _names(countries, "country", upper=True),
                _names(sdks, "sdk", upper=True), _names(browsers, "browser", upper=True), window_s, float(threshold),
                direction, quiet_s, check_webhook_url(webhook), "whsec_" + secrets.token_hex(24), now, "ok", now, None,
                issue_type)
    store.sql.alerts.insert_rule(store.reader(), (
        rule.rule_id, rule.project_id, rule.metric, list(rule.countries), list(rule.sdks), list(rule.browsers),
        rule.window_s, rule.threshold, rule.direction, rule.quiet_s, rule.webhook_url, rule.secret, rule.created_at,
        rule.state, rule.state_since, rule.last_value, rule.issue_type))
    return rule.json(secret=True)


def list_alerts(store: Any, project_id: str) -> list[dict[str, Any]]:
    rows = store.sql.alerts.project_rules(store.reader(), _project(store, project_id))
    return [Rule.from_row(r).json(secret=True) for r in rows]


def get_alert(store: Any, rule_id: str) -> dict[str, Any] | None:
    row = store.sql.alerts.get_rule(store.reader(), rule_id)
    return Rule.from_row(row).json(secret=True) if row else None


def delete_alert(store: Any, rule_id: str) -> dict[str, Any]:
    if not store.sql.alerts.delete_rule(store.reader(), rule_id):
        raise AlertError(f"no alert rule {rule_id}")
    return {"id": rule_id, "deleted": True}


def list_deliveries(store: Any, project_id: str, limit: int = 100) -> list[dict[str, Any]]:
    rows = store.sql.alerts.project_deliveries(store.reader(), _project(store, project_id), max(1, min(limit, 1000)))
    keys = ("id", "ruleId", "projectId", "event", "createdAt", "status", "attempts", "httpStatus", "lastError")
    return [dict(zip(keys, (*r[:2], int(r[2]), *r[3:]), strict=True)) for r in rows]


def _as_op(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Report refusals as OpError, which the CLI and the admin endpoint turn into a message."""
    @functools.wraps(fn)
    def op(store: Any, **args: Any) -> Any:
        from videoinsights.ops import OpError  # imported here: ops.py imports this module

        try:
            return fn(store, **args)
        except AlertError as exc:
            raise OpError(str(exc)) from None
    return op


ALERT_OPS = {fn.__name__: _as_op(fn) for fn in (create_alert, list_alerts, delete_alert, list_deliveries)}
