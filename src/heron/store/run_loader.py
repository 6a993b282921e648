"""Turning rows into Run objects: a fixed number of queries for any number of runs."""

from __future__ import annotations

import math
import sys
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Table, select

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
    """The runs with these ids, in the same order; ids not found are left out.

    Five IN-queries per chunk of ids, whatever the number of runs; rows are fetched whole
    (``all()``) and unpacked as tuples, since a page of 1,000 runs is about 16,000 rows.
    """
    infos: dict[str, RunInfo] = {}
    params: dict[str, dict[str, str]] = defaultdict(dict)
    tags: dict[str, dict[str, str]] = defaultdict(dict)
    metrics: dict[str, list[Metric]] = defaultdict(list)
    inputs: dict[str, list[DatasetInput]] = defaultdict(list)
    for part in chunks(list(run_ids)):
        for row in conn.execute(select(*_RUN_COLUMNS).where(s.runs.c.run_uuid.in_(part))).all():
            infos[row[0]] = _run_info(row)
        for run_id, key, value in _key_values(conn, s.params, part):
            params[run_id][key] = value
        for run_id, key, value in _key_values(conn, s.tags, part):
            tags[run_id][key] = value
        latest = s.latest_metrics.c
        columns = (latest.key, latest.value, latest.is_nan, latest.timestamp, latest.step)
        rows = conn.execute(
            select(latest.run_uuid, *columns).where(latest.run_uuid.in_(part))
        ).all()
        for run_id, key, value, is_nan, timestamp, step in rows:
            metrics[run_id].append(Metric(key, metric_value(value, is_nan), timestamp, step))
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


def _key_values(conn: Connection, table: Table, run_ids: Sequence[str]) -> Sequence[Any]:
    """(run_uuid, key, value) rows of a params or tags table for these runs."""
    c = table.c
    return conn.execute(select(c.run_uuid, c.key, c.value).where(c.run_uuid.in_(run_ids))).all()


_RUN_COLUMNS = (
    s.runs.c.run_uuid,
    s.runs.c.experiment_id,
    s.runs.c.name,
    s.runs.c.user_id,
    s.runs.c.status,
    s.runs.c.start_time,
    s.runs.c.end_time,
    s.runs.c.artifact_uri,
    s.runs.c.lifecycle_stage,
)


def _run_info(row: Any) -> RunInfo:
    run_id, experiment_id, name, user_id, status, start, end, artifact_uri, stage = row
    return RunInfo(
        run_id=run_id,
        experiment_id=str(experiment_id),
        run_name=name,
        user_id=user_id,
        status=status,
        start_time=start,
        end_time=end,
        artifact_uri=artifact_uri,
        lifecycle_stage=stage,
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
