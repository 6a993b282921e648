"""Side-by-side benchmark of Heron and MLflow on this machine, in one run.

Prints a markdown table (Heron, MLflow, MLflow / Heron) and writes it to bench/results/.
MLflow is measured when it is importable (``pip install mlflow``); otherwise its column
says "not installed". ``--smoke`` runs tiny sizes so CI keeps this script working.
This is not a pass/fail test: it reports numbers. The full suite arrives with issue 5.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


def import_seconds(module: str, repeats: int) -> float:
    """Median wall time of a fresh interpreter importing ``module`` (interpreter start removed)."""
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    samples = []
    for _ in range(repeats):
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        samples.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(samples)


def log_metric_seconds(module: str, points: int) -> float:
    """Per-call time of ``log_metric`` in a loop, into a fresh embedded SQLite store."""
    with tempfile.TemporaryDirectory() as folder:
        code = f"""
import time, {module} as m
m.set_tracking_uri("sqlite:///{folder}/bench.db")
with m.start_run():
    t = time.perf_counter()
    for i in range({points}):
        m.log_metric("loss", 1.0 / (i + 1), step=i)
    print((time.perf_counter() - t) / {points})
"""
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=folder
        )
        return float(out.stdout.strip().splitlines()[-1])


def measure(smoke: bool) -> list[tuple[str, float, float | None]]:
    repeats, points = (1, 50) if smoke else (5, 2000)
    has_mlflow = importlib.util.find_spec("mlflow") is not None
    rows: list[tuple[str, float, float | None]] = []
    rows.append(
        (
            "import (s)",
            import_seconds("heron", repeats),
            import_seconds("mlflow", repeats) if has_mlflow else None,
        )
    )
    rows.append(
        (
            f"log_metric per call, {points} calls, SQLite (s)",
            log_metric_seconds("heron", points),
            log_metric_seconds("mlflow", points) if has_mlflow else None,
        )
    )
    return rows


def render(rows: list[tuple[str, float, float | None]]) -> str:
    lines = ["| measure | Heron | MLflow | MLflow / Heron |", "|---|---|---|---|"]
    for name, heron_value, mlflow_value in rows:
        if mlflow_value is None:
            lines.append(f"| {name} | {heron_value:.6f} | not installed | - |")
        else:
            ratio = mlflow_value / heron_value if heron_value else float("inf")
            lines.append(f"| {name} | {heron_value:.6f} | {mlflow_value:.6f} | {ratio:.1f}x |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, for CI")
    args = parser.parse_args()
    rows = measure(args.smoke)
    table = render(rows)
    print(table)
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    kind = "smoke" if args.smoke else "full"
    (RESULTS / f"{stamp}-{kind}.md").write_text(table + "\n")
    (RESULTS / f"{stamp}-{kind}.json").write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
