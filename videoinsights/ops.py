"""Administrative operations (projects, applications, rebuild, purge).

Each takes the store and plain JSON-able arguments and returns JSON-able
data, so the CLI can run it directly on the database file, or, while a
server owns that file, ask the server to run it on its writer thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from videoinsights.accounts.ops import ACCOUNT_OPS
from videoinsights.alerts.rules import ALERT_OPS
from videoinsights.auth.key_ops import KEY_OPS
from videoinsights.auth.tokens import new_api_secret, new_application_id, new_callback_token, new_project_id
from videoinsights.settings import Settings, load_settings
from videoinsights.store.base import Project, Store

# Imported where they are used: derivation, purging and key parsing are heavy imports (pyarrow.compute,
# cryptography) that every CLI command would otherwise pay at start-up (`projects create`, `--help`).


class OpError(ValueError):
    """The operation was refused; the message says why."""


def project_json(p: Project, *, secrets: bool = True) -> dict[str, Any]:
    data: dict[str, Any] = {
        "projectId": int(p.project_id) if p.kind == "project" else p.project_id,
        "kind": p.kind,
        "name": p.name,
        "advancedInsights": p.advanced_insights,
        "createdAt": p.created_at,
    }
    if p.kind == "application":
        data["applicationId"] = p.project_id
    if secrets:
        if p.api_secret:
            data["apiSecret"] = p.api_secret
        data["callbackToken"] = p.callback_token
    return data


def create_project(store: Store, name: str, advanced_insights: bool = False, project_id: str | None = None) -> dict:
    if project_id is not None and not (project_id.isdigit() and len(project_id) <= 12):
        raise OpError("a project id is a number (the API key)")
    for _ in range(20):
        pid = project_id or new_project_id()
        if store.get_project(pid) is None:
            break
        if project_id:
            raise OpError(f"project {project_id} already exists")
    project = Project(pid, "project", name, new_api_secret(), None, new_callback_token(), advanced_insights,
                      int(time.time() * 1000))
    store.insert_project(project)
    return project_json(project)


def create_application(store: Store, name: str, public_key_pem: str, advanced_insights: bool = False) -> dict:
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    try:
        load_pem_public_key(public_key_pem.encode())
    except ValueError as exc:
        raise OpError(f"not a PEM public key: {exc}") from None
    project = Project(new_application_id(), "application", name, None, public_key_pem, new_callback_token(),
                      advanced_insights, int(time.time() * 1000))
    store.insert_project(project)
    return project_json(project)


def list_projects(store: Store) -> list[dict]:
    return [project_json(p, secrets=False) for p in store.list_projects()]


def rotate_secret(store: Store, project_id: str) -> dict:
    project = store.get_project(project_id)
    if project is None or project.kind != "project":
        raise OpError(f"no project {project_id}")
    secret = new_api_secret()
    store.update_project_secret(project_id, secret)
    return {"projectId": int(project_id), "apiSecret": secret}


def get_secret(store: Store, project_id: str) -> dict:
    project = store.get_project(project_id)
    if project is None or project.kind != "project" or not project.api_secret:
        raise OpError(f"no project {project_id}")
    return {"projectId": int(project_id), "apiSecret": project.api_secret}


def rebuild(store: Store, progress: Callable[[int, int], None] | None = None, mark_only: bool = False) -> dict:
    """`progress` as derive.engine.Progress (spelled out: the admin endpoint resolves these hints at run time)."""
    started = time.monotonic()
    if mark_only:  # running `videoinsights derive` processes re-derive them (a ClickHouse store)
        return {"sessions": store.mark_all_dirty(), "seconds": round(time.monotonic() - started, 3),
                "markedOnly": True}
    # Thresholds and quality_scoring from the environment (VIDEOINSIGHTS_QUALITY_*), like the server's.
    from videoinsights.derive.engine import derive_all
    from videoinsights.derive.quality import QualityThresholds

    settings = load_settings()
    sessions = derive_all(store, progress=progress, quality=QualityThresholds.from_settings(settings),
                          scoring=settings.quality_scoring)
    return {"sessions": sessions, "seconds": round(time.monotonic() - started, 3)}


def purge(store: Store, raw_retention_days: int, daily_retention_days: int, monthly_retention_months: int,
          alert_delivery_retention_days: int = Settings.alert_delivery_retention_days) -> dict:
    """Apply the retention windows now (the server also does it hourly)."""
    retention = Settings(raw_retention_days=raw_retention_days, daily_retention_days=daily_retention_days,
                         monthly_retention_months=monthly_retention_months,
                         alert_delivery_retention_days=alert_delivery_retention_days)
    from videoinsights.store.writer import purge_expired

    return {table: int(n) for table, n in purge_expired(store, retention).items()}


# A pass of this many of bench_api's sessions moves ~600,000 samples (a few seconds on 2 cores).
MAX_COMPACT_SESSIONS = 20_000


def compact(store: Store, sessions: int = 1000, settle_s: int = Settings.stats_compaction_settle_s) -> dict:
    """One pass of stats compaction (store/duckdb/compaction.py): the samples of at most `sessions` sessions quiet
    for `settle_s` seconds moved into session order. `videoinsights compact` calls it until `more` is false, so that
    a server running it (on its writer thread) holds ingest for one pass at a time, not for the whole store."""
    if not 1 <= sessions <= MAX_COMPACT_SESSIONS:
        raise OpError(f"sessions per pass must be between 1 and {MAX_COMPACT_SESSIONS:,}")
    if settle_s < 0:
        raise OpError("settle_s must be 0 or more")
    started = time.monotonic()
    samples, more = store.compact_stats(int((time.time() - settle_s) * 1000), sessions)
    return {"samples": samples, "more": more, "seconds": round(time.monotonic() - started, 3)}


OPS = {
    "create_project": create_project,
    "create_application": create_application,
    "list_projects": list_projects,
    "rotate_secret": rotate_secret,
    "get_secret": get_secret,
    "rebuild": rebuild,
    "purge": purge,
    "compact": compact,
    **ACCOUNT_OPS,
    **KEY_OPS,
    **ALERT_OPS,
}

