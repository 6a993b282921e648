"""Offline mode (``HERON_MODE=offline``): every write goes to the spool, nothing else.

For machines with no network to the tracking server (a cluster's compute nodes). Runs get
their ids here; experiments are known by name until ``heron sync`` finds or creates them
on the server, which also gives each run its server id (the offline id stays in the tag
``heron.offlineRunId``) and uploads the files logged as artifacts.

Reads need the server: they answer an error that says to sync first. The one exception is
a run this process started, which it can describe from what it wrote.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, NoReturn

from heron import spool
from heron.artifacts import ArtifactRepository, get_artifact_repository
from heron.backends import MODE_ENV
from heron.entities import (
    DatasetInput,
    Experiment,
    LifecycleStage,
    Metric,
    Param,
    Run,
    RunData,
    RunInfo,
    RunStatus,
    RunTag,
)
from heron.exceptions import invalid
from heron.names import generate_run_name
from heron.spool_records import (
    ARTIFACTS_FOLDER,
    OFFLINE_EXPERIMENT_PREFIX,
    create_run_record,
    log_batch_record,
    update_run_record,
)

FSYNC_EVERY_SECONDS = 1.0


def _refusal(name: str) -> Any:
    def refuse(self: Any, *_args: Any, **_kwargs: Any) -> NoReturn:
        _needs_server(name)

    refuse.__name__ = name
    return refuse


class OfflineBackend:
    def __init__(self, tracking_uri: str) -> None:
        self.tracking_uri = tracking_uri
        self.folder = spool.target_folder(tracking_uri)
        self._lock = threading.Lock()
        self._journal: spool.Journal | None = None
        self._last_sync = 0.0
        self._runs: dict[str, Run] = {}

    def __repr__(self) -> str:
        return f"OfflineBackend({self.tracking_uri!r}, spool={self.folder})"

    @property
    def journal_path(self) -> str | None:
        return str(self._journal.path) if self._journal else None

    def _write(self, record: spool.Record) -> None:
        with self._lock:
            if self._journal is None:
                self._journal = spool.Journal(self.folder)
            now = time.monotonic()
            durable = now - self._last_sync >= FSYNC_EVERY_SECONDS
            self._journal.append([record], durable=durable)
            if durable:
                self._last_sync = now

    def close(self) -> None:
        with self._lock:
            if self._journal is not None:
                self._journal.close()
                self._journal = None

    # ---- experiments --------------------------------------------------------------------

    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: dict[str, str] | None = None
    ) -> str:
        record = {"op": "create_experiment", "id": spool.new_id(), "name": name, "tags": tags}
        self._write(record)
        return OFFLINE_EXPERIMENT_PREFIX + name

    def get_experiment(self, experiment_id: str) -> Experiment:
        name = experiment_id
        if experiment_id.startswith(OFFLINE_EXPERIMENT_PREFIX):
            name = experiment_id[len(OFFLINE_EXPERIMENT_PREFIX) :]
        elif experiment_id == "0":
            name = "Default"
        return Experiment(experiment_id, name, "", LifecycleStage.ACTIVE)

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        # Offline, every name "exists": sync finds or creates it on the server.
        return self.get_experiment(OFFLINE_EXPERIMENT_PREFIX + name)

    def set_experiment_tag(self, experiment_id: str, key: str, value: str) -> None:
        self._write(
            {
                "op": "set_experiment_tag",
                "id": spool.new_id(),
                "experiment_id": experiment_id,
                "key": key,
                "value": value,
            }
        )

    # ---- runs ---------------------------------------------------------------------------

    def create_run(
        self,
        experiment_id: str,
        user_id: str = "",
        start_time: int | None = None,
        tags: Sequence[RunTag] = (),
        run_name: str | None = None,
        *,
        request_id: str | None = None,
    ) -> Run:
        run_id = uuid.uuid4().hex
        name = (
            run_name
            or {t.key: t.value for t in tags}.get("mlflow.runName")
            or (generate_run_name())
        )
        self._write(
            create_run_record(
                request_id or spool.new_id(),
                run_id,
                experiment_id,
                user_id,
                start_time,
                tags,
                name,
            )
        )
        artifacts = self.folder / ARTIFACTS_FOLDER / run_id
        artifacts.mkdir(parents=True, exist_ok=True)
        info = RunInfo(
            run_id=run_id,
            experiment_id=experiment_id,
            run_name=name,
            user_id=user_id,
            status=RunStatus.to_string(RunStatus.RUNNING),
            start_time=start_time,
            end_time=None,
            artifact_uri=str(artifacts),
            lifecycle_stage=LifecycleStage.ACTIVE,
        )
        tag_map = {t.key: t.value for t in tags} | {"mlflow.runName": name}
        run = Run(info, RunData(tags=tag_map))
        self._runs[run_id] = run
        return run

    def get_run(self, run_id: str) -> Run:
        run = self._runs.get(run_id)
        if run is None:
            _needs_server(f"get_run({run_id!r})")
        return run

    def update_run_info(
        self,
        run_id: str,
        status: str | int | None = None,
        end_time: int | None = None,
        run_name: str | None = None,
    ) -> RunInfo:
        status_name = RunStatus.to_string(status) if status is not None else None
        self._write(update_run_record(spool.new_id(), run_id, status_name, end_time, run_name))
        run = self._runs.get(run_id)
        if run is None:
            _needs_server(f"update_run_info({run_id!r})")
        info = replace(
            run.info,
            status=status_name or run.info.status,
            end_time=end_time if end_time is not None else run.info.end_time,
            run_name=run_name or run.info.run_name,
        )
        self._runs[run_id] = replace(run, info=info)
        return info

    # ---- what runs log ------------------------------------------------------------------

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
        *,
        request_id: str | None = None,
    ) -> None:
        record = log_batch_record(request_id or spool.new_id(), run_id, metrics, params, tags)
        self._write(record)

    def log_metrics_bulk(
        self, batches: Mapping[str, Sequence[Metric]], *, request_id: str | None = None
    ) -> int:
        for index, (run_id, metrics) in enumerate(batches.items()):
            rid = f"{request_id}.r{index}" if request_id else None
            self.log_batch(run_id, metrics, request_id=rid)
        return sum(len(m) for m in batches.values())

    def delete_tag(self, run_id: str, key: str) -> None:
        self._write({"op": "delete_tag", "id": spool.new_id(), "run_id": run_id, "key": key})

    def log_inputs(self, run_id: str, datasets: Sequence[DatasetInput] = ()) -> None:
        self._write(
            {
                "op": "log_inputs",
                "id": spool.new_id(),
                "run_id": run_id,
                "datasets": [d.to_dict() for d in datasets],
            }
        )

    def artifact_repository(self, artifact_uri: str) -> ArtifactRepository:
        return get_artifact_repository(artifact_uri)

    # ---- what needs the server ----------------------------------------------------------

    search_experiments = _refusal("search_experiments")
    rename_experiment = _refusal("rename_experiment")
    delete_experiment_tag = _refusal("delete_experiment_tag")
    delete_experiment = _refusal("delete_experiment")
    restore_experiment = _refusal("restore_experiment")
    purge_experiment = _refusal("purge_experiment")
    gc = _refusal("gc")
    delete_run = _refusal("delete_run")
    restore_run = _refusal("restore_run")
    search_runs = _refusal("search_runs")
    get_metric_history = _refusal("get_metric_history")
    get_metric_histories = _refusal("get_metric_histories")


def _needs_server(what: str) -> NoReturn:
    raise invalid(
        f"{what} needs the tracking server, and Heron is in offline mode "
        f"({MODE_ENV}=offline): writes go to the spool only. Run `heron sync` where the "
        "server can be reached, then read from there."
    )
