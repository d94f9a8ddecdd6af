"""The simulated timeline of one session: people, connections, streams, subscribers,
attempts and add-ons, with their times. `sessions.py` builds it; `lifecycle.py`
and `quality.py` turn it into events.

Times are epoch ms. Lifetimes nest strictly: a stream lives inside its
connection, a subscriber inside its connection and inside the stream it
receives, so creates precede and destroys follow everything they contain.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from videoinsights.simulate.endpoints import Endpoint
from videoinsights.simulate.schedule import SessionPlan

Interval = tuple[int, int]


@dataclass(slots=True, eq=False)
class Person:
    index: int
    role: str  # host | guest | viewer | sip
    name: str
    endpoint: Endpoint
    audio_only: bool
    net_seed: int  # seeds the person's network-condition timeline


@dataclass(slots=True, eq=False)
class Connection:
    id: str
    person: Person
    start: int
    end: int
    reason: str  # connectionDestroyed reason
    segment: int  # which meeting of the session (0..)


@dataclass(slots=True, eq=False)
class Stream:
    index: int
    id: str
    conn: Connection
    start: int
    end: int
    reason: str
    video_type: str | None  # camera | screen | None (audio-only)
    has_audio: bool
    has_video: bool
    name: str
    resolution: str | None  # configured (maximum) resolution
    fps: float
    video_off: Interval | None  # camera off for this period
    audio_off: Interval | None  # microphone muted for this period
    seed: int


@dataclass(slots=True, eq=False)
class Subscriber:
    index: int
    id: str
    conn: Connection  # the subscribing connection
    stream: Stream
    start: int
    end: int
    reason: str
    layer: float  # simulcast layer as a share of the publisher's bitrate (<= 1)
    video: bool  # subscribes to video at all
    video_off: Interval | None  # subscribeToVideo false for this period
    seed: int


@dataclass(slots=True)
class Attempt:
    ts: int
    type: str  # connectAttempt | publishAttempt | subscribeAttempt
    success: bool
    error_code: int | None = None
    endpoint: Endpoint | None = None  # inline endpoint of a connect that got no connection
    connection_id: str | None = None
    stream_id: str | None = None
    subscriber_id: str | None = None


@dataclass(slots=True)
class AddOn:
    kind: str  # archive | broadcast | sipCall | experienceComposer
    id: str
    start: int
    end: int
    started: dict[str, object]  # type-specific fields of the started event
    stopped: dict[str, object]  # ... and of the stopped event


@dataclass(slots=True, eq=False)
class SessionModel:
    plan: SessionPlan
    session_id: str
    media_mode: str
    video_codec: str
    persons: list[Person] = field(default_factory=list)
    connections: list[Connection] = field(default_factory=list)
    streams: list[Stream] = field(default_factory=list)
    subscribers: list[Subscriber] = field(default_factory=list)
    attempts: list[Attempt] = field(default_factory=list)
    addons: list[AddOn] = field(default_factory=list)
    lost_seed: int = 0  # seeds the choice of lost destroy events
