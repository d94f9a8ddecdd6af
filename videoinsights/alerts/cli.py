"""`videoinsights alerts ...`: create, list and delete alert rules, and show the webhook delivery log.

Like every admin command they run on the file, or through a running server
that owns it (see control.py); a running server picks new rules up at its next pass.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from videoinsights.alerts.rules import DIRECTIONS, METRICS

RunOp = Callable[..., Any]


def _show(data: Any, as_json: bool, text: str) -> None:
    print(json.dumps(data) if as_json else text)


def _describe(r: dict[str, Any]) -> str:
    filters = " ".join(f"{k}={','.join(v)}" for k, v in r["filters"].items() if v) or "all traffic"
    sign = ">" if r["direction"] == "above" else "<"
    if r["metric"] == "meeting_ended":
        return f"{r['id']}\tmeeting_ended\tevery ended meeting\t{r['webhook']}"
    metric = f"{r['metric']}({r['issueType']})" if r.get("issueType") else r["metric"]
    return (f"{r['id']}\t{r['state']}\t{metric} {sign} {r['threshold']:g} over {r['windowSeconds']}s"
            f" (quiet {r['quietSeconds']}s; {filters})\t{r['webhook']}")


def add_alert_commands(sub: Any, command: Callable[..., argparse.ArgumentParser], run_op: RunOp) -> None:
    """Add the `alerts` command group to the main parser."""
    alerts = sub.add_parser("alerts", help="Manage alert rules and their webhooks (docs/alerts.md).")
    group = alerts.add_subparsers(dest="action", required=True)

    def create(args: argparse.Namespace, settings: Any) -> int:
        result = run_op(settings.store_url, "create_alert", project_id=str(args.project), metric=args.metric,
                        threshold=args.threshold, webhook=args.webhook, window=args.window, quiet=args.quiet,
                        direction=args.direction, countries=args.country or [], sdks=args.sdk or [],
                        browsers=args.browser or [], issue_type=args.issue)
        _show(result, args.json, f"{_describe(result)}\n  signing secret: {result['secret']}")
        return 0

    def list_rules(args: argparse.Namespace, settings: Any) -> int:
        result = run_op(settings.store_url, "list_alerts", project_id=str(args.project))
        _show(result, args.json, "\n".join(_describe(r) for r in result) or "no alert rules")
        return 0

    def delete(args: argparse.Namespace, settings: Any) -> int:
        result = run_op(settings.store_url, "delete_alert", rule_id=args.rule_id)
        _show(result, args.json, f"alert rule {result['id']} deleted")
        return 0

    def deliveries(args: argparse.Namespace, settings: Any) -> int:
        result = run_op(settings.store_url, "list_deliveries", project_id=str(args.project), limit=args.limit)
        lines = [f"{d['id']}\t{d['ruleId']}\t{d['event']}\t{d['status']}\t{d['attempts']} tries\t"
                 f"{d['httpStatus'] or '-'}\t{d['lastError'] or ''}" for d in result]
        _show(result, args.json, "\n".join(lines) or "no deliveries")
        return 0

    p = command("create", create, "Create an alert rule with a webhook.", group)
    p.add_argument("--project", required=True)
    p.add_argument("--metric", required=True, choices=METRICS)
    p.add_argument("--threshold", type=float, help="e.g. 0.2 for a 20%% failure rate (not for meeting_ended)")
    p.add_argument("--direction", choices=DIRECTIONS, default="above", help="fire above (default) or below it")
    p.add_argument("--window", default="15m", help="sliding window, e.g. 30s, 15m, 1h (default 15m)")
    p.add_argument("--quiet", default="30m", help="once fired, stay firing and silent this long (default 30m)")
    p.add_argument("--webhook", required=True, metavar="URL", help="http(s) URL that receives signed JSON")
    p.add_argument("--country", action="append", help="only this country (ISO code; repeat)")
    p.add_argument("--sdk", action="append", help="only this SDK type, e.g. JS (repeat)")
    p.add_argument("--browser", action="append", help="only this browser, e.g. CHROME (repeat)")
    p.add_argument("--issue", metavar="TYPE", help="issue_share: the issue type, e.g. high_packet_loss")
    p.add_argument("--json", action="store_true")
    p = command("list", list_rules, "List a project's alert rules (with their state and secret).", group)
    p.add_argument("--project", required=True)
    p.add_argument("--json", action="store_true")
    p = command("delete", delete, "Delete an alert rule.", group)
    p.add_argument("rule_id")
    p.add_argument("--json", action="store_true")
    p = command("deliveries", deliveries, "Show a project's latest webhook deliveries.", group)
    p.add_argument("--project", required=True)
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--json", action="store_true")
