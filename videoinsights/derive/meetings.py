"""Meeting records: maximal periods with at least one connection present.

* Records are the union of connection lifetimes. Touching intervals merge
  (a connect at the very instant of a disconnect leaves no gap), and a
  connection seen at one instant only still forms (or joins) a record.
* If the session has no known connection at all (its connection events were
  lost), records are built from publisher and subscriber lifetimes instead,
  so their minutes are not dropped.
* Records separated by a gap < 10 minutes share a meeting_id; a gap of
  exactly 10 minutes or more starts a new one. The id is uuid5 of
  (project, session, created_at of the first record of that id): stable
  across re-derivations as long as that first connect does not change.
* Connections belong to the record containing their lifetime; publishers and
  subscribers to the last record starting at or before their created_at
  (so one created in a gap joins the preceding record), else to the first.
"""

from __future__ import annotations

import bisect
import uuid
from dataclasses import dataclass, field

from videoinsights.derive.intervals import union
from videoinsights.derive.lifetimes import ConnectionLife, Lifetimes, StreamLife, SubscriberLife

MEETING_GAP_MS = 600_000
_NAMESPACE = uuid.UUID("5d9a3b0e-6f1e-4c1b-9a53-0f0c3f7a1e42")  # fixed forever: part of every meeting_id


@dataclass
class MeetingRecord:
    index: int
    meeting_id: str
    start: int
    end: int
    connections: list[ConnectionLife] = field(default_factory=list)
    streams: list[StreamLife] = field(default_factory=list)
    subscribers: list[SubscriberLife] = field(default_factory=list)

    @property
    def destroyed_at(self) -> int | None:
        """Last disconnect, or None while any member has no destroy event."""
        members = self.connections or [*self.streams, *self.subscribers]
        if any(m.destroyed_at is None for m in members):
            return None
        return self.end


def meeting_id(project_id: str, session_id: str, first_created_at: int) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{project_id}\x1f{session_id}\x1f{first_created_at}"))


def build_records(project_id: str, session_id: str, lt: Lifetimes) -> list[MeetingRecord]:
    """Meeting records in time order, with their members assigned."""
    presence = [(c.created_at, c.ended_at) for c in lt.connections.values()] or lt.all_intervals()
    records: list[MeetingRecord] = []
    current_id = ""
    for index, (start, end) in enumerate(union(presence)):
        if not records or start - records[-1].end >= MEETING_GAP_MS:
            current_id = meeting_id(project_id, session_id, start)
        records.append(MeetingRecord(index, current_id, start, end))
    if not records:
        return records

    starts = [r.start for r in records]

    def owner(ts: int) -> MeetingRecord:
        return records[max(bisect.bisect_right(starts, ts) - 1, 0)]

    for c in sorted(lt.connections.values(), key=lambda c: (c.created_at, c.connection_id)):
        owner(c.created_at).connections.append(c)
    for s in sorted(lt.streams.values(), key=lambda s: (s.created_at, s.stream_id)):
        owner(s.created_at).streams.append(s)
    for sub in sorted(lt.subscribers.values(), key=lambda s: (s.created_at, s.subscriber_id)):
        owner(sub.created_at).subscribers.append(sub)
    return records
