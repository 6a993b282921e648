"""Heron's entities read back from MLflow's JSON wire form (the inverse of ``to_dict``).

Lenient where MLflow servers differ: absent fields take their defaults (servers drop empty
values), int64 may come as a string (older MLflow wrote them so), enums as names or numbers,
and doubles as numbers or the strings "NaN", "Infinity", "-Infinity".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from heron.entities import (
    Dataset,
    DatasetInput,
    Experiment,
    FileInfo,
    InputTag,
    Metric,
    MetricHistory,
    PagedList,
    Run,
    RunData,
    RunInfo,
    RunInputs,
    RunStatus,
)
from heron.exceptions import INTERNAL_ERROR, HeronException

Wire = Mapping[str, Any]


def experiment_from_dict(d: Wire) -> Experiment:
    return Experiment(
        experiment_id=str(_required(d, "experiment_id")),
        name=str(d.get("name", "")),
        artifact_location=str(d.get("artifact_location", "")),
        lifecycle_stage=str(d.get("lifecycle_stage", "active")),
        tags=key_values(d.get("tags")),
        creation_time=_int_or_none(d.get("creation_time")),
        last_update_time=_int_or_none(d.get("last_update_time")),
    )


def run_info_from_dict(d: Wire) -> RunInfo:
    if type(d) is dict and d.keys() <= _INFO_FIELDS:  # the usual answer, read quicker
        get = d.get
        run_id, status, start, end = (
            get("run_id"),
            get("status", "RUNNING"),
            get("start_time"),
            get("end_time"),
        )
        values = {
            "run_id": run_id,
            "experiment_id": get("experiment_id", ""),
            "run_name": get("run_name", ""),
            "user_id": get("user_id", ""),
            "status": status,
            "start_time": start,
            "end_time": end,
            "artifact_uri": get("artifact_uri", ""),
            "lifecycle_stage": get("lifecycle_stage", "active"),
        }
        if (
            run_id
            and status in _STATUSES
            and (start is None or type(start) is int)
            and (end is None or type(end) is int)
            and all(type(values[name]) is str for name in _INFO_TEXTS)
        ):
            return _assemble(RunInfo, values)
    return RunInfo(
        run_id=str(d.get("run_id") or _required(d, "run_uuid")),
        experiment_id=str(d.get("experiment_id", "")),
        run_name=str(d.get("run_name", "")),
        user_id=str(d.get("user_id", "")),
        status=_run_status(d.get("status", "RUNNING")),
        start_time=_int_or_none(d.get("start_time")),
        end_time=_int_or_none(d.get("end_time")),
        artifact_uri=str(d.get("artifact_uri", "")),
        lifecycle_stage=str(d.get("lifecycle_stage", "active")),
    )


def run_from_dict(d: Wire) -> Run:
    data = d.get("data") or {}
    metrics = [_run_metric(m) for m in data.get("metrics") or []]
    inputs = d.get("inputs") or {}
    info = run_info_from_dict(_required(d, "info"))
    return _assemble(
        Run,
        {
            "info": info,
            "data": _assemble(
                RunData,
                {
                    "metrics": {m.key: m.value for m in metrics},
                    "params": key_values(data.get("params")),
                    "tags": key_values(data.get("tags")),
                    "metric_objs": metrics,
                },
            ),
            "inputs": _assemble(
                RunInputs,
                {
                    "dataset_inputs": [
                        dataset_input_from_dict(i) for i in inputs.get("dataset_inputs") or []
                    ]
                },
            ),
        },
    )


def _run_metric(d: Wire) -> Metric:
    """``metric_from_dict``, quicker for the usual four fields of a run's latest metric."""
    if type(d) is dict and d.keys() == _METRIC_FIELDS:
        key, value, timestamp, step = d["key"], d["value"], d["timestamp"], d["step"]
        if type(key) is str and type(value) is float and type(timestamp) is type(step) is int:
            return _assemble(
                Metric,
                {
                    "key": key,
                    "value": value,
                    "timestamp": timestamp,
                    "step": step,
                    "run_id": None,
                    "dataset_name": None,
                    "dataset_digest": None,
                    "model_id": None,
                },
            )
    return metric_from_dict(d)


