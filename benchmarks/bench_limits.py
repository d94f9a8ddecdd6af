"""How fast hostile GraphQL documents are answered (issue 11, findings 2, 3 and 7).

One `videoinsights serve` over an empty project; each case is sent `--runs` times over HTTP,
every time with a different trailing comment so that neither the document cache nor the response
cache can answer it, beside a small normal query (the baseline, sent the same way). Prints the
median answer time, the error code, and the server's RSS after all the cases.

    .venv/bin/python -m benchmarks.bench_limits --runs 10
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from benchmarks.common import ServerProcess, create_project
from videoinsights.auth.tokens import issue_project_token


def doubling(levels: int, on: str, leaf: str, names: tuple[str, ...] = ("F",)) -> str:
    defs = []
    for i in range(levels):
        spreads = " ".join(f"...{n}{i + 1} ...{n}{i + 1}" for n in names)
        defs += [f"fragment {n}{i} on {on} {{ {spreads} }}" for n in names]
    return "\n".join(defs + [f"fragment {n}{levels} on {on} {{ {leaf} }}" for n in names])


def cases(pid: str) -> dict[str, str]:
    project = f"project(projectId: {pid})"
    return {
        "normal (baseline)": f"{{ {project} {{ projectData(start: 0) "
                             "{ resources { usage { streamedPublishedMinutes } } } } }",
        "24-level doubling fragment": f"{{ {project} {{ projectData(start: 0) {{ resources {{ ...F0 }} }} }} }}\n"
                                      + doubling(24, "Metric", "usage { streamedPublishedMinutes }"),
        "doubling reads (2^25)": f"{{ {project} {{ ...F0 ...G0 }} }}\n"
                                 + doubling(24, "Project", "projectData(start: 0) { totalCount }", ("F", "G")),
        "51 grouped projectData": f"{{ {project} {{ "
                                  + " ".join(f"a{i}: projectData(start: 0, groupBy: COUNTRY) {{ totalCount }}"
                                             for i in range(51)) + " } }",
        "1,000 grouped projectData": f"{{ {project} {{ "
                                     + " ".join(f"a{i}: projectData(start: 0, groupBy: COUNTRY) {{ totalCount }}"
                                                for i in range(1000)) + " } }",
        "290 x one field": f"{{ {project} {{ " + "projectData(start: 0) { totalCount } " * 290 + "} }",
        "6 x 6 x 6 nested repeats": f"{{ {project} {{ sessionData {{ sessions(sessionIds: [\"a\"]) {{ "
                                    + ("resources { " + ("meetings { resources { " + "meetingId " * 6 + "} } ") * 6
                                       + "} ") * 6 + "} } } }",
        "2 MiB of aliases": f"{{ {project} {{ "
                            + " ".join(f"a{i}: projectData(start: 0) {{ totalCount }}" for i in range(50_000)) + " } }",
    }


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "limits.duckdb"
        creds = create_project(db)
        pid, secret = str(creds["projectId"]), creds["apiSecret"]
        server = ServerProcess(db)
        token: Callable[[], str] = lambda: issue_project_token(pid, secret, 300)  # noqa: E731
        try:
            with httpx.Client(base_url=server.url, timeout=120) as client:
                print(f"{'case':<30} {'bytes':>10} {'median ms':>10}  answer")
                for name, query in cases(pid).items():
                    times, answer = [], ""
                    for run in range(args.runs):
                        started = time.perf_counter()
                        body = client.post("/graphql", json={"query": f"{query}\n# run {run}"},
                                           headers={"X-OPENTOK-AUTH": token()}).json()
                        times.append((time.perf_counter() - started) * 1000)
                        errors = body.get("errors") or []
                        answer = f"error {errors[0]['errorCode']}" if errors else "data"
                    print(f"{name:<30} {len(query):>10,} {statistics.median(times):>10.1f}  {answer}")
            print(f"server RSS after the cases: {rss_mib(server.proc.pid):.0f} MiB")
        finally:
            server.stop()


if __name__ == "__main__":
    main()
