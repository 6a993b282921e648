"""Plain data objects shared by the client, the stores and the server.

They mirror MLflow's entities (same attribute names, same shapes) so code written for
``mlflow.entities`` reads Heron's objects unchanged. ``to_dict`` gives the wire form of
MLflow's REST API (snake_case fields, enums by name).
"""

from __future__ import annotations

import gc
import math
from dataclasses import dataclass, field
from typing import Any


class LifecycleStage:
    ACTIVE = "active"
    DELETED = "deleted"

    @classmethod
    def view_type_allows(cls, view_type: int, stage: str) -> bool:
        if view_type == ViewType.ALL:
            return True
        return stage == (cls.ACTIVE if view_type == ViewType.ACTIVE_ONLY else cls.DELETED)


class ViewType:
    """Which lifecycle stages a search returns (MLflow's integer enum)."""

    ACTIVE_ONLY = 1
    DELETED_ONLY = 2
    ALL = 3

    _NAMES = {"ACTIVE_ONLY": 1, "DELETED_ONLY": 2, "ALL": 3}

    @classmethod
    def from_string(cls, name: str) -> int:
        try:
            return cls._NAMES[name.upper()]
        except KeyError:
            raise ValueError(
                f"Unknown view type {name!r}; use ACTIVE_ONLY, DELETED_ONLY or ALL"
            ) from None

    @classmethod
    def to_string(cls, value: int) -> str:
        for name, number in cls._NAMES.items():
            if number == value:
                return name
        raise ValueError(f"Unknown view type {value!r}")

    @classmethod
    def coerce(cls, value: int | str | None) -> int:
        if value is None:
            return cls.ACTIVE_ONLY
        if isinstance(value, str):
            return cls.from_string(value)
        cls.to_string(value)
        return int(value)


class RunStatus:
    """Run states; stored and shown by name, numbered as in MLflow's proto."""

    RUNNING = 1
    SCHEDULED = 2
    FINISHED = 3
    FAILED = 4
    KILLED = 5

    _NAMES = {"RUNNING": 1, "SCHEDULED": 2, "FINISHED": 3, "FAILED": 4, "KILLED": 5}

    @classmethod
    def to_string(cls, value: int | str) -> str:
        if isinstance(value, str):
            cls.from_string(value)
            return value.upper()
        for name, number in cls._NAMES.items():
            if number == value:
                return name
        raise ValueError(f"Unknown run status {value!r}")

    @classmethod
    def from_string(cls, name: str) -> int:
        try:
            return cls._NAMES[name.upper()]
        except KeyError:
            raise ValueError(
                f"Unknown run status {name!r}; use one of {', '.join(cls._NAMES)}"
            ) from None

    @classmethod
    def all_status(cls) -> list[int]:
        return list(cls._NAMES.values())

    @classmethod
    def is_terminated(cls, status: int | str) -> bool:
        name = cls.to_string(status)
        return name in ("FINISHED", "FAILED", "KILLED")


class SourceType:
    NOTEBOOK = "NOTEBOOK"
    JOB = "JOB"
    PROJECT = "PROJECT"
    LOCAL = "LOCAL"
    UNKNOWN = "UNKNOWN"


@dataclass(frozen=True)
class _KeyValue:
    key: str
    value: str

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "value": self.value}


@dataclass(frozen=True)
class ExperimentTag(_KeyValue):
    """A tag on an experiment."""


@dataclass(frozen=True)
class Experiment:
    experiment_id: str
    name: str
    artifact_location: str
    lifecycle_stage: str
    tags: dict[str, str] = field(default_factory=dict)
    creation_time: int | None = None
    last_update_time: int | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "experiment_id": self.experiment_id,
            "name": self.name,
            "artifact_location": self.artifact_location,
            "lifecycle_stage": self.lifecycle_stage,
            "last_update_time": self.last_update_time,
            "creation_time": self.creation_time,
            "tags": [{"key": k, "value": v} for k, v in self.tags.items()],
        }
        return {k: v for k, v in out.items() if v is not None}


