"""The compiled fast path of ingest: a request body whose events are all valid, decoded by msgspec
straight into typed structs (one per event type) and turned into the store's column lists.

Python's per-field checks (validate.py) cost about 4 us per event, orjson's dicts another 1; this
path does the same work in msgspec's C decoder. It only ever *accepts*: any body it cannot take
whole (a malformed body, any invalid event, an id twice, a timestamp outside the window, NDJSON,
too many events) returns None and the request takes the Python path, which makes the exact
per-event error messages. So the rules live in one place (domain/events.py, validate.py); this
module restates them as msgspec constraints and tests/ingest/test_fast.py checks that everything
accepted here gives exactly what the Python path gives.
"""

from __future__ import annotations

from operator import attrgetter
from typing import Annotated, Any, Union

import msgspec
from msgspec import Meta

from videoinsights.domain.days import la_day
from videoinsights.domain.events import EVENT_TYPES, FIELDS, RAW_COLUMNS, Field
from videoinsights.ingest.batch import ValidatedBatch
from videoinsights.ingest.validate import MAX_ID_LENGTH, MAX_TEXT_LENGTH, EventError, field_check, parse_timestamp

_Id = Annotated[str, Meta(min_length=1, max_length=MAX_ID_LENGTH)]
_Text = Annotated[str, Meta(max_length=MAX_TEXT_LENGTH)]
# Only these string fields change or can be refused after the type and length check: they go
# through validate.py's own checker after decoding (a few values per event at most).
_POSTCHECKED = frozenset(f.name for f in FIELDS.values() if f.kind == "str" and (
    f.choices or f.upper or f.name in ("videoResolution", "resolution")))


def _annotation(spec: Field) -> Any:
    """The msgspec type of one field: the same type and range checks as validate._checker."""
    if spec.kind == "str":
        return _Text
    if spec.kind == "bool":
        return bool
    low, high = spec.value_range
    if spec.kind == "int":  # strict: 5.0 and true are refused, as type(value) is not int refuses them
        return Annotated[int, Meta(ge=int(low), le=int(high))]
    return Annotated[float, Meta(ge=low, le=high)]  # JSON integers become floats, as float(value) does


def _struct(name: str) -> type[msgspec.Struct]:
    """The struct of one event type; attributes are raw-table column names, the JSON keys their fields."""
    spec = EVENT_TYPES[name]
    fields: list[tuple[str, Any] | tuple[str, Any, Any]] = [
        ("event_id", _Id), ("session_id", _Id), ("timestamp", int | str),
    ]
    rename = {"event_id": "id", "session_id": "sessionId", "timestamp": "timestamp"}
    for field_name in spec.required:  # null or absent is refused, as validate.py refuses it
        fields.append((FIELDS[field_name].column, _annotation(FIELDS[field_name])))
        rename[FIELDS[field_name].column] = field_name
    for field_name in spec.optional:  # null is the same as absent
        fields.append((FIELDS[field_name].column, _annotation(FIELDS[field_name]) | None, None))
        rename[FIELDS[field_name].column] = field_name
    return msgspec.defstruct(name, fields, tag_field="type", tag=name, forbid_unknown_fields=True, rename=rename,
                             kw_only=True, gc=False)


_STRUCTS: dict[type[msgspec.Struct], str] = {_struct(name): name for name in EVENT_TYPES}
_COLUMNS: dict[type[msgspec.Struct], tuple[str, ...]] = {
    cls: tuple(f for f in cls.__struct_fields__ if f not in ("event_id", "session_id", "timestamp"))
    for cls in _STRUCTS
}
_POSTCHECK: dict[str, Any] = {FIELDS[name].column: field_check(name) for name in _POSTCHECKED}
_DECODER = msgspec.json.Decoder(list[Union[tuple(_STRUCTS)]])  # type: ignore[valid-type]  # noqa: UP007  tagged union
_ENVELOPE_GET = {c: attrgetter(c) for c in ("event_id", "session_id", "timestamp")}


def fast_validate(body: bytes, project_id: str, received_at: int, min_ts: int, max_ts: int,
                  max_events: int) -> ValidatedBatch | None:
    """The batch of a body whose events are all valid and distinct, or None: take the Python path."""
    text = body.strip()
    if text[:1] != b"[":
        return None  # NDJSON (and the empty body) keep the Python path and its per-line errors
    try:
        events = _DECODER.decode(text)
    except (msgspec.ValidationError, msgspec.DecodeError):
        return None
    n = len(events)
    if n == 0 or n > max_events:
        return None
    kinds = {type(e) for e in events}
    ids = list(map(_ENVELOPE_GET["event_id"], events))
    if len(set(ids)) != n:
        return None  # an id twice: the Python path counts it as a duplicate within the request
    ts = list(map(_ENVELOPE_GET["timestamp"], events))
    if str in set(map(type, ts)):
        try:
            ts = [parse_timestamp(t) for t in ts]
        except EventError:
            return None
    if min(ts) < min_ts or max(ts) > max_ts:
        return None
    days = {hour: la_day(hour * 3_600_000) for hour in {t // 3_600_000 for t in ts}}
    columns: dict[str, list[Any]] = {
        "project_id": [project_id] * n,
        "event_id": ids,
        "type": [_STRUCTS[next(iter(kinds))]] * n if len(kinds) == 1 else [_STRUCTS[type(e)] for e in events],
        "session_id": list(map(_ENVELOPE_GET["session_id"], events)),
        "ts": ts,
        "day": [days[t // 3_600_000] for t in ts],
        "received_at": [received_at] * n,
    }
    names = {c for kind in kinds for c in _COLUMNS[kind]}
    for column in RAW_COLUMNS:
        if column not in names:
            continue
        if len(kinds) == 1:
            values = list(map(attrgetter(column), events))
        else:
            values = [getattr(e, column, None) for e in events]
        check = _POSTCHECK.get(column)
        if check is not None:
            try:  # once per distinct value: a batch repeats a few resolutions and enum values
                checked = {v: check(v) for v in set(values) if v is not None}
            except EventError:
                return None
            checked[None] = None
            values = list(map(checked.__getitem__, values))
        if values.count(None) != n:  # as the Python path: only the columns some event has
            columns[column] = values
    return ValidatedBatch(columns=columns)
