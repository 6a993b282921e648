"""Row 7: 16 writer processes on one embedded store, released together at one barrier.

Each writer starts a run, says ready, waits for the go file, then calls ``log_metric``
N times (each project's default mode; Heron flushes before ending its run), counting calls
that raise. Calls/s is all calls over the span from the first start to the last end;
afterwards the ``metrics`` rows are counted to see whether every point was stored.
"""

from __future__ import annotations

import time
from typing import Any

import harness
from context import Context
from rows import Row

NAME = "concurrency"


def measure(ctx: Context, project: str, backend: str) -> dict[str, Any]:
    sizes = ctx.sizes
    calls = sizes.writer_calls_heron if project == "heron" else sizes.writer_calls_mlflow
    store = ctx.fresh_store(project, backend, "writers")
    args: dict[str, Any] = {"module": project, "uri": store.db_uri, "calls": 0}
    args["go_file"] = str(store.folder / "go")
    # One writer alone first: the schema and the default experiment exist before the race.
    (store.folder / "go").touch()
    ctx.driver(project, "writer", args)
    (store.folder / "go").unlink()
    args["calls"] = calls
    procs = [
        harness.start_driver(ctx.python(project), "writer", args, cwd=ctx.work)
        for _ in range(sizes.writers)
    ]
    try:
        for proc in procs:
            assert proc.stdout
            line = proc.stdout.readline()
            if line.strip() != "ready":
                raise harness.DriverError(
                    f"writer not ready: {line!r} {proc.stderr.read() if proc.stderr else ''}"
                )
        (store.folder / "go").touch()
        answers = []
        for proc in procs:
            out, err = proc.communicate(timeout=900)
            answers.append(harness.parse_answer("writer", proc.returncode, out, err))
    finally:
        for proc in procs:
            harness.stop_group(proc, grace=1)
    time.sleep(0.2)
    stored = harness.count_rows(store.db_uri, "metrics")
    span = max(a["end"] for a in answers) - min(a["start"] for a in answers)
    errors = sum(a["errors"] for a in answers)
    first = next((a["first_error"] for a in answers if a["first_error"]), None)
    total = calls * sizes.writers
    return {
        "calls_per_s": total / span,
        "errors": errors,
        "stored": stored,
        "expected": total,
        "first_error": first,
    }


def run_backend(ctx: Context, backend: str) -> list[Row]:
    found = {
        p: ctx.attempt(p, f"writers {backend}", lambda p=p: measure(ctx, p, backend))
        for p in ctx.projects
    }
    ctx.raw.setdefault("concurrency", []).append({"backend": backend, **found})

    def field(project: str, name: str) -> Any:
        answer = found.get(project)
        if answer is None:
            return None
        return float(answer[name]) if isinstance(answer, dict) else answer

    def stored(project: str) -> Any:
        answer = found.get(project)
        if not isinstance(answer, dict):
            return answer
        return f"{answer['stored']:,} of {answer['expected']:,}" + (
            " (all)" if answer["stored"] == answer["expected"] else " (LOST POINTS)"
        )

    heron = found["heron"]
    zero = (
        "yes"
        if isinstance(heron, dict) and heron["errors"] == 0 and heron["stored"] == heron["expected"]
        else "no"
    )
    s = ctx.sizes
    label = f"{s.writers} writer processes x (Heron {s.writer_calls_heron}, "
    label += f"MLflow {s.writer_calls_mlflow}) log_metric calls"
    return [
        Row(
            f"7. {label}: total calls/s",
            backend,
            field("heron", "calls_per_s"),
            field("mlflow", "calls_per_s"),
            "calls/s",
            better="higher",
        ),
        Row(
            "7. ...calls that raised (e.g. database is locked)",
            backend,
            field("heron", "errors"),
            field("mlflow", "errors"),
            "count",
            better="",
            target="0 for Heron" + (" on SQLite" if backend == "sqlite" else ""),
            met=zero,
        ),
        Row(
            "7. ...points stored afterwards",
            backend,
            stored("heron"),
            stored("mlflow"),
            "count",
            better="",
        ),
    ]


def run(ctx: Context) -> list[Row]:
    return [row for backend in ctx.backends for row in run_backend(ctx, backend)]
