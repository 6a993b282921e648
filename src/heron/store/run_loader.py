"""Turning rows into Run objects: a fixed number of queries for any number of runs.

A page of 1,000 runs is about 16,000 rows, so the per-row work is kept small: rows are
fetched whole (``all()``) and unpacked as tuples, and the frozen entities are assembled
without their generated ``__init__`` (``_assemble``), which sets each field through
``object.__setattr__``. ``load_run_dicts`` skips the entities altogether and builds the
wire form (what ``Run.to_dict`` gives, made JSON-safe) straight from the rows, for the
server's search answer.
"""

from __future__ import annotations

import json
import math
import sys
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Connection, String, any_, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY

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
from heron.store.base import IN_CHUNK, chunks

T = TypeVar("T")

_MAX = sys.float_info.max
_new = object.__new__
_set = object.__setattr__


def metric_value(value: float | None, is_nan: bool) -> float:
    """A stored metric value; the largest double is how MySQL keeps infinity."""
    if is_nan or value is None:
        return float("nan")
    if abs(value) == sys.float_info.max:
        return math.copysign(math.inf, value)
    return float(value)


def _wire_value(value: float | None, is_nan: bool) -> float | str:
    """``metric_value`` in MLflow's JSON form: NaN and the infinities spelled as strings."""
    if is_nan or value is None:
        return "NaN"
    value = float(value)
    if -_MAX < value < _MAX:
        return value
    if value != value:
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def _assemble(cls: type[T], values: dict[str, Any]) -> T:
    """An instance of the frozen dataclass ``cls`` holding ``values`` (every field, in
    order): what ``cls(**values)`` makes, without the per-field ``object.__setattr__``."""
    obj = _new(cls)
    _set(obj, "__dict__", values)
    return obj


@dataclass
class _PageRows:
    """A page of runs read: info rows by run id, and per run id its params and tags (dicts
    for the entities, lists of wire dicts for the server) and metrics (Metric objects or
    wire dicts), as ``_read_rows`` was asked."""

    infos: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    tags: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, list[Any]] = field(default_factory=lambda: defaultdict(list))
    inputs: dict[str, list[Any]] = field(default_factory=lambda: defaultdict(list))
    input_tags: dict[str, list[Any]] = field(default_factory=lambda: defaultdict(list))


def _read_rows(conn: Connection, run_ids: Sequence[str], wire: bool) -> _PageRows:
    """Five queries per chunk of ids (six when the runs have dataset inputs); each row
    becomes its final form as it is read."""
    rows = _PageRows()
    if wire:
        rows.params, rows.tags = defaultdict(list), defaultdict(list)
    else:
        rows.params, rows.tags = defaultdict(dict), defaultdict(dict)
    latest = s.latest_metrics.c
    metric_columns = [latest.run_uuid, latest.key, latest.value, latest.is_nan]
    metric_columns += [latest.timestamp, latest.step]
    dialect = conn.dialect.name
    # PostgreSQL and SQLite take the ids as one parameter (an array, a JSON list): a list of
    # a thousand placeholders costs more to render, parse and plan than the query to run.
    size = len(run_ids) or 1 if dialect in ("postgresql", "sqlite") else IN_CHUNK
    for part in chunks(list(run_ids), size):
        info_query = select(*_RUN_COLUMNS)
        for info in conn.execute(
            info_query.where(_one_of(dialect, s.runs.c.run_uuid, part, probe=True))
        ).all():
            rows.infos[info[0]] = info
        for table, out in ((s.params, rows.params), (s.tags, rows.tags)):
            c = table.c
            query = select(c.run_uuid, c.key, c.value).where(_one_of(dialect, c.run_uuid, part))
            found = conn.execute(query).all()
            if wire:  # (run_uuid, key) is the primary key: no key comes twice
                for run_id, key, value in found:
                    out[run_id].append({"key": key, "value": value})
            else:
                for run_id, key, value in found:
                    out[run_id][key] = value
        metric_query = select(*metric_columns).where(_one_of(dialect, latest.run_uuid, part))
        metrics = rows.metrics
        if wire:
            for run_id, key, value, is_nan, timestamp, step in conn.execute(metric_query).all():
                metrics[run_id].append(
                    {
                        "key": key,
                        "value": _wire_value(value, is_nan),
                        "timestamp": timestamp,
                        "step": step,
                    }
                )
        else:
            for run_id, key, value, is_nan, timestamp, step in conn.execute(metric_query).all():
                metrics[run_id].append(
                    _assemble(
                        Metric,
                        {
                            "key": key,
                            "value": metric_value(value, is_nan),
                            "timestamp": timestamp,
                            "step": step,
                            "run_id": None,
                            "dataset_name": None,
                            "dataset_digest": None,
                            "model_id": None,
                        },
                    )
                )
        _read_inputs(conn, part, rows)
    return rows


