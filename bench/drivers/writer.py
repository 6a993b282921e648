"""One of many concurrent writers: start a run, say ``ready``, wait for the go file, then
``log_metric`` ``calls`` times, counting every call that raises (e.g. "database is locked")."""

from __future__ import annotations

import os
import time
from typing import Any

from _common import main, project


def measure(args: dict[str, Any]) -> dict[str, Any]:
    m = project(args["module"])
    m.set_tracking_uri(args["uri"])
    errors, first_error = 0, None
    run = m.start_run()
    print("ready", flush=True)
    while not os.path.exists(args["go_file"]):
        time.sleep(0.001)
    start = time.time()
    for i in range(args["calls"]):
        try:
            m.log_metric("loss", 1.0 / (i + 1), step=i)
        except Exception as exc:
            errors += 1
            first_error = first_error or f"{type(exc).__name__}: {exc}"[:300]
    try:
        flush = getattr(m, "flush", None)
        if flush:
            flush()
        m.end_run()
    except Exception as exc:
        errors += 1
        first_error = first_error or f"{type(exc).__name__}: {exc}"[:300]
    return {
        "run_id": run.info.run_id,
        "calls": args["calls"],
        "errors": errors,
        "first_error": first_error,
        "start": start,
        "end": time.time(),
    }


if __name__ == "__main__":
    main(measure)
