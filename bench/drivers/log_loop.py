"""``log_metric`` in a tight loop inside one run, then whatever makes the points durable.

The same code measures both projects: the loop stops after ``calls`` calls or ``budget``
seconds, whichever comes first. Durable means: for Heron after ``heron.flush()`` (its logging
is asynchronous), for MLflow's async mode after ``mlflow.flush_async_logging()``; MLflow's
default mode is synchronous, so its loop is already durable.
"""

from __future__ import annotations

import time
from typing import Any

from _common import main, project


def flusher(m: Any) -> Any:
    return getattr(m, "flush", None) or getattr(m, "flush_async_logging", None)


def measure(args: dict[str, Any]) -> dict[str, Any]:
    m = project(args["module"])
    m.set_tracking_uri(args["uri"])
    calls, budget = args["calls"], args["budget"]
    flush = flusher(m)
    with m.start_run() as run:
        m.log_metric("warmup", 0.0, step=0)
        if flush:
            flush()
        start = time.perf_counter()
        done = 0
        while done < calls:
            for i in range(done, min(done + 100, calls)):
                m.log_metric("loss", 1.0 / (i + 1), step=i)
            done = min(done + 100, calls)
            if time.perf_counter() - start > budget:
                break
        loop = time.perf_counter() - start
        if flush:
            flush()
        durable = time.perf_counter() - start
    return {
        "calls": done,
        "loop_s": loop,
        "durable_s": durable,
        "per_call_s": loop / done,
        "durable_per_point_s": durable / done,
        "flush": flush.__name__ if flush else None,
        "run_id": run.info.run_id,
    }


if __name__ == "__main__":
    main(measure)
