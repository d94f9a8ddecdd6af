"""Shared helpers for the simulator tests: the vocabulary check and lifetime maps."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from videoinsights.domain.events import ENVELOPE, EVENT_TYPES, FIELDS

Event = dict[str, object]


_KIND_OK = {
    "str": lambda v: isinstance(v, str),
    "int": lambda v: type(v) is int,
    "count": lambda v: type(v) is int and v >= 0,
    "float": lambda v: type(v) in (int, float),
    "bool": lambda v: type(v) is bool,
    "ratio": lambda v: type(v) in (int, float) and 0 <= v <= 1,
}
_ALLOWED = {t.name: frozenset((*ENVELOPE, *t.required, *t.optional)) for t in EVENT_TYPES.values()}
_REQUIRED = {t.name: (*ENVELOPE, *t.required) for t in EVENT_TYPES.values()}


def vocabulary_errors(ev: Event) -> list[str]:
    """Everything wrong with one event against the event vocabulary (empty = valid)."""
    name = ev.get("type")
    if name not in EVENT_TYPES:
        return [f"unknown type {name!r}"]
    errors = [f"{name}: field {k!r} not allowed" for k in ev if k not in _ALLOWED[name]]
    errors += [f"{name}: missing {k!r}" for k in _REQUIRED[name] if k not in ev]
    if not (isinstance(ev.get("id"), str) and ev["id"]):
        errors.append("id must be a non-empty string")
    if not (isinstance(ev.get("sessionId"), str) and ev["sessionId"]):
        errors.append("sessionId must be a non-empty string")
    if type(ev.get("timestamp")) is not int:
        errors.append("timestamp must be an int (epoch ms)")
    for k, v in ev.items():
        f = FIELDS.get(k)
        if f is None or k in ENVELOPE:
            continue
        if not _KIND_OK[f.kind](v):
            errors.append(f"{name}.{k}: {v!r} is not a {f.kind}")
        elif f.choices and str(v).lower() not in f.choices:
            errors.append(f"{name}.{k}: {v!r} not in {f.choices}")
    return errors


@dataclass
class Life:
    created: int
    destroyed: int | None
    created_event: Event


def lifetimes(events: Iterable[Event], create: str, destroy: str, key: str) -> dict[str, Life]:
    """Entity id -> its create and destroy timestamps (raises on a destroy without a create)."""
    out: dict[str, Life] = {}
    for ev in events:
        if ev["type"] == create:
            assert ev[key] not in out, f"{create} twice for {ev[key]}"
            out[ev[key]] = Life(ev["timestamp"], None, ev)  # type: ignore[index,arg-type]
        elif ev["type"] == destroy:
            life = out.get(ev[key])  # type: ignore[arg-type]
            assert life is not None, f"{destroy} without {create}: {ev}"
            assert life.destroyed is None, f"{destroy} twice for {ev[key]}"
            life.destroyed = ev["timestamp"]  # type: ignore[assignment]
    return out
