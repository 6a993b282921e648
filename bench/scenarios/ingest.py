"""Rows 3 and 8: ingestion through each project's server, and the server's memory.

(a) each project's own client, fluent ``log_metric`` against the server, then flush;
(b) raw ``runs/log-batch`` requests of 1000 metrics from one shared httpx driver;
(c) Heron only: ``heron/metrics/log-bulk`` requests of 100,000 points.
RSS is the sum over the server's process tree, idle after start and after (a)-(c).
"""

from __future__ import annotations

import time
from typing import Any

import harness
from context import Context
from rows import Cell, Row

NAME = "ingest"
THREADS = 4


def own_client(ctx: Context, project: str, url: str) -> float:
    calls = ctx.sizes.client_heron if project == "heron" else ctx.sizes.client_mlflow
    args = {"module": project, "uri": url, "calls": calls, "budget": ctx.sizes.loop_budget}
    answer = ctx.driver(project, "log_loop", args)
    ctx.figures[f"client_calls.{project}"] = answer["calls"]
    return answer["calls"] / answer["durable_s"]


def raw_http(ctx: Context, url: str, mode: str) -> float:
    sizes = ctx.sizes
    if mode == "log-batch":
        args = {"batch": 1000, "requests": sizes.batch_requests, "threads": THREADS}
    else:
        args = {"batch": sizes.bulk_points, "requests": sizes.bulk_requests, "threads": 1}
    args.update(url=url, mode=mode, budget=ctx.sizes.loop_budget)
    return float(ctx.driver("heron", "http_ingest", args)["points_per_s"])


def measure_server(ctx: Context, project: str, backend: str) -> dict[str, Cell]:
    store = ctx.fresh_store(project, backend, "ingest")
    out: dict[str, Cell] = {}
    with harness.server(project, ctx.python(project), store.db_uri, store.folder) as server:
        out["started"] = server.started_s
        time.sleep(1.0)
        out["idle"] = server.rss_mb()
        out["client"] = ctx.attempt(
            project, f"own client {backend}", lambda: own_client(ctx, project, server.url)
        )
        out["batch"] = ctx.attempt(
            project, f"log-batch {backend}", lambda: raw_http(ctx, server.url, "log-batch")
        )
        if project == "heron":
            out["bulk"] = ctx.attempt(
                project, f"log-bulk {backend}", lambda: raw_http(ctx, server.url, "log-bulk")
            )
        out["loaded"] = server.rss_mb()
    return out


def run_backend(ctx: Context, backend: str) -> list[Row]:
    found: dict[str, dict[str, Any]] = {}
    for project in ctx.projects:
        found[project] = ctx.attempt(
            project, f"server {backend}", lambda p=project: measure_server(ctx, p, backend)
        )  # type: ignore[assignment]
    heron = found["heron"] if isinstance(found["heron"], dict) else {}
    mlflow = found.get("mlflow") if isinstance(found.get("mlflow"), dict) else {}
    failed = "error" if ctx.mlflow_python else None
    for key in ("bulk", "batch", "client"):
        if isinstance(heron.get(key), float):
            ctx.figures[f"ingest.{key}.{backend}"] = heron[key]
    s = ctx.sizes
    heron_calls = int(ctx.figures.get("client_calls.heron", s.client_heron))
    mlflow_calls = int(ctx.figures.get("client_calls.mlflow", s.client_mlflow))
    calls = f"Heron {heron_calls:,} calls, MLflow {mlflow_calls:,} calls"
    return [
        Row(
            f"3a. server ingestion, own client: log_metric loop + flush ({calls})",
            backend,
            heron.get("client", "error"),
            mlflow.get("client", failed),
            "pts/s",
            better="higher",
            target="≥20x more",
            target_ratio=20,
        ),
        Row(
            f"3b. server ingestion, raw POST runs/log-batch x1000 metrics, {THREADS} threads, "
            f"≤{s.batch_requests} requests",
            backend,
            heron.get("batch", "error"),
            mlflow.get("batch", failed),
            "pts/s",
            better="higher",
            target="≥20x more",
            target_ratio=20,
        ),
        Row(
            f"3c. server ingestion, Heron POST heron/metrics/log-bulk "
            f"({s.bulk_requests}x{s.bulk_points:,} points)",
            backend,
            heron.get("bulk", "error"),
            "n/a (no such API)" if ctx.mlflow_python else None,
            "pts/s",
            better="",
        ),
        Row(
            "8. server start-up on an empty database, until /health answers",
            backend,
            heron.get("started", "error"),
            mlflow.get("started", failed),
            "s",
        ),
        Row(
            "8. server RSS, idle after start (process tree)",
            backend,
            heron.get("idle", "error"),
            mlflow.get("idle", failed),
            "MB",
        ),
        Row(
            "8. server RSS, after the ingestion load (3a-3c)",
            backend,
            heron.get("loaded", "error"),
            mlflow.get("loaded", failed),
            "MB",
        ),
    ]


def run(ctx: Context) -> list[Row]:
    return [row for backend in ctx.backends for row in run_backend(ctx, backend)]
