"""Every setting in one declarative table: name, type, default, help.

Read from the environment with the VIDEOINSIGHTS_ prefix; CLI flags override.
docs/configuration.md lists the same table (a test keeps them in step).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from typing import Any


class SettingsError(ValueError):
    """A setting has a value of the wrong type; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    db: str = "./videoinsights.duckdb"
    # duckdb:///file, chdb:///dir[?database=name], clickhouse://user:pass@host:8123/db; empty = duckdb:// of `db`
    store: str = ""
    host: str = "127.0.0.1"
    port: int = 8080
    # comma-separated origins allowed to call /graphql from a browser; empty = none
    cors_origins: str = ""
    # ingestion
    max_body_bytes: int = 10 * 1024 * 1024
    max_events_per_request: int = 10_000
    max_future_skew_s: int = 300
    # request size limits of the other routes
    max_graphql_body_bytes: int = 1024 * 1024
    max_header_bytes: int = 64 * 1024
    # token checks
    clock_skew_s: int = 60
    max_token_lifetime_s: int = 86_400
    # when set, GET /metrics requires "Authorization: Bearer <metrics_token>"
    metrics_token: str = ""
    # derivation
    derive_interval_ms: int = 250
    derive_batch_sessions: int = 1000
    # under a backlog, batches grow while a pipeline step (start one batch, write the one before) stays under this
    derive_step_ms: int = 4000
    # while a derive step's write or fold runs, new sessions' rows are previewed this often (0: never)
    derive_preview_ms: int = 500
    # benchmarks: a JSON line per derive step and ingest commit in this file (derive/trace.py); empty: off
    derive_trace_path: str = ""
    # worker processes for the pure part of derivation (0 = on the derive thread)
    derive_processes: int = 1
    # DuckDB: seconds after a session's last event before its stats samples are moved into session order (0 = never)
    stats_compaction_settle_s: int = 600
    # off: this server only ingests and answers; `videoinsights derive --shard K/N` processes derive (ClickHouse)
    derive_in_server: bool = True
    # off: this server never evaluates alert rules (several `serve` processes on one store: exactly one evaluates)
    alerts_in_server: bool = True
    # retention (days / months)
    raw_retention_days: int = 21
    daily_retention_days: int = 90
    minute_retention_hours: int = 48
    monthly_retention_months: int = 12
    purge_interval_s: int = 3600
    # WAL checkpoints: rows appended since the last one stay in DuckDB's memory until it runs
    checkpoint_interval_s: int = 60
    wal_autocheckpoint_mb: int = 64
    derived_wal_checkpoint_mb: int = 512
    duckdb_memory_limit_mb: int = 0
    duckdb_threads: int = 0
    # MiB of live sessions' lifecycle events the derive step keeps between steps (0: off)
    derive_event_cache_mb: int = 128
    # seconds a live session's sample quality may wait while its next derivation is already due (0: never)
    quality_refresh_s: int = 30
    # seconds between folds of the stats samples while sessions wait to be derived (0: at every absorb)
    stats_fold_s: float = 5.0
    # seconds between passes that score the sessions derive steps left unscored (0: each step scores its own)
    quality_pass_s: float = 30.0
    # off: no quality scores or issues (docs/quality.md)
    quality_scoring: bool = True
    # threads answering GraphQL queries at once (0: one per core and one more)
    api_threads: int = 0
    # GraphQL limits
    max_query_nodes: int = 500_000
    max_query_reads: int = 50
    max_query_bytes: int = 100_000
    max_query_tokens: int = 3_000
    query_cache_chars: int = 1_000_000
    # log level of the server
    log_level: str = "info"
    # server log format: text (for a terminal) or json (one object per line, for log shippers)
    log_format: str = "text"
    # distinct projects labelled by id in /metrics; later ones are counted as project="other"
    metrics_max_projects: int = 100
    # proxies whose X-Forwarded-For is believed (comma-separated addresses or networks); empty = none
    trusted_proxies: str = ""
    # rate limits: requests per window per key (0 = off)
    rate_limit_window_s: int = 30
    rate_limit_per_project: int = 6000
    rate_limit_per_address: int = 6000
    rate_limit_per_client_key: int = 3000
    rate_limit_per_client_address: int = 300
    # geolocation of browser traffic: a GeoLite2/DB-IP .mmdb path; empty = bundled country data; "off"
    geoip_db: str = ""
    # alerts (docs/alerts.md): evaluation interval and webhook delivery
    alert_eval_interval_ms: int = 5000
    webhook_allow_private: bool = False
    webhook_max_attempts: int = 5
    webhook_backoff_ms: int = 2000
    webhook_timeout_s: int = 10
    alert_delivery_retention_days: int = 30
    # quality issue thresholds (docs/quality.md has the sources); a sample offends at or beyond them
    quality_packet_loss: float = 0.03
    quality_rtt_ms: float = 300.0
    quality_jitter_ms: float = 30.0
    quality_min_bpp: float = 0.02
    quality_min_fps: float = 15.0
    quality_freezes: int = 1
    quality_min_samples: int = 2
    quality_failed_attempts: int = 3
    quality_reconnect_s: int = 60
    quality_one_way_overlap_s: int = 60

    @property
    def store_url(self) -> str:
        """The store to open: `store` when set, else the DuckDB file `db`."""
        return self.store or f"duckdb://{os.path.abspath(self.db)}"


