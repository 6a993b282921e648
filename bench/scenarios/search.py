"""Row 6: ``search_runs`` over 10,000 and 100,000 runs of one experiment.

Both projects' tables get the same runs by SQL (populate driver: 5 params, 5 tags, 5
metrics each; lr cycles 0.1/0.01/0.001 and acc is uniform, so about 3% of runs match the
filter). Timed with each project's client, through its server and on the embedded store:
the filter ``metrics.acc > 0.9 and params.lr = '0.01'`` ordered by ``metrics.acc DESC``,
and an unfiltered first page, both ``max_results=1000``.
"""

from __future__ import annotations

from typing import Any

import harness
from context import Context, Store
from rows import Cell, Row

NAME = "search"


def add_runs(ctx: Context, store: Store, first: int, count: int) -> str:
    args = {"project": store.project, "action": "runs", "db_uri": store.db_uri}
    args.update(artifact_root=store.artifacts, first=first, count=count)
    return str(ctx.driver(store.project, "populate", args)["experiment_id"])


def search(ctx: Context, project: str, uri: str, experiment_id: str) -> dict[str, Any]:
    args = {"module": project, "uri": uri, "experiment_id": experiment_id}
    args["repeats"] = ctx.sizes.read_repeats
    return ctx.driver(project, "search", args)


def measure(ctx: Context, project: str, backend: str) -> dict[int, dict[str, Any]]:
    """One server for all sizes: the runs of the next size go in by SQL while it idles."""
    store = ctx.fresh_store(project, backend, "search")
    out: dict[int, dict[str, Any]] = {}
    experiment_id = add_runs(ctx, store, 0, 0)
    have = 0
    with harness.server(project, ctx.python(project), store.db_uri, store.folder) as server:
        for size in ctx.sizes.search_runs:
            add_runs(ctx, store, have, size - have)
            have = size
            out[size] = {
                where: ctx.attempt(
                    project,
                    f"search {size} {where}",
                    lambda uri=uri: search(ctx, project, uri, experiment_id),
                )
                for where, uri in (("embedded", store.db_uri), ("server", server.url))
            }
    return out


def pick(found: Any, size: int, where: str, field: str) -> Cell:
    if not isinstance(found, dict):
        return found
    answer = found.get(size, {}).get(where, "error")
    return answer[field] if isinstance(answer, dict) else answer


def run_backend(ctx: Context, backend: str) -> list[Row]:
    found: dict[str, Any] = {}
    for project in ctx.projects:
        found[project] = ctx.attempt(
            project, f"search {backend}", lambda p=project: measure(ctx, p, backend)
        )
    heron, mlflow = found["heron"], found.get("mlflow")
    rows = []
    for size in ctx.sizes.search_runs:
        for where, label in (("server", "via server"), ("embedded", "embedded")):
            for field, what in (
                ("filtered_s", "filter + order_by, 1000 max"),
                ("page_s", "first page of 1000"),
            ):
                rows.append(
                    Row(
                        f"6. search_runs, {size:,} runs, {what}, {label}",
                        backend,
                        pick(heron, size, where, field),
                        pick(mlflow, size, where, field),
                        "s",
                        target="≥10x faster",
                        target_ratio=10,
                    )
                )
    return rows


def run(ctx: Context) -> list[Row]:
    return [row for backend in ctx.backends for row in run_backend(ctx, backend)]
