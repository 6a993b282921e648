"""Row 2: ``log_metric`` in a tight loop into the embedded store, and time until durable."""

from __future__ import annotations

from context import Context, Store
from rows import Row

NAME = "log_metric"


def measure(ctx: Context, store: Store, calls: int, env: dict[str, str] | None = None) -> dict:
    args = {"module": store.project, "uri": store.db_uri, "calls": calls}
    args["budget"] = ctx.sizes.loop_budget
    return ctx.driver(store.project, "log_loop", args, env=env)


def run_backend(ctx: Context, backend: str) -> list[Row]:
    sizes = ctx.sizes
    answers: dict[str, dict] = {}
    for project in ctx.projects:
        calls = sizes.loop_heron if project == "heron" else sizes.loop_mlflow
        store = ctx.fresh_store(project, backend, "loop")
        answers[project] = ctx.attempt(
            project, f"log_metric loop {backend}", lambda s=store, n=calls: measure(ctx, s, n)
        )  # type: ignore[assignment]
    asynchronous = None
    if ctx.mlflow_python:
        store = ctx.fresh_store("mlflow", backend, "loop-async")
        env = {"MLFLOW_ENABLE_ASYNC_LOGGING": "true"}
        asynchronous = ctx.attempt(
            "mlflow",
            f"async log_metric loop {backend}",
            lambda: measure(ctx, store, sizes.loop_mlflow, env),
        )

    def figure(answer: object, field: str) -> object:
        return answer[field] if isinstance(answer, dict) else answer

    heron, mlflow = answers["heron"], answers.get("mlflow")
    label = (
        calls_label(heron, sizes.loop_heron, "Heron")
        + ", "
        + calls_label(mlflow, sizes.loop_mlflow, "MLflow")
    )
    return [
        Row(
            f"2. log_metric per call, default mode ({label})",
            backend,
            figure(heron, "per_call_s"),
            figure(mlflow, "per_call_s"),
            "s",
            target="≥100x lower",
            target_ratio=100,
        ),
        Row(
            "2. time until durable, per point (Heron: loop + heron.flush(); MLflow: sync loop)",
            backend,
            figure(heron, "durable_per_point_s"),
            figure(mlflow, "durable_per_point_s"),
            "s",
        ),
        Row(
            "2. ...vs MLflow async (MLFLOW_ENABLE_ASYNC_LOGGING=true): per call",
            backend,
            figure(heron, "per_call_s"),
            figure(asynchronous, "per_call_s"),
            "s",
        ),
        Row(
            "2. ...vs MLflow async: until durable (+ mlflow.flush_async_logging()), per point",
            backend,
            figure(heron, "durable_per_point_s"),
            figure(asynchronous, "durable_per_point_s"),
            "s",
        ),
    ]


def calls_label(answer: object, asked: int, who: str) -> str:
    done = answer["calls"] if isinstance(answer, dict) else asked
    return f"{who} {done:,} calls"


def run(ctx: Context) -> list[Row]:
    return [row for backend in ctx.backends for row in run_backend(ctx, backend)]
