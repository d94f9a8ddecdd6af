"""Dedup keys of the raw events, in an on-disk B-tree beside the DuckDB file (`<db>.keys`, SQLite).

Why not in DuckDB: a PRIMARY KEY there is an ART index that DuckDB loads whole into memory on first
use and keeps out of its buffer manager (about 60 bytes per event: tens of GiB over 21 days of raw
retention at 500 events/s), and without an index each probe would scan every stored id. SQLite's
B-tree answers the same exact question from disk through a page cache of fixed size.

The DuckDB file stays the source of truth: keys are committed here only after the raw rows are
committed there, and `meta.seq` says up to which commit `seq` the keys are complete. A crash (or a
lost or deleted keys file) is repaired at the next open by re-adding the keys of the raw rows above
that mark, so a 2xx answer always means "its ids are deduplicated from now on"."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Sequence
from datetime import date

from videoinsights.store.base import RejectedBatch, StorageFull

Key = tuple[str, str]  # (project_id, event_id)
# SQLite's page cache of the keys file, KiB: the only memory the keys take however many there are.
CACHE_KIB = 16 * 1024
# Pages the keys file's WAL holds before SQLite copies them back into the file (its default: 1,000). Random ids
# (UUIDs) land each on its own B-tree page, so a commit of 1,000 keys dirties ~1,000 pages and, at the default,
# every commit ran a checkpoint (copying and syncing them all); with room for many commits a page written again
# is copied back once. Costs up to 64 MiB of disk (4 KiB pages), no memory: claiming 1,000 UUID keys at 200,000
# stored took 22 ms of CPU instead of 33 (docs/benchmarks.md, "Stats-only ingest").
WAL_CHECKPOINT_PAGES = 16_384

# Keys per statement of `claim`: three parameters each (SQLite allows 32,766 parameters since 3.32).
CLAIM_CHUNK = 10_000

# A rowid table: a key is appended at the end of the table and of the purge's day index (day, rowid), and only the
# unique index on (project_id, event_id) takes it at a random place. Keyed by (project_id, event_id) WITHOUT ROWID,
# the day index was a second random B-tree (day, project_id, event_id), half of a claim's CPU (docs/benchmarks.md,
# "Dedup keys appended").
_KEYS = """CREATE TABLE IF NOT EXISTS keys (
         project_id TEXT NOT NULL,
         event_id TEXT NOT NULL,
         day INTEGER NOT NULL             -- proleptic ordinal of the event's day (date.toordinal)
       )"""
_INDEXES = (
    "CREATE UNIQUE INDEX IF NOT EXISTS keys_id ON keys (project_id, event_id)",
    "CREATE INDEX IF NOT EXISTS keys_day ON keys (day)",  # the retention purge deletes by day
)
_DDL = (_KEYS, *_INDEXES, "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)")


def keys_path(db_path: str) -> str:
    """Where the keys of the database at db_path live (in memory for an in-memory database)."""
    return ":memory:" if db_path.startswith(":memory:") else f"{db_path}.keys"


def _translate(exc: sqlite3.Error | OverflowError | TypeError) -> Exception:
    """SQLite's failures as the store's kinds: a full disk, values that can't be keys, or as is."""
    text = str(exc)
    if "disk is full" in text or "No space left" in text:
        return StorageFull("the server's storage is full")
    if isinstance(exc, (sqlite3.IntegrityError, sqlite3.InterfaceError, sqlite3.ProgrammingError, OverflowError,
                        TypeError)):  # TypeError: a value that can't be bound or hashed (a bypassed validator)
        return RejectedBatch(f"event id not storable: {text.splitlines()[0][:200] if text else type(exc).__name__}")
    return exc


def _ordinals(days: Sequence[date]) -> list[int]:
    """Each day as its ordinal (a batch has few distinct days: each is converted once)."""
    seen: dict[date, int] = {}
    return [seen[d] if d in seen else seen.setdefault(d, d.toordinal()) for d in days]


