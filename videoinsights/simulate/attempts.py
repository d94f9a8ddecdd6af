"""Connect, publish and subscribe attempts: who fails, with which code, and retries.

The failure probability of an attempt is the type's base rate times the
endpoint's multiplier (SDK x browser x network profile x country), capped. A
failed attempt is retried after a few seconds with probability `retry`, up to
`max_tries` attempts; a client that gives up gets no connection (a failed
connect carries the endpoint fields inline, since there is no connection),
no stream or no subscriber. Successful attempts carry the new ids.
"""

from __future__ import annotations

from random import Random

from videoinsights.simulate.config import Failures
from videoinsights.simulate.draw import Weighted, uniform_int
from videoinsights.simulate.endpoints import Endpoint
from videoinsights.simulate.model import Attempt, Connection, SessionModel


class AttemptPolicy:
    def __init__(self, failures: Failures) -> None:
        self.f = failures
        self.connect_codes = Weighted(failures.connect_codes)
        self.publish_codes = Weighted(failures.publish_codes)
        self.subscribe_codes = Weighted(failures.subscribe_codes)
        self.relayed_codes = Weighted(failures.relayed_subscribe_codes)

    def failure_rate(self, base: float, endpoint: Endpoint) -> float:
        return min(self.f.cap, base * endpoint.failure)

    def connect(self, m: SessionModel, rng: Random, endpoint: Endpoint, conn_id: str, t: int,
                deadline: int) -> int | None:
        """Try to connect from t; the connection's start time, or None if the client gives up."""
        p, f = self.failure_rate(self.f.connect, endpoint), self.f
        for k in range(f.max_tries):
            if t >= deadline:
                return None
            if rng.random() < p:
                m.attempts.append(Attempt(t, "connectAttempt", False, self.connect_codes.pick(rng), endpoint=endpoint))
                if k + 1 >= f.max_tries or rng.random() >= f.retry:
                    return None
                t += uniform_int(rng, 2_000, 12_000)
                continue
            start = t + uniform_int(rng, 250, 1_500)
            if start >= deadline:
                return None
            m.attempts.append(Attempt(t, "connectAttempt", True, connection_id=conn_id))
            return start
        return None

    def publish(self, m: SessionModel, rng: Random, conn: Connection, stream_id: str, t: int,
                deadline: int) -> int | None:
        """Try to publish from t; the stream's start time, or None."""
        p, f = self.failure_rate(self.f.publish, conn.person.endpoint), self.f
        for k in range(f.max_tries):
            if t >= deadline:
                return None
            if rng.random() < p:
                m.attempts.append(Attempt(t, "publishAttempt", False, self.publish_codes.pick(rng),
                                          connection_id=conn.id))
                if k + 1 >= f.max_tries or rng.random() >= f.retry:
                    return None
                t += uniform_int(rng, 1_500, 6_000)
                continue
            m.attempts.append(Attempt(t, "publishAttempt", True, connection_id=conn.id, stream_id=stream_id))
            return t + uniform_int(rng, 150, 900)
        return None

    def subscribe(self, m: SessionModel, rng: Random, conn: Connection, stream_id: str, subscriber_id: str,
                  t: int, deadline: int) -> int | None:
        """Try to subscribe from t; the subscriber's start time, or None."""
        p, f = self.failure_rate(self.f.subscribe, conn.person.endpoint), self.f
        codes = self.relayed_codes if m.media_mode == "relayed" else self.subscribe_codes
        for k in range(f.max_tries):
            if t >= deadline:
                return None
            if rng.random() < p:
                m.attempts.append(Attempt(t, "subscribeAttempt", False, codes.pick(rng), connection_id=conn.id,
                                          stream_id=stream_id))
                if k + 1 >= f.max_tries or rng.random() >= f.retry:
                    return None
                t += uniform_int(rng, 1_000, 4_000)
                continue
            m.attempts.append(Attempt(t, "subscribeAttempt", True, connection_id=conn.id, stream_id=stream_id,
                                      subscriber_id=subscriber_id))
            return t + uniform_int(rng, 150, 900)
        return None