_INFO_FIELDS = frozenset(
    (
        "run_id",
        "run_uuid",
        "run_name",
        "experiment_id",
        "user_id",
        "status",
        "start_time",
        "end_time",
        "artifact_uri",
        "lifecycle_stage",
    )
)
_INFO_TEXTS = ("run_id", "experiment_id", "run_name", "user_id", "artifact_uri", "lifecycle_stage")
_METRIC_FIELDS = frozenset(("key", "value", "timestamp", "step"))
_STATUSES = frozenset(("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"))
_new = object.__new__
_set = object.__setattr__
T = TypeVar("T")


def _assemble(cls: type[T], values: dict[str, Any]) -> T:
    """What ``cls(**values)`` makes of the frozen dataclass ``cls`` (``values`` holding
    every field, in order), without the per-field ``object.__setattr__`` of its __init__."""
    obj = _new(cls)
    _set(obj, "__dict__", values)
    return obj


def metric_from_dict(d: Wire, run_id: str | None = None) -> Metric:
    return Metric(
        key=str(_required(d, "key")),
        value=double(d.get("value", 0.0)),
        timestamp=int(d.get("timestamp", 0)),
        step=int(d.get("step", 0)),
        run_id=d.get("run_id", run_id),
        dataset_name=d.get("dataset_name"),
        dataset_digest=d.get("dataset_digest"),
        model_id=d.get("model_id"),
    )


def history_from_dict(d: Wire) -> MetricHistory:
    """One entry of Heron's metrics/histories answer: parallel arrays of one metric."""
    steps, values, timestamps = (
        d.get("steps") or [],
        d.get("values") or [],
        d.get("timestamps") or [],
    )
    if not len(steps) == len(values) == len(timestamps):
        raise _malformed("a metric history's steps, values and timestamps differ in length")
    return MetricHistory(
        run_id=str(_required(d, "run_id")),
        key=str(_required(d, "key")),
        steps=[int(s) for s in steps],
        values=[v if type(v) is float else double(v) for v in values],
        timestamps=[int(t) for t in timestamps],
    )


def dataset_input_from_dict(d: Wire) -> DatasetInput:
    ds = _required(d, "dataset")
    return DatasetInput(
        dataset=Dataset(
            name=str(ds.get("name", "")),
            digest=str(ds.get("digest", "")),
            source_type=str(ds.get("source_type", "")),
            source=str(ds.get("source", "")),
            schema=ds.get("schema"),
            profile=ds.get("profile"),
        ),
        tags=[InputTag(str(t["key"]), str(t.get("value", ""))) for t in d.get("tags") or []],
    )


def file_info_from_dict(d: Wire) -> FileInfo:
    is_dir = bool(d.get("is_dir", False))
    size = d.get("file_size")
    return FileInfo(
        path=str(_required(d, "path")),
        is_dir=is_dir,
        file_size=None if is_dir or size is None else int(size),
    )


def paged(items: list[Any], answer: Wire) -> PagedList:
    """One page of results; an empty token means the last page, as in MLflow."""
    return PagedList(items, answer.get("next_page_token") or None)


def key_values(items: Any) -> dict[str, str]:
    return {str(item["key"]): str(item.get("value", "")) for item in items or []}


def double(value: Any) -> float:
    """A double as MLflow's JSON spells one: a number or "NaN" / "Infinity" / "-Infinity"."""
    if isinstance(value, bool):
        raise _malformed(f"expected a number, got {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise _malformed(f"expected a number, got {value!r}") from None


def _run_status(value: Any) -> str:
    try:
        return RunStatus.to_string(int(value) if str(value).isdigit() else value)
    except ValueError:
        raise _malformed(f"unknown run status {value!r}") from None


def _int_or_none(value: Any) -> int | None:
    return None if value is None or value == "" else int(value)


def _required(d: Wire, name: str) -> Any:
    if not isinstance(d, Mapping) or d.get(name) is None:
        raise _malformed(f"missing field '{name}'")
    return d[name]


def _malformed(detail: str) -> HeronException:
    return HeronException(f"The tracking server sent a malformed answer: {detail}", INTERNAL_ERROR)