class DedupKeys:
    """The set of (project_id, event_id) already stored, with each key's event day for the purge.

    Used by the ingest writer thread only (and by the store's constructor before it starts)."""

    def __init__(self, path: str) -> None:
        if sqlite3.sqlite_version_info < (3, 35):
            raise RuntimeError(f"the dedup keys need SQLite 3.35 or later (INSERT ... RETURNING); Python's sqlite3 "
                               f"links {sqlite3.sqlite_version} (docs/deployment.md)")
        self.path = path
        self._con = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._con.execute("PRAGMA journal_mode = WAL")
        # NORMAL: a power cut may lose the last commits, never corrupt; the DuckDB WAL has those rows
        # and the open re-adds their keys (see the module docstring).
        self._con.execute("PRAGMA synchronous = NORMAL")
        self._con.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        self._con.execute(f"PRAGMA wal_autocheckpoint = {WAL_CHECKPOINT_PAGES}")
        self._con.execute("PRAGMA temp_store = MEMORY")
        self._migrate_keyed_table()
        for ddl in _DDL:
            self._con.execute(ddl)
        self._owner_only()
        row = self._con.execute("SELECT value FROM meta WHERE key = 'seq'").fetchone()
        self.seq = int(row[0]) if row else 0  # the keys of every commit up to this seq are here

    def _migrate_keyed_table(self) -> None:
        """A keys file of before 2026-12-05 (keys WITHOUT ROWID, keyed by project and id) into the rowid table, in
        one transaction: rows copied in day order, then both indexes built at once (sorted, not key by key)."""
        row = self._con.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'keys'").fetchone()
        if row is None or "WITHOUT ROWID" not in row[0].upper():
            return
        con = self._begin()
        try:
            con.execute("DROP INDEX IF EXISTS keys_day")
            con.execute("ALTER TABLE keys RENAME TO keys_keyed")
            con.execute(_KEYS)
            con.execute("INSERT INTO keys (project_id, event_id, day) "
                        "SELECT project_id, event_id, day FROM keys_keyed ORDER BY day")
            con.execute("DROP TABLE keys_keyed")
            for ddl in _INDEXES:
                con.execute(ddl)
            con.execute("COMMIT")
        except BaseException:
            self.rollback()
            raise

    def _owner_only(self) -> None:
        """API secrets aren't in here, but event ids are tenants' data: same mode as the database."""
        if self.path == ":memory:":
            return
        for name in (self.path, f"{self.path}-wal", f"{self.path}-shm"):
            try:
                if os.stat(name).st_mode & 0o077:
                    os.chmod(name, 0o600)
            except FileNotFoundError:
                pass

    def _begin(self) -> sqlite3.Connection:
        """Open the write transaction of a claim (a full disk or a locked file as the store's errors)."""
        try:
            self._con.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise _translate(exc) from exc
        return self._con

    def claim(self, project_ids: Sequence[str], event_ids: Sequence[str], days: Sequence[date]) -> set[Key]:
        """Open a transaction adding the keys not yet stored, and return those (each once).

        One pass: `INSERT OR IGNORE ... RETURNING` (CLAIM_CHUNK keys per statement) inserts each key straight into
        the B-tree and returns the ones it took; a stored key, or one given twice, is ignored and not returned.
        This replaced trying every key at once and probing the stored ones first when that failed (a commit
        with a duplicate went 8.6-9.1 -> 6.3-6.8 ms per 1,000 UUID keys at 1.5 million stored, one without cost
        about the same: benchmarks/bench_dedup.py, docs/benchmarks.md "Dedup keys claimed in one pass").

        The caller then stores the rows and calls commit(seq), or rollback() if that failed."""
        # SQLite would store another type's text and return that, which no longer equals the key asked for (a
        # bypassed validator: ingest validates ids as strings)
        if (project_ids or event_ids) and set(map(type, project_ids)) | set(map(type, event_ids)) != {str}:
            raise RejectedBatch("event id not storable: not a string")
        con = self._begin()
        try:
            rows = list(zip(project_ids, event_ids, _ordinals(days), strict=True))
            new: set[Key] = set()
            for at in range(0, len(rows), CLAIM_CHUNK):
                chunk = rows[at:at + CLAIM_CHUNK]
                values = ",".join(("(?,?,?)",) * len(chunk))
                new.update(con.execute(f"INSERT OR IGNORE INTO keys VALUES {values} RETURNING project_id, event_id",
                                       [v for row in chunk for v in row]).fetchall())
        except (sqlite3.Error, OverflowError, AttributeError, TypeError) as exc:
            self.rollback()
            if isinstance(exc, AttributeError):  # a day that isn't a date: a bypassed validator
                raise RejectedBatch(f"event day not storable: {exc}") from exc
            raise _translate(exc) from exc
        return new

    def commit(self, seq: int) -> None:
        """Commit the claimed keys as those of every commit up to seq."""
        try:
            self._con.execute("INSERT OR REPLACE INTO meta VALUES ('seq', ?)", [seq])
            self._con.execute("COMMIT")
        except sqlite3.Error as exc:
            self.rollback()
            raise _translate(exc) from exc
        self.seq = seq

    def rollback(self) -> None:
        if self._con.in_transaction:
            self._con.execute("ROLLBACK")

    def add_stored(self, rows: Iterable[Sequence[tuple[str, str, date]]], seq: int, *, replace: bool = False) -> None:
        """Add the keys of rows already stored (chunks of (project_id, event_id, day)), complete up to seq;
        with replace, the keys present before are dropped first.

        Idempotent: used to repair after a crash, to rebuild a lost keys file and by the migration."""
        con = self._con
        try:
            con.execute("BEGIN IMMEDIATE")
            if replace:
                con.execute("DELETE FROM keys")
            for chunk in rows:
                con.executemany("INSERT OR IGNORE INTO keys VALUES (?, ?, ?)",
                                ((p, e, d.toordinal()) for p, e, d in chunk))
            con.execute("INSERT OR REPLACE INTO meta VALUES ('seq', ?)", [seq])
            con.execute("COMMIT")
        except sqlite3.Error as exc:  # a full disk: the caller's request fails, the repair runs again next time
            self.rollback()
            raise _translate(exc) from exc
        except BaseException:
            self.rollback()
            raise
        self.seq = seq

    def purge(self, before: date, limit: int) -> int:
        """Forget the keys of events dated before `before` (the raw rows went with the retention), at most `limit`
        of them (the first ones of the day index): a day's keys cost ~3 us each (1.6 million: 5.5 s), so they are
        forgotten in pieces, the server's between ingest commits (store/writer.py)."""
        try:
            return self._con.execute("DELETE FROM keys WHERE rowid IN (SELECT rowid FROM keys WHERE day < ? LIMIT ?)",
                                     [before.toordinal(), limit]).rowcount
        except sqlite3.Error as exc:
            raise _translate(exc) from exc

    def count(self) -> int:
        return int(self._con.execute("SELECT count(*) FROM keys").fetchone()[0])

    def event_ids(self) -> set[Key]:
        """Every stored key (tests and small checks only)."""
        return set(self._con.execute("SELECT project_id, event_id FROM keys").fetchall())

    def close(self) -> None:
        self.rollback()
        self._con.close()
