"""Turning rows into Run objects: a fixed number of queries for any number of runs."""

from __future__ import annotations

import math
import sys
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, select

from heron.entities import (
    Dataset,
    DatasetInput,
    InputTag,
    Metric,
    Run,
    RunData,
    RunInfo,
    RunInputs,
)
from heron.store import schema as s
from heron.store.base import chunks


def metric_value(value: float | None, is_nan: bool) -> float:
    """A stored metric value; the largest double is how MySQL keeps infinity."""
    if is_nan or value is None:
        return float("nan")
    if abs(value) == sys.float_info.max:
        return math.copysign(math.inf, value)
    return float(value)


def load_runs(conn: Connection, run_ids: Sequence[str]) -> list[Run]:
    """The runs with these ids, in the same order; ids not found are left out."""
    infos: dict[str, RunInfo] = {}
    params: dict[str, dict[str, str]] = defaultdict(dict)
    tags: dict[str, dict[str, str]] = defaultdict(dict)
    metrics: dict[str, list[Metric]] = defaultdict(list)
    inputs: dict[str, list[DatasetInput]] = defaultdict(list)
    for part in chunks(list(run_ids)):
        for row in conn.execute(select(s.runs).where(s.runs.c.run_uuid.in_(part))):
            infos[row.run_uuid] = _run_info(row)
        for row in conn.execute(select(s.params).where(s.params.c.run_uuid.in_(part))):
            params[row.run_uuid][row.key] = row.value
        for row in conn.execute(select(s.tags).where(s.tags.c.run_uuid.in_(part))):
            tags[row.run_uuid][row.key] = row.value
        latest = s.latest_metrics
        for row in conn.execute(select(latest).where(latest.c.run_uuid.in_(part))):
            metrics[row.run_uuid].append(
                Metric(
                    key=row.key,
                    value=metric_value(row.value, row.is_nan),
                    timestamp=row.timestamp,
                    step=row.step,
                )
            )
        _load_inputs(conn, part, inputs)
    return [
        Run(
            info=infos[run_id],
            data=RunData(
                metrics={m.key: m.value for m in metrics[run_id]},
                params=params[run_id],
                tags=tags[run_id],
                metric_objs=metrics[run_id],
            ),
            inputs=RunInputs(dataset_inputs=inputs[run_id]),
        )
        for run_id in run_ids
        if run_id in infos
    ]


def _run_info(row: Any) -> RunInfo:
    return RunInfo(
        run_id=row.run_uuid,
        experiment_id=str(row.experiment_id),
        run_name=row.name,
        user_id=row.user_id,
        status=row.status,
        start_time=row.start_time,
        end_time=row.end_time,
        artifact_uri=row.artifact_uri,
        lifecycle_stage=row.lifecycle_stage,
    )


def _load_inputs(
    conn: Connection, run_ids: Sequence[str], out: dict[str, list[DatasetInput]]
) -> None:
    ri, ds = s.run_inputs, s.datasets
    rows = conn.execute(
        select(ri.c.input_uuid, ri.c.run_uuid, ds)
        .join(ds, ds.c.dataset_uuid == ri.c.dataset_uuid)
        .where(ri.c.run_uuid.in_(run_ids))
        .order_by(ds.c.name)
    ).all()
    if not rows:
        return
    input_tags: dict[str, list[InputTag]] = defaultdict(list)
    for part in chunks([r.input_uuid for r in rows]):
        for tag in conn.execute(select(s.input_tags).where(s.input_tags.c.input_uuid.in_(part))):
            input_tags[tag.input_uuid].append(InputTag(tag.key, tag.value))
    for row in rows:
        dataset = Dataset(
            name=row.name,
            digest=row.digest,
            source_type=row.source_type,
            source=row.source,
            schema=row.schema,
            profile=row.profile,
        )
        out[row.run_uuid].append(DatasetInput(dataset=dataset, tags=input_tags[row.input_uuid]))
