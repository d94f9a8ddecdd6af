"""Incremental derivation: re-derive the sessions that received events.

A session is always re-derived from all of its raw events, so the result
does not depend on arrival order, duplicates or lateness. Runs on the
writer thread (store/writer.py), the only one that writes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from videoinsights.derive.model import SessionDerivation
from videoinsights.derive.quality import QualityThresholds, add_endpoint_parts, derive_quality
from videoinsights.derive.session import derive_session
from videoinsights.store.base import SessionKey, Store

log = logging.getLogger(__name__)


def derive_pending(store: Store, limit: int, quality: QualityThresholds | None = None,
                   scoring: bool = True) -> tuple[int, int]:
    """Derive up to `limit` dirty sessions; return (derived, failed).

    With `scoring` (always, but for benchmarks/bench_load's comparison) each session also gets its quality
    scores and issues (derive/quality.py) from its raw stats samples."""
    store.absorb_new_events()
    keys = store.dirty_sessions(limit)
    if not keys:
        return 0, 0
    events = store.load_session_events(keys)
    stats = store.load_stats_aggregates(keys)
    samples = store.load_session_samples(keys) if scoring else {}
    derivations: list[SessionDerivation] = []
    failed: list[SessionKey] = []
    for key in keys:
        try:
            derivation = derive_session(key[0], key[1], events[key], stats[key])
            if scoring:
                derivation.quality = derive_quality(key[0], key[1], events[key], stats[key], samples[key], quality)
                add_endpoint_parts(derivation.endpoint_days, derivation.quality, key[0], key[1])
            derivations.append(derivation)
        except Exception:  # one bad session must not stall the others
            log.exception("deriving session %s of project %s failed", key[1], key[0])
            failed.append(key)
    # Failed sessions are cleared too (their old rows removed); a later event retries them.
    store.replace_derived(keys, derivations)
    return len(derivations), len(failed)


# progress(sessions done in this step, sessions to derive in all): for a progress bar.
Progress = Callable[[int, int], None]


def derive_all(store: Store, batch: int = 2000, progress: Progress | None = None,
               quality: QualityThresholds | None = None) -> int:
    """Rebuild every derived table from the raw events."""
    store.clear_derived()
    store.mark_all_dirty()
    return derive_until_clean(store, batch, progress, quality)


def derive_until_clean(store: Store, batch: int = 2000, progress: Progress | None = None,
                       quality: QualityThresholds | None = None, scoring: bool = True) -> int:
    """Derive dirty sessions until none is left; return how many were derived."""
    total = 0
    goal = 0
    if progress is not None:
        store.absorb_new_events()
        goal = store.dirty_session_count()
    while True:
        derived, failed = derive_pending(store, batch, quality, scoring)
        if derived + failed == 0:
            return total
        total += derived
        if progress is not None:
            progress(derived + failed, goal)
