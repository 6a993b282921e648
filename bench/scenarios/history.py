"""Rows 4 and 5: reading one metric's history back, in full and downsampled.

Both projects get the same points (populate driver): ``loss`` with 100,000 points and
``signal`` with 1,000,000 in one run. Full reads use each project's client
``get_metric_history``, through its server and on its embedded store. The downsampled read
is what each UI's chart asks for: Heron's ``GET heron/metrics/histories?max_points=1000``,
MLflow's ``GET ajax-api/.../metrics/get-history-bulk-interval?max_results=1000``.
"""

from __future__ import annotations

from typing import Any

import harness
from context import Context, Store
from rows import Cell, Row

NAME = "history"
POINTS = 1000


def read(
    ctx: Context, project: str, uri: str, run_id: str, key: str, max_points: int | None = None
) -> float:
    args = {"module": project, "uri": uri, "run_id": run_id, "key": key}
    args.update(repeats=ctx.sizes.read_repeats, max_points=max_points)
    answer = ctx.driver(project, "read_history", args)
    expected = POINTS if max_points else ctx.sizes.history_points
    if max_points is None and answer["points"] != expected:
        raise RuntimeError(f"{project} read {answer['points']} points of {expected}")
    return float(answer["seconds"])


def chart_read(ctx: Context, project: str, url: str, run_id: str) -> float:
    if project == "heron":
        path = "/api/2.0/heron/metrics/histories"
        params: dict[str, Any] = {"run_id": run_id, "metric_key": "signal", "max_points": POINTS}
    else:
        path = "/ajax-api/2.0/mlflow/metrics/get-history-bulk-interval"
        params = {"run_ids": run_id, "metric_key": "signal", "max_results": POINTS}
    args = {"url": url, "path": path, "params": params, "repeats": ctx.sizes.read_repeats}
    answer = ctx.driver("heron", "http_read", args)
    if not 0 < answer["points"] <= POINTS * 1.1:
        raise RuntimeError(f"{project} chart read answered {answer['points']} points")
    return float(answer["seconds"])


def populate(ctx: Context, store: Store) -> str:
    keys = {"loss": ctx.sizes.history_points, "signal": ctx.sizes.downsample_points}
    args = {"project": store.project, "action": "history", "db_uri": store.db_uri}
    args.update(artifact_root=store.artifacts, keys=keys)
    answer = ctx.driver(store.project, "populate", args)
    return str(answer["run_id"])


def measure(ctx: Context, project: str, backend: str) -> dict[str, Cell]:
    store = ctx.fresh_store(project, backend, "history")
    run_id = populate(ctx, store)
    out: dict[str, Cell] = {}
    out["embedded"] = ctx.attempt(
        project, "embedded history", lambda: read(ctx, project, store.db_uri, run_id, "loss")
    )
    if project == "heron":
        out["embedded_sampled"] = ctx.attempt(
            project,
            "embedded max_points",
            lambda: read(ctx, project, store.db_uri, run_id, "signal", POINTS),
        )
    with harness.server(project, ctx.python(project), store.db_uri, store.folder) as server:
        out["server"] = ctx.attempt(
            project, "server history", lambda: read(ctx, project, server.url, run_id, "loss")
        )
        out["chart"] = ctx.attempt(
            project, "chart read", lambda: chart_read(ctx, project, server.url, run_id)
        )
        if project == "heron":
            out["client_sampled"] = ctx.attempt(
                project,
                "client max_points",
                lambda: read(ctx, project, server.url, run_id, "signal", POINTS),
            )
    return out


def run_backend(ctx: Context, backend: str) -> list[Row]:
    found: dict[str, Any] = {}
    for project in ctx.projects:
        found[project] = ctx.attempt(
            project, f"history {backend}", lambda p=project: measure(ctx, p, backend)
        )
    heron = found["heron"] if isinstance(found["heron"], dict) else {}
    mlflow = found.get("mlflow") if isinstance(found.get("mlflow"), dict) else {}
    failed = "error" if ctx.mlflow_python else None
    n, big = ctx.sizes.history_points, ctx.sizes.downsample_points
    none = "n/a (no such API)" if ctx.mlflow_python else None
    return [
        Row(
            f"4. get_metric_history, {n:,} points, own client via server",
            backend,
            heron.get("server", "error"),
            mlflow.get("server", failed),
            "s",
            target="≥10x faster",
            target_ratio=10,
        ),
        Row(
            f"4. get_metric_history, {n:,} points, own client on the embedded store",
            backend,
            heron.get("embedded", "error"),
            mlflow.get("embedded", failed),
            "s",
            target="≥10x faster",
            target_ratio=10,
        ),
        Row(
            f"5. chart read of {big:,} points -> {POINTS} (Heron GET heron/metrics/histories; "
            "MLflow get-history-bulk-interval)",
            backend,
            heron.get("chart", "error"),
            mlflow.get("chart", failed),
            "s",
            target="≥10x faster",
            target_ratio=10,
        ),
        Row(
            f"5. Heron client get_metric_history(max_points={POINTS}) of {big:,} points, "
            "via server",
            backend,
            heron.get("client_sampled", "error"),
            none,
            "s",
            better="",
        ),
        Row(
            f"5. Heron client get_metric_history(max_points={POINTS}) of {big:,} points, embedded",
            backend,
            heron.get("embedded_sampled", "error"),
            none,
            "s",
            better="",
        ),
    ]


def run(ctx: Context) -> list[Row]:
    return [row for backend in ctx.backends for row in run_backend(ctx, backend)]