HELP: dict[str, str] = {
    "db": "Path of the DuckDB database file (used when `store` is empty).",
    "store": "The store, as a URL: duckdb:///abs/file.duckdb, chdb:///abs/dir[?database=name] (ClickHouse's engine "
             "in-process), clickhouse://user:pass@host:8123/db (a ClickHouse server; clickhouses:// for HTTPS). "
             "Empty: duckdb:// of `db`.",
    "host": "Address the server listens on.",
    "port": "Port the server listens on.",
    "cors_origins": "Comma-separated browser origins allowed to call /graphql and /v1/events (CORS). Empty: none.",
    "max_body_bytes": "Largest accepted request body on ingestion endpoints (413 above).",
    "max_events_per_request": "Most events in one POST /v1/events (413 above).",
    "max_future_skew_s": "Events timestamped further than this in the future are rejected.",
    "max_graphql_body_bytes": "Largest accepted POST /graphql body (413 above).",
    "max_header_bytes": "Largest accepted request line plus headers, in bytes (431 above).",
    "clock_skew_s": "Leeway for JWT exp/iat checks.",
    "max_token_lifetime_s": "Tokens whose exp is further than this past now or past their iat are refused (401, 1011).",
    "metrics_token": "When set, GET /metrics requires 'Authorization: Bearer <this token>'. Empty: /metrics is open.",
    "derive_interval_ms": "Longest wait of the derive thread between cycles when no commit wakes it.",
    "derive_batch_sessions": "Sessions derived per batch (one transaction); under a backlog, with worker processes, "
    "batches grow up to 2x this while each step stays under `derive_step_ms`.",
    "derive_step_ms": "Under a derivation backlog, batches grow while a pipeline step (read one batch, write the one "
    "before) takes less than this, and shrink above twice this: larger batches derive more sessions per second of "
    "CPU, shorter steps show sooner the changes of the sessions someone looks at and new sessions' rollups (new "
    "sessions themselves are previewed: `derive_preview_ms`; docs/architecture.md).",
    "derive_preview_ms": "While a derive step's write or fold runs (seconds under load), the DuckDB store's new "
    "sessions (first seen in commits not yet absorbed) are derived from their lifecycle events and their own rows "
    "written this often, in a transaction beside the step's: sessionData shows them before their first "
    "derivation, which replaces those rows and adds them to the projectData rollups a step or two later. With "
    "worker processes only. 0: off (docs/architecture.md).",
    "derive_trace_path": "Benchmarks only: append a JSON line per derive step (phase seconds, sessions picked and "
    "written), cycle, ingest commit and checkpoint to this file (benchmarks/bench_load.py --trace). Empty: off.",
    "derive_in_server": "Run the derive thread in the server. Off (`serve --no-derive`): only on a ClickHouse store, "
                        "where `videoinsights derive --shard K/N` processes derive instead.",
    "alerts_in_server": "Evaluate alert rules (and send their webhooks) in this server. Off (`serve --no-alerts`): "
                        "with several `serve` processes on one ClickHouse store, leave it on in exactly one, or every "
                        "process sends each webhook.",
    "derive_processes": "Worker processes that compute session derivations, beside the server's interpreter lock "
    "(0: on the derive thread).",
    "stats_compaction_settle_s": "DuckDB: seconds after a session's last event before the derive thread, when it has "
    "nothing to derive, moves the session's stats samples into session order, so that reading one session's samples "
    "skips every other session's (docs/architecture.md). 0: never.",
    "raw_retention_days": "Days raw events and session-level data are kept (Advanced Insights: 21), counted from a "
    "session's last event: a session with an event in the window keeps its raw events of every day.",
    "daily_retention_days": "Days daily rollups are kept (Insights: 90), and the hourly ones (HOURLY interval). A "
    "month with a day past it is final: no derivation changes its rows again (docs/derivation.md, Retention).",
    "minute_retention_hours": "Hours per-minute rollups are kept (MINUTE interval).",
    "monthly_retention_months": "Months monthly rollups are kept (Insights: 12).",
    "purge_interval_s": "Seconds between retention purges while serving, the first at start (with `serve --no-derive`: "
                        "in the `videoinsights derive` process of shard 0 instead).",
    "checkpoint_interval_s": "Seconds between WAL checkpoints while serving, taken under load too: appended rows "
    "stay in memory until a checkpoint writes them to the file. The writer checkpoints the raw file (<db>.raw), the "
    "derive thread the main file.",
    "wal_autocheckpoint_mb": "The writer also checkpoints the raw file whenever its WAL grows past this many MiB "
    "(bounds the memory of appended rows at high ingest rates). Each such checkpoint stalls ingest commits for "
    "~0.5-1 s under heavy ingest; larger values stall less often but longer, and hold more memory "
    "(docs/benchmarks.md).",
    "derived_wal_checkpoint_mb": "The derive thread also checkpoints the main file (derived rows) whenever its WAL "
    "grows past this many MiB, between its steps, instead of DuckDB inside a derive commit (every ~2 s at 10,000 "
    "events/s with 64). Larger: fewer steps held up by a checkpoint (fresher new sessions), but more memory and ~5% "
    "fewer derivations/s at 512 (docs/benchmarks.md). Reads of the indexed tables (sessionData's) wait for each "
    "checkpoint (1-3.6 s at 512 under load). DuckDB's own automatic checkpoint is set to twice the larger of "
    "this and wal_autocheckpoint_mb, so that it does not cut into a commit first (it checkpoints the CLI's commits).",
    "duckdb_memory_limit_mb": "DuckDB's memory limit in MiB (its cache of table blocks, appended rows, indexes, "
    "query state; larger queries spill to disk). 0: DuckDB's default, 80% of the machine's RAM. Keep it above the "
    "session_id indexes (about 22 bytes per stored event, held whole in memory): below, appends fail.",
    "duckdb_threads": "Threads DuckDB runs each statement on, the calling thread included. 0: DuckDB's default, "
    "one per core. A statement over a few thousand rows costs more CPU on two threads than on one (the work is "
    "partitioned and merged), so a small machine that also ingests may do more with 1 (docs/benchmarks.md).",
    "derive_event_cache_mb": "MiB of live sessions' lifecycle events (Arrow, ~370 bytes an event) the DuckDB store "
    "keeps between derive steps, so that a step reads only the commits since a session's last step instead of "
    "everything stored since its oldest session began (docs/architecture.md). 0: off.",
    "quality_refresh_s": "While a session keeps receiving events, the DuckDB store re-scores its samples (scores, "
    "sample issues and their measures in projectData) at most this often: a derivation written while newer events "
    "of its session already wait keeps the quality scored less than this many seconds before. The derivation after "
    "a session's last events always re-scores it. 0: at every derivation (docs/quality.md).",
    "stats_fold_s": "While sessions wait to be derived, the DuckDB store folds new stats samples into the stats "
    "rollups and their quality at most this often, and dirties their sessions then; lifecycle events (a new session, "
    "a connection, a stream) are taken at every derive step. Folding fewer, larger sets of samples costs less per "
    "sample, and a live session is derived for its samples about once per fold instead of for each one "
    "(docs/derivation.md). With no session waiting, or no new commit, samples are folded at once. 0: at every step.",
    "quality_pass_s": "While sessions are being derived, the DuckDB store scores their samples (scores, sample "
    "issues and their measures in projectData) in a pass of its own at most this often, instead of in every derive "
    "step: scoring costs mostly per statement, not per session (docs/quality.md). A session's quality then follows its "
    "other rows by up to this long under load, by one step when the server is idle; the pass after a session's last "
    "derivation scores it from its last rows, as a rebuild does (store/duckdb/quality_pass.py). 0: every derive step "
    "scores its sessions. ClickHouse stores score at every derivation.",
    "quality_scoring": "0: no quality at all: samples are not scored, sessions get no scores and no issues (the "
    "API's quality fields come back empty, score and issue alerts never fire): ~1.1x the session derivations "
    "a second under live load (docs/benchmarks.md). On again, a DuckDB store scores the samples left unscored at "
    "its next absorb and re-derives the sessions derived meanwhile; a ClickHouse store needs `videoinsights rebuild`.",
    "api_threads": "Threads that execute GraphQL queries at once; further queries wait for one. 0: one per core "
    "and one more (a slow query holds one while each core still has one). More threads than cores take turns at "
    "the interpreter lock: on 2 cores, Starlette's pool of 40 answered 12-17% fewer small uncached queries than "
    "3 (docs/benchmarks.md, \"Queries on a pool of their own\").",
    "max_query_nodes": "GraphQL queries estimated to return more result nodes are refused.",
    "max_query_reads": ("Most store reads one GraphQL query may make (collections and session lookups, two per "
                        "`quality`; 1014 above)."),
    "max_query_bytes": "Longest GraphQL query text in bytes, checked before parsing (1014 above).",
    "max_query_tokens": "Most GraphQL tokens in one query, checked while parsing (1014 above).",
    "query_cache_chars": "Query characters the parsed-document cache may hold (about 100 bytes of memory each).",
    "log_level": "Server log level (debug, info, warning, error).",
    "log_format": "Server log format: text, or json (one object per line on stdout, with an access line per request).",
    "metrics_max_projects": "Projects labelled by id in /metrics ingestion counters; more are counted as \"other\".",
    "trusted_proxies": "Comma-separated proxy addresses or networks whose X-Forwarded-For is trusted. Empty: none.",
    "rate_limit_window_s": "Window of the rate limits below, in seconds.",
    "rate_limit_per_project": "Requests per window per project key on /graphql and ingestion (429 above; 0: off).",
    "rate_limit_per_address": "Requests per window per client address on /graphql and ingestion (429 above; 0: off).",
    "rate_limit_per_client_key": "Requests per window per browser client key on /v1/events (429 above; 0: off).",
    "rate_limit_per_client_address": "Requests per window per address using a client key (429 above; 0: off).",
    "geoip_db": "GeoLite2 or DB-IP .mmdb (City or Country) locating browser traffic by address. Empty: the bundled "
                "country-only data (iptocc); off: no geolocation.",
    "alert_eval_interval_ms": "How often the server evaluates every alert rule on fresh data (milliseconds).",
    "webhook_allow_private": "1: alert webhooks may reach loopback, private and link-local addresses (off by default: "
                             "a rule must not reach the server's own network).",
    "webhook_max_attempts": "Tries per alert webhook before it is logged as failed (network errors, 429 and 5xx).",
    "webhook_backoff_ms": "Wait before the first retry of a webhook; doubled after each further failure.",
    "webhook_timeout_s": "Seconds one webhook try may take.",
    "alert_delivery_retention_days": "Days the alert delivery log (and the record of announced meetings) is kept.",
    "quality_packet_loss": "Packet-loss ratio (0..1) at or above which a sample offends (issue high_packet_loss).",
    "quality_rtt_ms": "Round-trip time, ms, at or above which a sample offends (issue high_rtt).",
    "quality_jitter_ms": "Jitter, ms, at or above which a sample offends (issue high_jitter).",
    "quality_min_bpp": "Video bits per pixel below which a sample offends (issue low_bitrate).",
    "quality_min_fps": "Video frame rate below which a sample offends (issue low_frame_rate).",
    "quality_freezes": "Freezes in one sample at or above which it offends (issue video_freeze).",
    "quality_min_samples": "Consecutive offending samples that make a sample issue.",
    "quality_failed_attempts": "Failed attempts of one kind in a session that make a failed_attempts issue.",
    "quality_reconnect_s": "A network drop followed by a new connection within this many seconds is a reconnect.",
    "quality_one_way_overlap_s": "Seconds another connection must share with an unwatched stream for one_way_media.",
}

ENV_PREFIX = "VIDEOINSIGHTS_"


def _coerce(name: str, raw: str, default: Any) -> Any:
    if isinstance(default, bool):
        return raw.strip().lower() in ("1", "true", "yes", "on")
    if isinstance(default, int):
        try:
            return int(raw)
        except ValueError:
            raise SettingsError(f"{ENV_PREFIX}{name.upper()} must be an integer, got {raw!r}") from None
    if isinstance(default, float):
        try:
            return float(raw)
        except ValueError:
            raise SettingsError(f"{ENV_PREFIX}{name.upper()} must be a number, got {raw!r}") from None
    return raw


def load_settings(env: dict[str, str] | None = None, **overrides: Any) -> Settings:
    """Defaults, then VIDEOINSIGHTS_* environment variables, then explicit overrides (CLI flags)."""
    env = os.environ if env is None else env
    base = Settings()
    values: dict[str, Any] = {}
    for f in fields(Settings):
        raw = env.get(ENV_PREFIX + f.name.upper())
        if raw is not None:
            values[f.name] = _coerce(f.name, raw, getattr(base, f.name))
    values.update({k: v for k, v in overrides.items() if v is not None})
    return replace(base, **values)
