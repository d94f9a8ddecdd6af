"""The server's alert loop: evaluate every few seconds, store state changes, send webhooks.

Evaluation reads on a worker thread with its own cursor (DuckDB readers see
committed snapshots and never block the writer); state changes and the
delivery log are written on the writer thread, like every other write.
Deliveries run as their own tasks so a slow receiver never delays evaluation.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from typing import Any

import httpx

from videoinsights.alerts.evaluate import Transition, evaluate
from videoinsights.alerts.rules import Rule
from videoinsights.alerts.webhooks import Policy, deliver
from videoinsights.settings import Settings
from videoinsights.store.base import Store
from videoinsights.store.writer import Writer

log = logging.getLogger(__name__)


def payload(t: Transition, delivery_id: str) -> bytes:
    """The webhook body (docs/alerts.md describes each field)."""
    rule = t.rule.json()
    rule.pop("state"), rule.pop("stateSince"), rule.pop("lastValue")
    if t.meeting is not None:
        return json.dumps({"type": "meeting.ended", "deliveryId": delivery_id, "at": t.at_ms,
                           "projectId": int(t.rule.project_id), "rule": {"id": rule["id"]}, "meeting": t.meeting},
                          separators=(",", ":")).encode()
    return json.dumps({
        "type": f"alert.{t.event}", "deliveryId": delivery_id, "at": t.at_ms, "projectId": int(t.rule.project_id),
        "rule": rule, "value": t.observation.value, "observed": t.observation.detail,
    }, separators=(",", ":")).encode()


class AlertRunner:
    def __init__(self, settings: Settings, store: Store, writer: Writer) -> None:
        self.settings, self.store, self.writer = settings, store, writer
        self.policy = Policy(settings.webhook_max_attempts, settings.webhook_backoff_ms / 1000,
                             float(settings.webhook_timeout_s), settings.webhook_allow_private)
        # No redirects: one could lead to a private address. No kept-alive connections: deliveries connect to
        # pinned addresses (webhooks.post_pinned), and a pooled TLS connection to an address, checked for one
        # name, must not carry a request for another name served there.
        self._client = httpx.AsyncClient(follow_redirects=False, limits=httpx.Limits(max_keepalive_connections=0))
        self._task: asyncio.Task[None] | None = None
        self._deliveries: set[asyncio.Task[None]] = set()
        self.passes = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="videoinsights-alerts")

    async def stop(self) -> None:
        for task in [self._task, *self._deliveries]:
            if task is not None:
                task.cancel()
        for task in [self._task, *self._deliveries]:
            if task is not None:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        await self._client.aclose()

    async def _loop(self) -> None:
        interval = max(self.settings.alert_eval_interval_ms, 50) / 1000
        while True:
            await asyncio.sleep(interval)
            try:
                await self.run_once()
            except Exception:  # a failed pass is logged and retried at the next tick, never fatal
                log.exception("alert evaluation failed")

    async def run_once(self, now_ms: int | None = None) -> list[Transition]:
        now = int(time.time() * 1000) if now_ms is None else now_ms
        transitions = await asyncio.to_thread(self._evaluate, now)
        self.passes += 1
        if not transitions:
            return []
        ids = [secrets.token_hex(10) for _ in transitions]
        await asyncio.wrap_future(self.writer.call(lambda store: self._record(store, transitions, ids)))
        for t, delivery_id in zip(transitions, ids, strict=True):
            log.info("alert %s %s (value %s)", t.rule.rule_id, t.event, t.observation.value)
            task = asyncio.create_task(self._send(t, delivery_id))
            self._deliveries.add(task)
            task.add_done_callback(self._deliveries.discard)
        return transitions

    def _evaluate(self, now_ms: int) -> list[Transition]:
        rules = [Rule.from_row(r) for r in self.store.sql.alerts.all_rules(self.store.reader())]
        return evaluate(self.store, rules, now_ms) if rules else []

    @staticmethod
    def _record(store: Any, transitions: list[Transition], ids: list[str]) -> None:
        cur, sql = store.reader(), store.sql.alerts
        sql.set_states(cur, [(t.rule.rule_id, "firing" if t.event == "fired" else "ok", t.at_ms, t.observation.value)
                             for t in transitions if t.meeting is None])
        sql.mark_meetings_sent(cur, [(t.rule.rule_id, t.meeting["sessionId"], t.meeting["meetingIndex"])
                                     for t in transitions if t.meeting is not None], int(time.time() * 1000))
        for t, delivery_id in zip(transitions, ids, strict=True):
            sql.insert_delivery(cur, delivery_id, t.rule.rule_id, t.rule.project_id, t.event, t.at_ms)

    async def _update(self, delivery_id: str, status: str, attempts: int, http_status: int | None,
                      error: str | None) -> None:
        now = int(time.time() * 1000)
        await asyncio.wrap_future(self.writer.call(
            lambda store: store.sql.alerts.update_delivery(store.reader(), delivery_id, status, attempts, http_status,
                                                           error, now)))

    async def _send(self, t: Transition, delivery_id: str) -> None:
        async def progress(status: str, attempts: int, http_status: int | None, error: str | None) -> None:
            await self._update(delivery_id, status, attempts, http_status, error)

        outcome = await deliver(self._client, t.rule.webhook_url, t.rule.secret, payload(t, delivery_id),
                                self.policy, progress, time.time)
        if outcome.status != "delivered":
            log.warning("webhook %s of alert %s %s: %s", delivery_id, t.rule.rule_id, outcome.status, outcome.error)
        await self._update(delivery_id, outcome.status, outcome.attempts, outcome.http_status, outcome.error)
