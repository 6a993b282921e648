"""Side-by-side benchmark of Heron and MLflow on this machine, in one run.

Each measurement runs a driver (bench/drivers/) in a fresh interpreter of the project it
measures: Heron in this interpreter, MLflow in its own (``--mlflow-python``, else
``HERON_BENCH_MLFLOW_PYTHON``, else bench/.venv-mlflow, built on a full run when missing).
Every row runs on SQLite and on PostgreSQL (127.0.0.1:5432 unless HERON_BENCH_POSTGRES_URL).
The table goes to stdout, bench/results/<UTC time>.md, latest.md and a JSON file of raw
figures; a full run also refreshes docs/performance.md. ``--smoke`` runs tiny sizes in
well under a minute (CI), without MLflow unless one is given, and exits non-zero if a Heron
measurement crashes. Numbers are reported, not asserted (only crashes fail).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import docs
import harness
from context import FULL, SMOKE, Context
from rows import Row, markdown
from scenarios import concurrency, history, imports, ingest, limit, loop, search

BENCH = Path(__file__).parent
RESULTS = BENCH / "results"
VENV = BENCH / ".venv-mlflow"
MLFLOW_REQUIREMENTS = ["mlflow==3.17.2", "psycopg[binary]"]
# Row 9 reads row 3's figures, so it runs last.
SCENARIOS = {s.NAME: s for s in (imports, loop, ingest, history, search, concurrency, limit)}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, for CI (< 60 s)")
    parser.add_argument(
        "--only", nargs="+", choices=sorted(SCENARIOS), metavar="NAME", help="run these groups"
    )
    parser.add_argument(
        "--backends", help="comma-separated: sqlite,postgresql (default: both when reachable)"
    )
    parser.add_argument("--mlflow-python", help="interpreter with mlflow==3.17.2 and psycopg")
    parser.add_argument("--no-mlflow", action="store_true", help="measure Heron only")
    parser.add_argument(
        "--write-docs", action="store_true", help="refresh docs/performance.md (full runs do)"
    )
    return parser.parse_args(argv)


def mlflow_python(args: argparse.Namespace) -> str | None:
    """The MLflow interpreter; a full run builds bench/.venv-mlflow when none is given."""
    if args.no_mlflow:
        return None
    given = args.mlflow_python or os.environ.get("HERON_BENCH_MLFLOW_PYTHON")
    if given:
        return given
    python = VENV / "bin" / "python"
    if python.exists():
        return str(python)
    if args.smoke:
        print("MLflow column skipped: no MLflow interpreter (--mlflow-python)", file=sys.stderr)
        return None
    print(f"Building {VENV} with {' '.join(MLFLOW_REQUIREMENTS)} ...", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", *MLFLOW_REQUIREMENTS], check=True)
    return str(python)


def backends(args: argparse.Namespace, pg_admin: str | None) -> list[str]:
    wanted = args.backends.split(",") if args.backends else ["sqlite", "postgresql"]
    unknown = set(wanted) - {"sqlite", "postgresql"}
    if unknown:
        raise SystemExit(f"unknown backend(s): {', '.join(sorted(unknown))}")
    if "postgresql" in wanted and pg_admin is None:
        if args.backends:
            raise SystemExit("PostgreSQL is not reachable (set HERON_BENCH_POSTGRES_URL)")
        print("PostgreSQL not reachable: SQLite only", file=sys.stderr)
        wanted.remove("postgresql")
    return wanted


def measure(ctx: Context, names: list[str]) -> list[Row]:
    rows: list[Row] = []
    for name in names:
        started = time.perf_counter()
        print(f"== {name}", file=sys.stderr, flush=True)
        try:
            rows.extend(SCENARIOS[name].run(ctx))
        except KeyboardInterrupt:
            ctx.failures.append(f"interrupted during {name}: the table is partial")
            break
        finally:
            ctx.raw.setdefault("durations_s", {})[name] = time.perf_counter() - started
            print(f"   {name}: {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
    return rows


def write_results(text: str, payload: dict, smoke: bool) -> Path:
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    suffix = "-smoke" if smoke else ""  # smoke results are gitignored
    for name in (f"{stamp}{suffix}", f"latest{suffix}"):
        (RESULTS / f"{name}.md").write_text(text)
        (RESULTS / f"{name}.json").write_text(json.dumps(payload, indent=2, default=str) + "\n")
    return RESULTS / f"{stamp}{suffix}.md"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    pg_admin = harness.postgres_url()
    names = args.only or list(SCENARIOS)
    names = [n for n in SCENARIOS if n in names]
    with tempfile.TemporaryDirectory(prefix="heron-bench-") as work:
        ctx = Context(
            heron_python=sys.executable,
            mlflow_python=mlflow_python(args),
            backends=backends(args, pg_admin),
            sizes=SMOKE if args.smoke else FULL,
            work=Path(work),
            pg_admin=pg_admin,
        )
        try:
            rows = measure(ctx, names)
        finally:
            if pg_admin:
                for name in ("heron_bench", "mlflow_bench", "raw_bench"):
                    harness.drop_database(pg_admin, name)
    elapsed = time.perf_counter() - started
    machine = docs.machine_facts(ctx)
    table = markdown(rows)
    kind = "smoke" if args.smoke else "full"
    text = docs.results_page(table, machine, kind, elapsed)
    print(table)
    payload = {
        "kind": kind,
        "elapsed_s": elapsed,
        "machine": machine,
        "sizes": ctx.sizes.__dict__,
        "rows": [row.to_json() for row in rows],
        "figures": ctx.figures,
        "raw": ctx.raw,
        "failures": ctx.failures,
    }
    path = write_results(text, payload, args.smoke)
    print(f"\nwritten to {path} ({elapsed:.0f} s)", file=sys.stderr)
    if args.write_docs or (not args.smoke and not args.only):
        docs.write_performance_doc(table, machine, elapsed)
        print("refreshed docs/performance.md", file=sys.stderr)
    if ctx.failures:
        print("Heron measurements crashed:\n  " + "\n  ".join(ctx.failures), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
