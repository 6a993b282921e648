"""search_runs results as a pandas DataFrame, in the columns MLflow gives."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from heron.entities import Run

BASE_COLUMNS = ("run_id", "experiment_id", "status", "artifact_uri", "start_time", "end_time")


def runs_to_dataframe(runs: Sequence[Run]) -> Any:
    try:
        import pandas as pd
    except ImportError:
        raise ImportError(
            "search_runs returns a pandas DataFrame by default; install pandas "
            "(pip install 'heron[pandas]') or pass output_format='list'."
        ) from None
    columns: dict[str, list[Any]] = {name: [] for name in BASE_COLUMNS}
    extra: dict[str, dict[int, Any]] = {}
    for index, run in enumerate(runs):
        info = run.info
        for name in ("run_id", "experiment_id", "status", "artifact_uri"):
            columns[name].append(getattr(info, name))
        columns["start_time"].append(info.start_time)
        columns["end_time"].append(info.end_time)
        for prefix, values in (
            ("metrics", run.data.metrics),
            ("params", run.data.params),
            ("tags", run.data.tags),
        ):
            for key, value in values.items():
                extra.setdefault(f"{prefix}.{key}", {})[index] = value
    frame = pd.DataFrame(columns)
    for name in ("start_time", "end_time"):
        frame[name] = pd.to_datetime(frame[name], unit="ms", utc=True)
    if extra:
        ordered = sorted(extra, key=lambda c: ("metrics", "params", "tags").index(c.split(".")[0]))
        added = pd.DataFrame(
            {c: [extra[c].get(i) for i in range(len(runs))] for c in ordered},
            index=frame.index,
        )
        for column in ordered:
            if column.startswith("metrics."):
                added[column] = added[column].astype("float64")
        frame = pd.concat([frame, added], axis=1)
    return frame
