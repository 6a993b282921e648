"""Row 1: ``import heron`` vs ``import mlflow`` in fresh interpreters."""

from __future__ import annotations

import statistics
import subprocess
import time

from context import Context
from rows import Row

NAME = "import"


def wall_seconds(python: str, code: str, repeats: int, cwd: str) -> float:
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([python, "-c", code], check=True, cwd=cwd, capture_output=True)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def import_seconds(ctx: Context, project: str) -> float:
    """Median wall time of ``python -c 'import X'`` minus that of ``python -c 'pass'``."""
    python, repeats, cwd = ctx.python(project), ctx.sizes.import_repeats, str(ctx.work)
    wall_seconds(python, f"import {project}", 1, cwd)  # warm the file cache and .pyc files
    bare = wall_seconds(python, "pass", repeats, cwd)
    return max(wall_seconds(python, f"import {project}", repeats, cwd) - bare, 1e-6)


def rss(ctx: Context, project: str) -> float:
    return float(ctx.driver(project, "import_rss", {"module": project})["rss_mb"])


def run(ctx: Context) -> list[Row]:
    n = ctx.sizes.import_repeats
    seconds = {
        p: ctx.attempt(p, "import time", lambda p=p: import_seconds(ctx, p)) for p in ctx.projects
    }
    memory = {p: ctx.attempt(p, "import RSS", lambda p=p: rss(ctx, p)) for p in ctx.projects}
    return [
        Row(
            f"1. import wall time (median of {n} fresh interpreters, start-up subtracted)",
            "-",
            seconds["heron"],
            seconds.get("mlflow"),
            "s",
            target="≥10x faster",
            target_ratio=10,
        ),
        Row(
            "1. RSS after import (VmRSS, whole interpreter)",
            "-",
            memory["heron"],
            memory.get("mlflow"),
            "MB",
        ),
    ]
