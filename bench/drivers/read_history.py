"""``get_metric_history(run_id, key)`` with each project's own client (median of repeats).

With ``max_points`` (Heron only) the downsampled read ``get_metric_history(..., max_points=)``.
"""

from __future__ import annotations

from typing import Any

from _common import Missing, client_class, main, median_seconds, project


def measure(args: dict[str, Any]) -> dict[str, Any]:
    m = project(args["module"])
    client = client_class(m)(args["uri"])
    run_id, key = args["run_id"], args["key"]
    extra = {} if args.get("max_points") is None else {"max_points": args["max_points"]}
    try:
        seconds, history = median_seconds(
            lambda: client.get_metric_history(run_id, key, **extra), args["repeats"]
        )
    except TypeError as exc:
        raise Missing(f"get_metric_history(max_points=...): {exc}") from exc
    return {"seconds": seconds, "points": len(history)}


if __name__ == "__main__":
    main(measure)