@dataclass(frozen=True)
class Metric:
    key: str
    value: float
    timestamp: int
    step: int = 0
    run_id: str | None = None
    dataset_name: str | None = None
    dataset_digest: str | None = None
    model_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "key": self.key,
            "value": metric_value_to_json(self.value),
            "timestamp": self.timestamp,
            "step": self.step,
        }
        for name in ("run_id", "dataset_name", "dataset_digest", "model_id"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        return out


def metric_value_to_json(value: float) -> float | str:
    """JSON has no NaN or infinity; MLflow's wire form spells them as strings."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


@dataclass(frozen=True)
class Param(_KeyValue):
    """A run parameter; immutable once logged."""


@dataclass(frozen=True)
class RunTag(_KeyValue):
    """A tag on a run."""


@dataclass(frozen=True)
class InputTag(_KeyValue):
    """A tag on a dataset input of a run (its context, say)."""


@dataclass(frozen=True)
class Dataset:
    name: str
    digest: str
    source_type: str
    source: str
    schema: str | None = None
    profile: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {
            "name": self.name,
            "digest": self.digest,
            "source_type": self.source_type,
            "source": self.source,
            "schema": self.schema,
            "profile": self.profile,
        }
        return {k: v for k, v in out.items() if v is not None}


@dataclass(frozen=True)
class DatasetInput:
    dataset: Dataset
    tags: list[InputTag] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"tags": [t.to_dict() for t in self.tags], "dataset": self.dataset.to_dict()}


@dataclass(frozen=True)
class RunInputs:
    dataset_inputs: list[DatasetInput] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"dataset_inputs": [d.to_dict() for d in self.dataset_inputs]}


@dataclass(frozen=True)
class RunInfo:
    run_id: str
    experiment_id: str
    run_name: str
    user_id: str
    status: str
    start_time: int | None
    end_time: int | None
    artifact_uri: str
    lifecycle_stage: str

    @property
    def run_uuid(self) -> str:
        """MLflow's deprecated name for ``run_id``; kept for old scripts."""
        return self.run_id

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "run_id": self.run_id,
            "run_uuid": self.run_id,
            "run_name": self.run_name,
            "experiment_id": self.experiment_id,
            "user_id": self.user_id,
            "status": self.status,
            "start_time": self.start_time,
            "end_time": self.end_time,
            "artifact_uri": self.artifact_uri,
            "lifecycle_stage": self.lifecycle_stage,
        }
        return {k: v for k, v in out.items() if v is not None}


@dataclass(frozen=True)
class RunData:
    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    metric_objs: list[Metric] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "metrics": [m.to_dict() for m in self.metric_objs],
            "params": [{"key": k, "value": v} for k, v in self.params.items()],
            "tags": [{"key": k, "value": v} for k, v in self.tags.items()],
        }


@dataclass(frozen=True)
class Run:
    info: RunInfo
    data: RunData
    inputs: RunInputs = field(default_factory=RunInputs)

    def to_dict(self) -> dict[str, Any]:
        return {
            "info": self.info.to_dict(),
            "data": self.data.to_dict(),
            "inputs": self.inputs.to_dict(),
        }


@dataclass(frozen=True)
class FileInfo:
    path: str
    is_dir: bool
    file_size: int | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "is_dir": self.is_dir}
        if self.file_size is not None:
            out["file_size"] = self.file_size
        return out


class PagedList(list[Any]):
    """One page of results (a list, as in MLflow) plus the opaque token of the next page."""

    def __init__(self, items: Any = (), token: str | None = None) -> None:
        super().__init__(items)
        self.token = token


@dataclass(frozen=True)
class MetricHistory:
    """Every point (or a downsampled few) of one metric of one run, in step order.

    Columnar, so a million points are three lists, not a million objects.
    """

    run_id: str
    key: str
    steps: list[int]
    values: list[float]
    timestamps: list[int]

    def __len__(self) -> int:
        return len(self.steps)

    def to_metrics(self) -> list[Metric]:
        """One ``Metric`` a point, equal to ``Metric(key, value, timestamp, step, run_id=...)``.

        Built without the frozen dataclass's ``__init__`` (a ``object.__setattr__`` a field)
        and with the cyclic garbage collector paused, which otherwise runs over and over
        while a hundred thousand new objects appear: together about three times faster."""
        key, run_id = self.key, self.run_id
        new, set_dict = object.__new__, object.__setattr__
        out: list[Metric] = []
        append = out.append
        paused = gc.isenabled() and len(self.steps) > 1000
        if paused:
            gc.disable()
        try:
            for step, value, timestamp in zip(
                self.steps, self.values, self.timestamps, strict=True
            ):
                metric = new(Metric)
                set_dict(
                    metric,
                    "__dict__",
                    {
                        "key": key,
                        "value": value,
                        "timestamp": timestamp,
                        "step": step,
                        "run_id": run_id,
                        "dataset_name": None,
                        "dataset_digest": None,
                        "model_id": None,
                    },
                )
                append(metric)
        finally:
            if paused:
                gc.enable()
        return out
