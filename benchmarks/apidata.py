"""Synthetic database for benchmarks/bench_api.py, built at the table level.

Ingesting raw events at 10,000 sessions a day for 90 days (about 2,400 events
per session) would take days, so the derived tables the API reads are filled
directly with bulk INSERT ... SELECT statements that DuckDB generates itself
(numpy is not a dependency of the project). Every pseudo-random value is a hash
of (row key, salt, seed), so a given `Spec` always yields the same database.

What is built (all relative to `Spec.today`, an America/Los_Angeles day):
- one busy project (`BUSY`, 10,000 sessions a day) and a few small ones;
- `rollup_endpoint_daily` / `rollup_project_daily` for the `rollup_days` days
  before today, from simulated endpoints (about 2.6 per session) whose
  dimensions are drawn from a weighted catalogue (SDK types and versions,
  browsers and versions, 60 countries with regions);
- `rollup_*_monthly` for the 12 months kept (older months from more
  simulated endpoints, the recent ones from the daily rollups);
- for the last `session_days` days: `sessions`, `meetings`, `connections`,
  `publishers`, `subscribers`, `session_bounds`, and `stats_samples`
  (`stats_per_entity` samples per publisher and per subscriber, spread over its
  lifetime, at most one per 30 s; inserted in timestamp order, as arrival order
  would leave them).

The session data and the rollups are generated independently: each is
internally consistent (meetings sum their publishers' minutes, histograms
roughly sum to samples), but the rollups are not the aggregate of the sessions.
`events` and the dedup keys file stay empty (the API never reads them).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import time
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from videoinsights import ops
from videoinsights.derive.model import ENDPOINT_MEASURES, PROJECT_MEASURES
from videoinsights.domain.days import DAY_MS, day_start_ms, la_day
from videoinsights.domain.quality import BITRATE_BOUNDS, BITRATE_FIELDS, LATENCY_BOUNDS, LATENCY_FIELDS
from videoinsights.domain.tiers import TIERS
from videoinsights.store.duckdb.compaction import compact_stats
from videoinsights.store.duckdb.dedup import DedupKeys, keys_path
from videoinsights.store.duckdb.rawfile import attach_raw, database_files
from videoinsights.store.duckdb.schema import INDEXES, TABLES
from videoinsights.store.duckdb.store import DuckDBStore
from videoinsights.store.duckdb.totals import refill_day_totals

GENERATOR_VERSION = 3  # bump when the generated data changes
BUSY = "12345678"
SMALL = ("23456789", "34567890", "45678901")
CACHE_DIR = Path(os.environ.get("VI_BENCH_CACHE", "/tmp/videoinsights-bench-api"))
CONNECTIONS_PER_SESSION = 2.6  # mean of the connection-count distribution below (per meeting)


@dataclass(frozen=True)
class Spec:
    today: date
    scale: float = 1.0  # multiplies sessions per day (busy and small projects)
    sessions_per_day: int = 10_000
    small_sessions_per_day: tuple[int, ...] = (20, 100, 500)
    rollup_days: int = 90
    session_days: int = 21
    stats_per_entity: int = 20
    catalogue_slots: int = 4096
    seed: int = 42
    # "sessions": stats samples moved into session order by the product's compaction passes, as a server leaves them
    # once the sessions have ended (store/duckdb/compaction.py); "arrival": as appended, before any pass
    layout: str = "sessions"

    def per_day(self) -> dict[str, int]:
        sizes = (self.sessions_per_day, *self.small_sessions_per_day)
        return {pid: max(1, round(n * self.scale)) for pid, n in zip((BUSY, *SMALL), sizes, strict=True)}

    def key(self) -> str:
        ddl = hashlib.sha256(json.dumps([TABLES, INDEXES]).encode()).hexdigest()[:10]
        params = json.dumps({**asdict(self), "today": self.today.isoformat(), "v": GENERATOR_VERSION}, sort_keys=True)
        return f"api-{self.today.isoformat()}-s{self.scale:g}-k{self.stats_per_entity}-{self.layout}-" + \
            hashlib.sha256((params + ddl).encode()).hexdigest()[:12]


@dataclass
class Built:
    path: Path
    spec: Spec
    build_seconds: float
    cached: bool
    rows: dict[str, int] = field(default_factory=dict)
    file_bytes: int = 0
    secrets: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)


# -- the dimension catalogue ----------------------------------------------------

_SDKS = [  # type, weight, versions (most used first)
    ("JS", 0.58, ["2.29.1", "2.28.4", "2.29.0", "2.27.7", "2.28.3", "2.26.5", "2.27.2", "2.25.3", "2.24.7", "2.23.1"]),
    ("IOS", 0.14, ["2.29.0", "2.28.2", "2.27.3", "2.26.1", "2.25.2", "2.24.0"]),
    ("ANDROID", 0.16, ["2.29.0", "2.28.1", "2.27.1", "2.26.0", "2.25.4", "2.24.2"]),
    ("WINDOWS", 0.04, ["2.28.0", "2.27.0", "2.26.2"]),
    ("REACT_NATIVE", 0.05, ["0.24.1", "0.23.0", "0.22.3"]),  # reported as OTHER
    ("LINUX", 0.03, ["2.27.0", "2.25.0"]),  # reported as OTHER
]
_BROWSERS = [  # browser, weight, versions (JS only)
    ("CHROME", 0.64, ["131.0", "130.0", "129.0", "128.0", "127.0", "126.0", "125.0", "124.0"]),
    ("SAFARI", 0.16, ["18.1", "18.0", "17.6", "17.5", "17.4", "16.6"]),
    ("EDGE", 0.10, ["131.0", "130.0", "129.0", "128.0"]),
    ("FIREFOX", 0.08, ["133.0", "132.0", "131.0", "128.0", "115.0"]),
    ("OPERA", 0.02, ["114.0", "113.0"]),  # reported as OTHER
]
_COUNTRIES = [
    "US", "GB", "DE", "IN", "BR", "FR", "CA", "ES", "IT", "MX", "AU", "NL", "JP", "PL", "SE", "CH", "BE", "AR",
    "CO", "TR", "ZA", "NG", "KE", "EG", "SA", "AE", "IL", "PT", "IE", "AT", "DK", "NO", "FI", "CZ", "RO", "HU",
    "GR", "UA", "RU", "CN", "KR", "SG", "MY", "ID", "PH", "TH", "VN", "PK", "BD", "NZ", "CL", "PE", "EC", "VE",
    "UY", "MA", "DZ", "TN", "GH", "XK"
]
_REGIONS = {
    "US": [
        "CA", "NY", "TX", "FL", "WA", "IL", "MA", "GA", "NJ", "PA", "OH", "NC", "VA", "MI", "CO", "AZ", "OR",
        "MN", "MD", "TN", "UT", "IN", "MO", "WI", "NV", "KY", "OK", "CT", "SC", "LA", "AL", "IA", "KS", "AR",
        "NM", "NE", "ID", "WV", "HI", "NH", "ME", "RI", "MT", "DE", "SD", "ND", "AK", "VT", "WY", "DC"
    ],
    "GB": ["ENG", "SCT", "WLS", "NIR"],
    "DE": ["BY", "BE", "NW", "HE", "BW", "HH", "SN", "NI"],
    "IN": ["MH", "KA", "DL", "TN", "TG", "WB", "GJ", "UP"],
    "BR": ["SP", "RJ", "MG", "RS", "PR", "BA"],
    "FR": ["IDF", "ARA", "PAC", "OCC", "NAQ"],
    "CA": ["ON", "QC", "BC", "AB", "MB", "NS"],
    "ES": ["MD", "CT", "AN", "VC"],
    "IT": ["LOM", "LAZ", "CAM", "PIE"],
    "MX": ["CMX", "JAL", "NLE"],
    "AU": ["NSW", "VIC", "QLD", "WA"],
}
_CITY = {"US": "San Francisco", "GB": "London", "DE": "Berlin", "IN": "Bengaluru", "BR": "Sao Paulo"}


def _zipf(rng: random.Random, items: list[Any], s: float = 1.1) -> Any:
    return rng.choices(items, weights=[1 / (i + 1) ** s for i in range(len(items))])[0]


def catalogue(slots: int, seed: int) -> list[tuple[Any, ...]]:
    """`slots` endpoint dimension tuples drawn from the weighted distributions (with repeats):
    picking a slot uniformly draws from the joint distribution."""
    rng = random.Random(seed)
    out = []
    for slot in range(slots):
        sdk, _, versions = rng.choices(_SDKS, weights=[w for _, w, _ in _SDKS])[0]
        sdk_version = _zipf(rng, versions)
        browser = browser_version = None
        if sdk == "JS":
            browser, _, bversions = rng.choices(_BROWSERS, weights=[w for _, w, _ in _BROWSERS])[0]
            browser_version = _zipf(rng, bversions)
        country = _zipf(rng, _COUNTRIES, 1.0)
        regions = _REGIONS.get(country)
        region = _zipf(rng, regions) if regions else (None if rng.random() < 0.5 else f"R{rng.randint(1, 3)}")
        city = _CITY.get(country, f"City {rng.randint(1, 9)}")
        ua = f"Mozilla/5.0 {browser.title()}/{browser_version}" if browser else None
        device = None if sdk == "JS" else rng.choice(["iPhone15,2", "Pixel 8", "SM-S918B", "Desktop"])
        out.append((slot, sdk, sdk_version, browser, browser_version, country, region, city, ua, device))
    return out


# -- SQL pieces -------------------------------------------------------------------

def _u(key: str, salt: str) -> str:
    """A uniform [0, 1) value from a key expression (deterministic; the seed is in macro u)."""
    return f"u({key}, '{salt}')"


def _la_day(ts: str) -> str:
    return f"CAST(timezone('America/Los_Angeles', to_timestamp(({ts}) / 1000.0)) AS DATE)"


# Latency and bitrate histograms of one endpoint: shares per bucket for a good / medium / poor network.
_LAT_SHARES = {
    "good": (0.30, 0.40, 0.20, 0.05, 0.02, 0.01, 0.01, 0.0, 0.0, 0.0, 0.0, 0.01),
    "mid": (0.05, 0.20, 0.35, 0.20, 0.08, 0.05, 0.03, 0.02, 0.01, 0.0, 0.0, 0.01),
    "poor": (0.0, 0.05, 0.15, 0.20, 0.15, 0.12, 0.10, 0.08, 0.05, 0.03, 0.02, 0.05),
}
_BR_SHARES = {
    "good": (0.01, 0.02, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.08, 0.10, 0.10, 0.09, 0.07, 0.06, 0.05,
             0.03, 0.02, 0.01, 0.01),
    "mid": (0.03, 0.05, 0.08, 0.10, 0.12, 0.12, 0.10, 0.09, 0.07, 0.06, 0.06, 0.04, 0.03, 0.02, 0.01, 0.01,
            0.005, 0.005, 0.0, 0.0),
    "poor": (0.15, 0.20, 0.18, 0.14, 0.10, 0.08, 0.05, 0.04, 0.02, 0.02, 0.01, 0.01, 0.0, 0.0, 0.0, 0.0,
             0.0, 0.0, 0.0, 0.0),
}
_LAT_MEAN = {"good": 95.0, "mid": 210.0, "poor": 420.0}
_BR_MEAN = {"good": 1150.0, "mid": 620.0, "poor": 310.0}
assert len(_LAT_SHARES["good"]) == len(LATENCY_BOUNDS) + 1 and len(_BR_SHARES["good"]) == len(BITRATE_BOUNDS) + 1


def _by_class(values: dict[str, float]) -> str:
    return f"CASE q WHEN 0 THEN {values['good']} WHEN 1 THEN {values['mid']} ELSE {values['poor']} END"


def _endpoint_measures_sql() -> str:
    """SELECT list of ENDPOINT_MEASURES for a group of simulated endpoints sharing a slot and a network class
    (columns: q, k, n, pubm, subm, npub, ca, cf, pf, sa, sf)."""
    cols: dict[str, str] = {
        "published_minutes": "pubm",
        "subscribed_minutes": "subm",
        "connect_attempts": "n + ca",
        "connect_failures": "cf",
        "publish_attempts": "npub",
        "publish_failures": "pf",
        "subscribe_attempts": "sa",
        "subscribe_failures": "sf",
    }
    for side, minutes in (("pub", "pubm"), ("sub", "subm")):
        samples = f"round({minutes} * 2)"
        for i, name in enumerate(LATENCY_FIELDS):
            shares = {c: v[i] for c, v in _LAT_SHARES.items()}
            cols[f"{side}_lat_{name.lower()}"] = f"round({samples} * {_by_class(shares)})"
        for i, name in enumerate(BITRATE_FIELDS):
            shares = {c: v[i] for c, v in _BR_SHARES.items()}
            cols[f"{side}_br_{name.lower()}"] = f"round({samples} * {_by_class(shares)})"
        cols[f"{side}_samples"] = samples
        cols[f"{side}_lat_count"] = samples
        cols[f"{side}_lat_sum"] = f"{samples} * {_by_class(_LAT_MEAN)} * (0.8 + 0.4 * {_u('k', side + 'l')})"
        cols[f"{side}_br_count"] = f"round({samples} * 0.92)"
        cols[f"{side}_br_sum"] = (f"round({samples} * 0.92) * {_by_class(_BR_MEAN)} "
                                  f"* (0.8 + 0.4 * {_u('k', side + 'b')})")
    assert set(cols) <= set(ENDPOINT_MEASURES), set(cols) - set(ENDPOINT_MEASURES)
    # The quality measures (scores, jitter, RTT, frame rate, detected issues) came later: zero here, so their
    # fields answer 0 in GraphQL and in the raw SQL alike; this benchmark times the reads, not their values.
    return ", ".join(f"CAST({cols.get(m, '0')} AS DOUBLE) AS {m}" for m in ENDPOINT_MEASURES)


_TIER_SHARE = {  # share of participant minutes counted in each tier (most calls are 1:1)
    "pm_from1to2": 0.58, "pm_from1to4": 0.84, "pm_from1to8": 0.95, "pm_from1to10": 0.97, "pm_from1to25": 0.995,
    "pm_from3to6": 0.33, "pm_from3to25": 0.415, "pm_from5to8": 0.10, "pm_from7to8": 0.03, "pm_from9to10": 0.02,
    "pm_from11to20": 0.02, "pm_from11to35": 0.025, "pm_from21to35": 0.005, "pm_from26to35": 0.002,
    "pm_from36plus": 0.005, "pm_from36to40": 0.001, "pm_from41plus": 0.004,
}
_ADDON_SHARE = {
    "sd_archive_composed_minutes": 0.02, "hd_archive_composed_minutes": 0.03, "individual_archive_minutes": 0.01,
    "sd_broadcast_composed_minutes": 0.005, "hd_broadcast_composed_minutes": 0.01, "hls_minutes": 0.008,
    "sip_user_minutes": 0.004, "experience_composer_minutes": 0.002, "experience_composer_archive_minutes": 0.001,
    "experience_composer_broadcast_minutes": 0.001,
}


def _project_measures_sql() -> str:
    """SELECT list of PROJECT_MEASURES for one (project, day) with `n` sessions (columns n, k)."""
    base = f"n * 62.0 * (0.85 + 0.3 * {_u('k', 'pm')})"
    cols = {c: f"{base} * {s}" for c, s in _TIER_SHARE.items()}
    cols |= {c: f"{base} * {s} * (0.5 + {_u('k', c)})" for c, s in _ADDON_SHARE.items()}
    assert set(cols) == set(PROJECT_MEASURES), set(PROJECT_MEASURES) ^ set(cols)
    return ", ".join(f"CAST({cols[m]} AS DOUBLE) AS {m}" for m in PROJECT_MEASURES)


_DIMS = "sdk_type, sdk_version, country, region, browser, browser_version"


def _tier_sql(publishers: str, minutes: str) -> str:
    """Tier columns for a meeting with `publishers` streams and `minutes` participant minutes."""
    parts = []
    for t in TIERS:
        n = f"greatest({publishers}, 1)"
        cond = f"{n} >= {t.low}" + ("" if t.high is None else f" AND {n} <= {t.high}")
        parts.append(f"CASE WHEN {cond} THEN {minutes} ELSE 0 END AS {t.column}")
    return ", ".join(parts)


# -- build ----------------------------------------------------------------------------

def build(spec: Spec, *, rebuild: bool = False, log: Any = print) -> Built:
    """The database for `spec`: from the cache under CACHE_DIR, or built now (a minute or two at scale 1)."""
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    path = CACHE_DIR / f"{spec.key()}.duckdb"
    meta_path = path.with_suffix(".json")
    if path.exists() and meta_path.exists() and not rebuild:
        meta = json.loads(meta_path.read_text())
        return Built(path, spec, meta["build_seconds"], True, meta["rows"], path.stat().st_size, meta["secrets"],
                     meta["timings"])
    prefix = f"api-{spec.today.isoformat()}-"
    for old in CACHE_DIR.glob("api-*"):
        # Databases of other days are stale (the data is relative to today), and so are older generator or
        # schema versions of the same parameters.
        if not old.name.startswith(prefix) or old.name.startswith(
                f"{prefix}s{spec.scale:g}-k{spec.stats_per_entity}-{spec.layout}-"):
            old.unlink()
    tmp = path.with_suffix(".building")
    keys = (f"{tmp}{suffix}" for suffix in (".keys", ".keys-wal", ".keys-shm"))
    for p in map(Path, (*database_files(str(tmp)), *keys)):
        p.unlink(missing_ok=True)
    started = time.perf_counter()
    timings: dict[str, float] = {}

    def step(name: str, t0: float) -> float:
        now = time.perf_counter()
        timings[name] = round(now - t0, 2)
        log(f"  build: {name:<28} {now - t0:6.1f} s")
        return now

    # 1. The real DDL and migrations, and the projects through ops.create_project.
    store = DuckDBStore(str(tmp))
    secrets = {}
    for pid in (BUSY, *SMALL):
        secrets[pid] = ops.create_project(store, f"bench {pid}", advanced_insights=True, project_id=pid)["apiSecret"]
    store.close()
    t = step("schema + projects", started)

    con = duckdb.connect(str(tmp))
    attach_raw(con, str(tmp), read_only=False)
    # Bulk loads are much faster without the ART index; DuckDBStore re-creates it (same DDL) at the end.
    for ddl in INDEXES:
        con.execute(f"DROP INDEX IF EXISTS {ddl.split(' IF NOT EXISTS ')[1].split(' ON ')[0]}")
    con.execute("SET enable_progress_bar = false")
    con.execute(f"CREATE TEMP MACRO u(k, salt) AS (hash(k, salt, {spec.seed:d}) % 1000003) / 1000003.0")
    con.execute("CREATE TEMP MACRO bits(h, i) AS ((h >> (16 * i)) & 65535) / 65536.0")  # 4 uniforms per hash
    _generate_catalogue(con, spec)
    _generate_rollups(con, spec)
    t = step("rollups (daily + monthly)", t)
    _generate_sessions(con, spec)
    t = step("session tables", t)
    _generate_stats(con, spec, log)
    t = step("stats_samples", t)
    if spec.layout == "sessions":
        _compact(con)
        t = step("compaction (session order)", t)
    con.execute("CHECKPOINT")
    _mark_keys_complete(con, tmp)
    con.close()
    t = step("checkpoint", t)

    # 2. Reopen through the store: migrations run again and re-create the indexes.
    store = DuckDBStore(str(tmp))
    con = store._con
    seq = int(con.execute("SELECT coalesce(max(seq), 0) FROM stats_samples").fetchone()[0])
    # Everything committed is already "derived": the server's writer must not re-derive (and empty) sessions.
    con.execute("INSERT OR REPLACE INTO meta VALUES ('derived_seq', ?)", [str(seq)])
    rows = {name: int(con.execute(f"SELECT count(*) FROM {name}").fetchone()[0])
            for name in ("rollup_endpoint_daily", "rollup_project_daily", "rollup_endpoint_monthly",
                         "rollup_project_monthly", "sessions", "meetings", "connections", "publishers",
                         "subscribers", "stats_samples", "session_bounds")}
    store.close()
    t = step("indexes (DuckDBStore reopen)", t)
    for frm, to in zip((*database_files(str(tmp)), f"{tmp}.keys"), (*database_files(str(path)), f"{path}.keys"),
                       strict=True):
        if Path(frm).exists():
            os.replace(frm, to)
    seconds = round(time.perf_counter() - started, 1)
    meta_path.write_text(json.dumps({"build_seconds": seconds, "rows": rows, "secrets": secrets, "timings": timings,
                                     "spec": {**asdict(spec), "today": spec.today.isoformat()}}, indent=1))
    return Built(path, spec, seconds, False, rows, path.stat().st_size, secrets, timings)


def _compact(con: duckdb.DuckDBPyConnection) -> None:
    """The product's compaction passes over every session (they all ended before today), larger than a server's:
    the build has no index to maintain and nothing else waits."""
    seq = int(con.execute("SELECT coalesce(max(seq), 0) FROM stats_samples").fetchone()[0])
    while compact_stats(con, seq, 2**62, sessions=20_000)[0]:
        pass


def _mark_keys_complete(con: duckdb.DuckDBPyConnection, db: Path) -> None:
    """An empty dedup keys file marked complete up to the last commit: the store would otherwise
    "repair" it at open by adding the keys of every generated sample (tens of millions of random
    inserts into SQLite: far longer than the build). The API benchmarks never ingest into this file."""
    seq = int(con.execute("SELECT coalesce(max(seq), 0) FROM stats_samples").fetchone()[0])
    keys = DedupKeys(keys_path(str(db)))
    keys.add_stored([], seq, replace=True)
    keys.close()


def _generate_catalogue(con: duckdb.DuckDBPyConnection, spec: Spec) -> None:
    con.execute("""CREATE TEMP TABLE cat (slot INTEGER, sdk_type VARCHAR, sdk_version VARCHAR, browser VARCHAR,
                   browser_version VARCHAR, country VARCHAR, region VARCHAR, city VARCHAR, user_agent VARCHAR,
                   device_model VARCHAR)""")
    rows = catalogue(spec.catalogue_slots, spec.seed)
    names = [d[0] for d in con.execute("SELECT * FROM cat LIMIT 0").description]
    con.register("cat_in", pa.table({n: [r[i] for r in rows] for i, n in enumerate(names)}))
    con.execute("INSERT INTO cat SELECT * FROM cat_in")
    con.unregister("cat_in")
    con.execute("CREATE TEMP TABLE proj (project_id VARCHAR, per_day INTEGER)")
    con.execute("INSERT INTO proj VALUES " + ", ".join(f"('{p}', {n:d})" for p, n in spec.per_day().items()))


def _generate_rollups(con: duckdb.DuckDBPyConnection, spec: Spec) -> None:
    first_daily = spec.today - timedelta(days=spec.rollup_days)
    month = spec.today.replace(day=1)
    for _ in range(11):  # 12 months kept, this one included
        month = (month - timedelta(days=1)).replace(day=1)
    slots = spec.catalogue_slots
    measures = _endpoint_measures_sql()
    cat_dims = ", ".join(f"c.{d}" for d in _DIMS.split(", "))
    sums = ", ".join(f"sum({x}) AS {x}" for x in ENDPOINT_MEASURES)

    def endpoints(first: date, last: date, bucket: str) -> str:
        """Simulated endpoints (about 2.6 per session) of every project and day in [first, last], summed per
        `bucket` (an expression of `day`) and dimensions. Each endpoint draws a catalogue slot, a network class
        (q: good / medium / poor) and its minutes; the measures are expanded per (bucket, slot, class)."""
        return f"""
        WITH d AS (SELECT CAST(x AS DATE) AS day FROM range(DATE '{first}', DATE '{last}' + 1, INTERVAL 1 DAY) t(x)),
        n AS (SELECT p.project_id, d.day,
                     CAST(round(p.per_day * {CONNECTIONS_PER_SESSION}
                                * (0.8 + 0.4 * {_u("p.project_id || d.day", "n")})) AS BIGINT) AS endpoints
              FROM proj p, d),
        ep AS (SELECT project_id, day, hash(project_id, day, i, {spec.seed}) AS h1
               FROM (SELECT project_id, day, unnest(range(endpoints)) AS i FROM n)),
        e AS (SELECT project_id, {bucket} AS bucket, h1, hash(h1) AS h2, hash(hash(h1)) AS h3 FROM ep),
        g AS (
          SELECT project_id, bucket, CAST(floor(bits(h1, 0) * {slots}) AS INTEGER) AS slot,
                 CASE WHEN bits(h1, 1) < 0.6 THEN 0 WHEN bits(h1, 1) < 0.9 THEN 1 ELSE 2 END AS q,
                 count(*) AS n,
                 sum(CASE WHEN bits(h1, 2) < 0.05 THEN 0.0 ELSE 2 + 60 * pow(bits(h1, 3), 2) END) AS pubm,
                 sum((0.6 + 1.8 * bits(h2, 0)) * (2 + 60 * pow(bits(h1, 3), 2))) AS subm,
                 count(*) FILTER (WHERE bits(h1, 2) >= 0.05) AS npub,
                 count(*) FILTER (WHERE bits(h2, 1) < 0.08) AS ca,
                 count(*) FILTER (WHERE bits(h2, 2) < 0.03) AS cf,
                 count(*) FILTER (WHERE bits(h1, 2) >= 0.05 AND bits(h2, 3) < 0.01) AS pf,
                 sum(1 + floor(bits(h3, 0) * 3)) AS sa,
                 count(*) FILTER (WHERE bits(h3, 1) < 0.02) AS sf
          FROM e GROUP BY ALL)
        SELECT g.project_id, g.bucket AS {"day" if bucket == "day" else "month"}, {cat_dims}, {sums}
        FROM (SELECT project_id, bucket, slot, {measures}
              FROM (SELECT *, hash(project_id, bucket, slot, q) AS k FROM g)) g JOIN cat c USING (slot)
        GROUP BY ALL ORDER BY g.bucket, g.project_id"""

    con.execute(f"INSERT INTO rollup_endpoint_daily SELECT * FROM "
                f"({endpoints(first_daily, spec.today - timedelta(days=1), 'day')})")
    refill_day_totals(con)
    month_of = "CAST(date_trunc('month', day) AS DATE)"
    old = endpoints(month, first_daily - timedelta(days=1), month_of)
    con.execute(f"""INSERT INTO rollup_endpoint_monthly
        SELECT project_id, month, {_DIMS}, {", ".join(f"sum({x})" for x in ENDPOINT_MEASURES)}
        FROM (SELECT * FROM ({old}) UNION ALL
              SELECT project_id, {month_of} AS month, * EXCLUDE (project_id, day) FROM rollup_endpoint_daily)
        GROUP BY ALL ORDER BY month, project_id""")
    con.execute(f"""CREATE TEMP TABLE pdays AS
        SELECT p.project_id, CAST(x AS DATE) AS day, p.per_day AS n, hash(p.project_id, CAST(x AS DATE)) AS k
        FROM proj p, range(DATE '{month}', DATE '{spec.today}', INTERVAL 1 DAY) t(x)""")
    pm = _project_measures_sql()
    con.execute(f"""INSERT INTO rollup_project_daily SELECT project_id, day, {pm} FROM pdays
                    WHERE day >= DATE '{first_daily}' ORDER BY day, project_id""")
    psums = ", ".join(f"sum({x})" for x in PROJECT_MEASURES)
    con.execute(f"""INSERT INTO rollup_project_monthly
        SELECT project_id, {month_of} AS month, {psums}
        FROM (SELECT project_id, day, {pm} FROM pdays) GROUP BY ALL ORDER BY month, project_id""")
    con.execute("DROP TABLE pdays")


def session_window(spec: Spec) -> tuple[int, int]:
    """[start, end) epoch ms in which sessions are created: the session_days days before today
    (ending 6 hours before today's LA midnight, so that every meeting has ended by then)."""
    end = day_start_ms(spec.today)
    return end - spec.session_days * DAY_MS, end - 6 * 3_600_000


def _generate_sessions(con: duckdb.DuckDBPyConnection, spec: Spec) -> None:
    lo, hi = session_window(spec)
    days = spec.session_days
    # Sessions: connections per meeting 1 (10 %), 2 (60 %), 3 (15 %), 4 (10 %), 5-10 (5 %); 1-3 meetings.
    con.execute(f"""CREATE TEMP TABLE g_sess AS
        SELECT project_id, i, k,
               '1_MX4' || project_id || '-fn' || substr(md5(project_id || '/' || i || '/{spec.seed}'), 1, 40)
                   AS session_id,
               {lo} + CAST({_u('k', 'ct')} * {hi - lo} AS BIGINT) AS created_at,
               CASE WHEN {_u('k', 'nc')} < 0.10 THEN 1 WHEN {_u('k', 'nc')} < 0.70 THEN 2
                    WHEN {_u('k', 'nc')} < 0.85 THEN 3 WHEN {_u('k', 'nc')} < 0.95 THEN 4
                    ELSE 5 + CAST(floor({_u('k', 'nc2')} * 6) AS INTEGER) END AS n_conn,
               CASE WHEN {_u('k', 'nm')} < 0.85 THEN 1 WHEN {_u('k', 'nm')} < 0.97 THEN 2 ELSE 3 END AS n_meet
        FROM (SELECT project_id, unnest(range(per_day * {days})) AS i, hash(project_id, i, 's') AS k FROM proj)
        ORDER BY created_at""")
    con.execute(f"""CREATE TEMP TABLE g_meet AS
        SELECT project_id, session_id, meeting_index, n_conn, km,
               created_at + meeting_index * 7200000 AS m_created,
               created_at + meeting_index * 7200000 + CAST((3 + 87 * pow({_u('km', 'dur')}, 2)) * 60000 AS BIGINT)
                   AS m_ended,
               'm-' || md5(session_id || '/' || meeting_index) AS meeting_id
        FROM (SELECT *, hash(k, meeting_index) AS km
              FROM (SELECT *, unnest(range(n_meet)) AS meeting_index FROM g_sess))""")
    # Connection 0 spans the whole meeting; the others join within 2 minutes and may leave early.
    con.execute(f"""CREATE TEMP TABLE g_conn AS
        SELECT m.project_id, m.session_id, m.meeting_index, ci, kc,
               'c-' || md5(m.session_id || '/' || m.meeting_index || '/' || ci) AS connection_id,
               CASE WHEN ci = 0 THEN m_created ELSE m_created + CAST({_u('kc', 'jo')} * 120000 AS BIGINT) END
                   AS created_at,
               CASE WHEN ci = 0 OR {_u('kc', 'early')} < 0.7 THEN m_ended
                    ELSE m_ended - CAST({_u('kc', 'le')} * (m_ended - m_created - 130000) AS BIGINT) END AS ended_at,
               CAST(floor({_u('kc', 'slot')} * {spec.catalogue_slots}) AS INTEGER) AS slot
        FROM (SELECT *, hash(km, ci) AS kc FROM (SELECT *, unnest(range(n_conn)) AS ci FROM g_meet)) m""")
    con.execute("""INSERT INTO connections (project_id, session_id, meeting_index, connection_id, created_at,
            destroyed_at, ended_at, reason, sdk_type, sdk_version, browser, browser_version, country, region,
            city, guid, os, device_model, user_agent)
        SELECT project_id, session_id, meeting_index, connection_id, created_at, ended_at, ended_at,
               'clientDisconnected', c.sdk_type, c.sdk_version, c.browser, c.browser_version, c.country, c.region,
               c.city, 'g-' || substr(md5(connection_id), 1, 16),
               CASE WHEN c.sdk_type = 'IOS' THEN 'iOS' WHEN c.sdk_type = 'ANDROID' THEN 'Android' ELSE 'Windows' END,
               c.device_model, c.user_agent
        FROM g_conn g JOIN cat c USING (slot) ORDER BY g.created_at""")
    # Publishers: 95 % of connections publish a camera stream (10 % of those audio-only), 8 % also share a screen.
    con.execute(f"""CREATE TEMP TABLE g_pub AS
        SELECT project_id, session_id, meeting_index, connection_id, kp, pi,
               's-' || md5(connection_id || '/' || pi) AS stream_id,
               created_at + 1000 + CAST({_u('kp', 'pc')} * 20000 AS BIGINT) + pi * 60000 AS created_at,
               ended_at - CAST({_u('kp', 'pe')} * 5000 AS BIGINT) AS ended_at,
               CASE WHEN pi = 1 THEN 'screen' WHEN {_u('kp', 'av')} < 0.1 THEN NULL ELSE 'camera' END AS video_type
        FROM (SELECT *, hash(kc, pi) AS kp
              FROM (SELECT *, unnest(CASE WHEN {_u('kc', 'pub')} >= 0.95 THEN []
                                          WHEN {_u('kc', 'scr')} < 0.08 THEN [0, 1] ELSE [0] END) AS pi
                    FROM g_conn))""")
    con.execute("DELETE FROM g_pub WHERE ended_at <= created_at + 1000")
    # the derived session tables' last column is the DuckDB store's write_seq (schema.WRITE_SEQ_COLUMNS): 0, as a
    # migrated file's rows (written before any step)
    con.execute("""INSERT INTO publishers
        SELECT project_id, session_id, meeting_index, stream_id, connection_id, created_at, ended_at, ended_at,
               (ended_at - created_at) / 60000.0, video_type, TRUE, video_type IS NOT NULL,
               'pub-' || substr(connection_id, 3, 8), 'clientDisconnected', 0 AS write_seq
        FROM g_pub ORDER BY created_at""")
    # Subscribers: every other connection of the meeting subscribes to every stream, while both are there.
    con.execute(f"""CREATE TEMP TABLE g_sub AS
        SELECT project_id, session_id, meeting_index, stream_id, connection_id, ks,
               'sub-' || md5(stream_id || '/' || connection_id) AS subscriber_id,
               greatest(p_created, c_created) + 500 + CAST({_u('ks', 'sc')} * 3000 AS BIGINT) AS created_at,
               least(p_ended, c_ended) - CAST({_u('ks', 'se')} * 2000 AS BIGINT) AS ended_at
        FROM (SELECT p.project_id, p.session_id, p.meeting_index, p.stream_id, c.connection_id,
                     hash(p.kp, c.kc) AS ks, p.created_at AS p_created, c.created_at AS c_created,
                     p.ended_at AS p_ended, c.ended_at AS c_ended
              FROM g_pub p JOIN g_conn c ON c.session_id = p.session_id AND c.meeting_index = p.meeting_index
                   AND c.connection_id <> p.connection_id)""")
    con.execute("DELETE FROM g_sub WHERE ended_at <= created_at + 1000")
    con.execute("""INSERT INTO subscribers
        SELECT project_id, session_id, meeting_index, subscriber_id, stream_id, connection_id, created_at,
               ended_at, ended_at, (ended_at - created_at) / 60000.0, 0 AS write_seq
        FROM g_sub ORDER BY created_at""")
    # Meetings and sessions from their children.
    con.execute(f"""INSERT INTO meetings
        SELECT m.project_id, m.session_id, m.meeting_index, m.meeting_id, m.m_created, m.m_ended,
               coalesce(p.minutes, 0), coalesce(s.minutes, 0), m.n_conn, coalesce(p.n, 0), coalesce(s.n, 0),
               m.n_conn, coalesce(p.n, 0), coalesce(s.n, 0),
               {_tier_sql("coalesce(p.n, 0)", "c.minutes")}, 0 AS write_seq
        FROM g_meet m
        JOIN (SELECT session_id, meeting_index, sum(ended_at - created_at) / 60000.0 AS minutes
              FROM g_conn GROUP BY ALL) c USING (session_id, meeting_index)
        LEFT JOIN (SELECT session_id, meeting_index, count(*) AS n, sum(ended_at - created_at) / 60000.0 AS minutes
                   FROM g_pub GROUP BY ALL) p USING (session_id, meeting_index)
        LEFT JOIN (SELECT session_id, meeting_index, count(*) AS n, sum(ended_at - created_at) / 60000.0 AS minutes
                   FROM g_sub GROUP BY ALL) s USING (session_id, meeting_index)
        ORDER BY m.m_created""")
    tiers = ", ".join(f"sum({t.column})" for t in TIERS)
    con.execute(f"""INSERT INTO sessions
        SELECT m.project_id, m.session_id,
               CASE WHEN any_value(g.n_conn) <= 2 AND any_value({_u('g.k', 'mm')}) < 0.15 THEN 'relayed'
                    ELSE 'routed' END,
               min(m.created_at), max(m.destroyed_at), count(*), sum(m.publisher_minutes),
               sum(m.subscriber_minutes), {tiers}, 0 AS write_seq
        FROM meetings m JOIN g_sess g USING (session_id)
        GROUP BY m.project_id, m.session_id ORDER BY min(m.created_at)""")
    con.execute("""INSERT INTO session_bounds (project_id, session_id, first_ts, last_ts)
        SELECT project_id, session_id, created_at, last_seen_at FROM sessions ORDER BY created_at""")
    con.execute("DROP TABLE g_meet")
    con.execute("DROP TABLE g_conn")


def _generate_stats(con: duckdb.DuckDBPyConnection, spec: Spec, log: Any) -> None:
    """stats_samples, one chunk per LA day of session creation, each in timestamp order."""
    k = spec.stats_per_entity
    lo, _ = session_window(spec)
    first_day = la_day(lo)
    # Entities with their sample count: at most one sample per 30 s of lifetime, at most k.
    con.execute(f"""CREATE TEMP TABLE g_ent AS
        SELECT 'pub' AS side, project_id, session_id, stream_id, NULL AS subscriber_id, connection_id, kp AS ke,
               created_at, ended_at, video_type, CAST(floor((created_at - {lo}) / {DAY_MS}) AS INTEGER) AS chunk
        FROM g_pub
        UNION ALL
        SELECT 'sub', project_id, session_id, stream_id, subscriber_id, connection_id, ks, created_at, ended_at,
               NULL, CAST(floor((created_at - {lo}) / {DAY_MS}) AS INTEGER)
        FROM g_sub""")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE g_ent AS
        SELECT *, greatest(1, least({k}, CAST((ended_at - created_at) // 30000 AS INTEGER))) AS n
        FROM g_ent""")
    chunks = [int(r[0]) for r in con.execute("SELECT DISTINCT chunk FROM g_ent ORDER BY 1").fetchall()]
    names = ("project_id, event_id, type, session_id, ts, day, received_at, seq, connection_id, stream_id, "
             "subscriber_id, has_audio, has_video, audio_bitrate_kbps, video_bitrate_kbps, audio_latency_ms, "
             "video_latency_ms, audio_packet_loss, video_packet_loss, video_resolution, audio_codec, video_codec, "
             "subscribe_to_audio, subscribe_to_video, jitter_ms, round_trip_ms, frame_rate")
    for chunk in chunks:
        # Samples of the chunk in timestamp order (a table scan keeps that order for the INSERT below).
        con.execute(f"""CREATE OR REPLACE TEMP TABLE g_chunk AS
            SELECT side, project_id, session_id, stream_id, subscriber_id, connection_id, ke, video_type, j,
                   created_at + CAST((j + 0.5) * (ended_at - created_at) / n AS BIGINT) AS ts
            FROM (SELECT *, unnest(range(n)) AS j FROM g_ent WHERE chunk = {chunk})
            ORDER BY ts""")
        con.execute(f"""INSERT INTO raw.stats_samples ({names})
            SELECT project_id,
                   (CASE side WHEN 'pub' THEN 'ps-' ELSE 'ss-' END) || substr(coalesce(subscriber_id, stream_id), 3, 16)
                       || '-' || j,
                   CASE side WHEN 'pub' THEN 'publisherStats' ELSE 'subscriberStats' END,
                   session_id, ts, {_la_day("ts")}, ts + 150, {chunk + 1}, connection_id, stream_id, subscriber_id,
                   TRUE, video_type IS NOT NULL OR side = 'sub',
                   28 + 20 * bits(h1, 0),
                   CASE WHEN side = 'sub' OR video_type IS NOT NULL THEN 150 + 1800 * pow(bits(h1, 1), 1.5) END,
                   20 + 300 * pow(bits(h1, 2), 3),
                   CASE WHEN side = 'sub' OR video_type IS NOT NULL THEN 30 + 600 * pow(bits(h1, 3), 3) END,
                   0.05 * pow(bits(h2, 0), 4),
                   0.08 * pow(bits(h2, 1), 4),
                   CASE WHEN bits(ke, 0) < 0.5 THEN '1280x720' WHEN bits(ke, 0) < 0.8 THEN '640x480'
                        ELSE '1920x1080' END,
                   'opus', CASE WHEN bits(ke, 1) < 0.7 THEN 'VP8' ELSE 'H264' END,
                   CASE WHEN side = 'sub' THEN TRUE END,
                   CASE WHEN side = 'sub' THEN bits(h2, 2) < 0.95 END,
                   2 + 30 * bits(h2, 3), 20 + 200 * bits(h3, 0), 15 + 15 * bits(h3, 1)
            FROM (SELECT *, hash(ke, j) AS h1, hash(hash(ke, j)) AS h2, hash(hash(hash(ke, j))) AS h3
                  FROM g_chunk)""")
        if chunk % 7 == 6:
            log(f"  build: stats day {first_day + timedelta(days=chunk)} done")
    con.execute("DROP TABLE g_ent")
    con.execute("DROP TABLE g_chunk")