def _one_of(
    dialect: str, column: ColumnElement[Any], ids: Sequence[str], probe: bool = False
) -> ColumnElement[bool]:
    """``column IN ids``, with the ids as a single parameter where the database allows.

    On PostgreSQL ``= ANY(array)`` suits the tables of several rows per run (a bitmap scan
    of their primary key); for ``runs`` (``probe``) the planner would rather scan the whole
    table for it, so there the ids become rows (``unnest``) that probe its primary key.
    """
    if dialect == "postgresql":
        array = bindparam("ids", list(ids), type_=ARRAY(String))
        if probe:
            return column.in_(select(func.unnest(array)).scalar_subquery())
        return column == any_(array)
    if dialect == "sqlite":
        listed = func.json_each(bindparam("ids", json.dumps(list(ids)))).table_valued("value")
        return column.in_(select(listed.c.value))
    return column.in_(ids)


def load_runs(conn: Connection, run_ids: Sequence[str]) -> list[Run]:
    """The runs with these ids, in the same order; ids not found are left out."""
    rows = _read_rows(conn, run_ids, wire=False)
    infos, params, tags, metrics = rows.infos, rows.params, rows.tags, rows.metrics
    inputs = _dataset_inputs(rows) if rows.inputs else {}
    runs: list[Run] = []
    for run_id in run_ids:
        row = infos.get(run_id)
        if row is None:
            continue
        metric_objs = metrics.get(run_id) or []
        data = _assemble(
            RunData,
            {
                "metrics": {m.key: m.value for m in metric_objs},
                "params": params.get(run_id) or {},
                "tags": tags.get(run_id) or {},
                "metric_objs": metric_objs,
            },
        )
        run_inputs = _assemble(RunInputs, {"dataset_inputs": inputs.get(run_id) or []})
        runs.append(_assemble(Run, {"info": _run_info(row), "data": data, "inputs": run_inputs}))
    return runs


def load_run_dicts(conn: Connection, run_ids: Sequence[str]) -> list[dict[str, Any]]:
    """As ``load_runs``, but each run in its JSON-safe wire form: exactly what
    ``Run.to_dict()`` gives once the server drops its empty fields and spells NaN and the
    infinities as strings."""
    rows = _read_rows(conn, run_ids, wire=True)
    infos, params, tags, metrics = rows.infos, rows.params, rows.tags, rows.metrics
    inputs = _wire_inputs(rows) if rows.inputs else {}
    out: list[dict[str, Any]] = []
    for run_id in run_ids:
        row = infos.get(run_id)
        if row is None:
            continue
        _, experiment_id, name, user_id, status, start, end, artifact_uri, stage = row
        info: dict[str, Any] = {
            "run_id": run_id,
            "run_uuid": run_id,
            "run_name": name,
            "experiment_id": str(experiment_id),
            "user_id": user_id,
            "status": status,
            "start_time": start,
            "end_time": end,
            "artifact_uri": artifact_uri,
            "lifecycle_stage": stage,
        }
        if None in row:
            info = _without_none(info)
        data = {
            "metrics": metrics.get(run_id) or [],
            "params": params.get(run_id) or [],
            "tags": tags.get(run_id) or [],
        }
        out.append(
            {"info": info, "data": data, "inputs": {"dataset_inputs": inputs.get(run_id) or []}}
        )
    return out


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
    return _assemble(
        RunInfo,
        {
            "run_id": run_id,
            "experiment_id": str(experiment_id),
            "run_name": name,
            "user_id": user_id,
            "status": status,
            "start_time": start,
            "end_time": end,
            "artifact_uri": artifact_uri,
            "lifecycle_stage": stage,
        },
    )


def _read_inputs(conn: Connection, run_ids: Sequence[str], rows: _PageRows) -> None:
    ri, ds = s.run_inputs, s.datasets
    found = conn.execute(
        select(ri.c.input_uuid, ri.c.run_uuid, ds)
        .join(ds, ds.c.dataset_uuid == ri.c.dataset_uuid)
        .where(ri.c.run_uuid.in_(run_ids))
        .order_by(ds.c.name)
    ).all()
    if not found:
        return
    for part in chunks([r.input_uuid for r in found]):
        for tag in conn.execute(select(s.input_tags).where(s.input_tags.c.input_uuid.in_(part))):
            rows.input_tags[tag.input_uuid].append(tag)
    for row in found:
        rows.inputs[row.run_uuid].append(row)


def _dataset_inputs(rows: _PageRows) -> dict[str, list[DatasetInput]]:
    out: dict[str, list[DatasetInput]] = {}
    for run_id, found in rows.inputs.items():
        out[run_id] = [
            DatasetInput(
                dataset=Dataset(
                    name=row.name,
                    digest=row.digest,
                    source_type=row.source_type,
                    source=row.source,
                    schema=row.schema,
                    profile=row.profile,
                ),
                tags=[InputTag(t.key, t.value) for t in rows.input_tags.get(row.input_uuid, ())],
            )
            for row in found
        ]
    return out


def _wire_inputs(rows: _PageRows) -> dict[str, list[dict[str, Any]]]:
    """``DatasetInput.to_dict()`` of each run's inputs, without its empty fields."""
    return {
        run_id: [
            {
                "tags": [
                    _without_none({"key": t.key, "value": t.value})
                    for t in rows.input_tags.get(row.input_uuid, ())
                ],
                "dataset": _without_none(
                    {
                        "name": row.name,
                        "digest": row.digest,
                        "source_type": row.source_type,
                        "source": row.source,
                        "schema": row.schema,
                        "profile": row.profile,
                    }
                ),
            }
            for row in found
        ]
        for run_id, found in rows.inputs.items()
    }


def _without_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}
