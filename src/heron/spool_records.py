"""What a spool record holds, and how one is applied to a backend again.

Each record is a JSON object with ``op`` and ``id`` (the request id it is sent with).
Runs created offline carry the id the client made up; the store gives them their own, so
the replayer maps one to the other (the map survives in the acks, so a replay that stops
half-way resumes with it) and tags the run ``heron.offlineRunId``.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from heron.batches import send_batch
from heron.entities import DatasetInput, Metric, Param, RunTag
from heron.spool import Record

OFFLINE_EXPERIMENT_PREFIX = "offline:"
OFFLINE_RUN_TAG = "heron.offlineRunId"
PARENT_RUN_TAG = "mlflow.parentRunId"
ARTIFACTS_FOLDER = "artifacts"


def log_batch_record(
    request_id: str,
    run_id: str,
    metrics: Sequence[Metric] = (),
    params: Sequence[Param] = (),
    tags: Sequence[RunTag] = (),
) -> Record:
    return {
        "op": "log_batch",
        "id": request_id,
        "run_id": run_id,
        "metrics": [[m.key, float(m.value), int(m.timestamp), int(m.step or 0)] for m in metrics],
        "params": [[p.key, p.value] for p in params],
        "tags": [[t.key, t.value] for t in tags],
    }


def update_run_record(
    request_id: str,
    run_id: str,
    status: str | None,
    end_time: int | None,
    run_name: str | None = None,
) -> Record:
    return {
        "op": "update_run",
        "id": request_id,
        "run_id": run_id,
        "status": status,
        "end_time": end_time,
        "run_name": run_name,
    }


def create_run_record(
    request_id: str,
    run_id: str,
    experiment_id: str,
    user_id: str,
    start_time: int | None,
    tags: Sequence[RunTag],
    run_name: str | None,
) -> Record:
    return {
        "op": "create_run",
        "id": request_id,
        "run_id": run_id,
        "experiment_id": experiment_id,
        "user_id": user_id,
        "start_time": start_time,
        "tags": [[t.key, t.value] for t in tags],
        "run_name": run_name,
    }


class Replayer:
    """Applies records to one backend, translating offline run and experiment ids."""

    def __init__(self, backend: Any, folder: Path, acks: dict[str, Record]) -> None:
        self.backend = backend
        self.folder = folder
        self.runs: dict[str, str] = {
            ack["offline_run_id"]: ack["run_id"] for ack in acks.values() if "offline_run_id" in ack
        }
        self.experiments: dict[str, str] = {}
        self.runs_created = 0

    def run_id(self, record: Record) -> str:
        rid: str = record["run_id"]
        return self.runs.get(rid, rid)

    def tags(self, pairs: list[list[str]]) -> list[RunTag]:
        """Tags that name a parent run name it by its store id."""
        return [RunTag(k, self.runs.get(v, v) if k == PARENT_RUN_TAG else v) for k, v in pairs]

    def apply(self, record: Record) -> dict[str, Any]:
        """Send one record; answers what the ack should remember."""
        op = record["op"]
        handler = getattr(self, f"_{op}", None)
        if handler is None:
            raise ValueError(f"unknown spool record {op!r}")
        result: dict[str, Any] = handler(record)
        return result

    def _log_batch(self, r: Record) -> dict[str, Any]:
        send_batch(
            self.backend,
            self.run_id(r),
            [Metric(k, v, ts, step) for k, v, ts, step in r["metrics"]],
            [Param(k, v) for k, v in r["params"]],
            self.tags(r["tags"]),
            request_id=r["id"],
        )
        return {}

    def _update_run(self, r: Record) -> dict[str, Any]:
        self.backend.update_run_info(
            self.run_id(r), status=r["status"], end_time=r["end_time"], run_name=r["run_name"]
        )
        return {}

    def _create_run(self, r: Record) -> dict[str, Any]:
        tags = [*self.tags(r["tags"]), RunTag(OFFLINE_RUN_TAG, r["run_id"])]
        run = self.backend.create_run(
            self.experiment_id(r["experiment_id"]),
            user_id=r["user_id"],
            start_time=r["start_time"],
            tags=tags,
            run_name=r["run_name"],
            request_id=r["id"],
        )
        self.runs[r["run_id"]] = run.info.run_id
        self.runs_created += 1
        return {"offline_run_id": r["run_id"], "run_id": run.info.run_id}

    def _create_experiment(self, r: Record) -> dict[str, Any]:
        self.experiment_id(OFFLINE_EXPERIMENT_PREFIX + r["name"], r.get("tags") or {})
        return {}

    def _delete_tag(self, r: Record) -> dict[str, Any]:
        self.backend.delete_tag(self.run_id(r), r["key"])
        return {}

    def _set_experiment_tag(self, r: Record) -> dict[str, Any]:
        self.backend.set_experiment_tag(
            self.experiment_id(r["experiment_id"]), r["key"], r["value"]
        )
        return {}

    def _log_inputs(self, r: Record) -> dict[str, Any]:
        from heron.backends.wire_entities import dataset_input_from_dict

        datasets: list[DatasetInput] = [dataset_input_from_dict(d) for d in r["datasets"]]
        self.backend.log_inputs(self.run_id(r), datasets)
        return {}

    def experiment_id(self, experiment_id: str, tags: dict[str, str] | None = None) -> str:
        """Offline experiments are named, not numbered: find or create them by name."""
        if not experiment_id.startswith(OFFLINE_EXPERIMENT_PREFIX):
            return experiment_id
        if experiment_id not in self.experiments:
            name = experiment_id[len(OFFLINE_EXPERIMENT_PREFIX) :]
            found = self.backend.get_experiment_by_name(name)
            if found is None:
                try:
                    self.experiments[experiment_id] = self.backend.create_experiment(
                        name, None, tags or {}
                    )
                except Exception:  # created meanwhile by another writer
                    found = self.backend.get_experiment_by_name(name)
                    if found is None:
                        raise
            if found is not None:
                self.experiments[experiment_id] = found.experiment_id
        return self.experiments[experiment_id]

    def upload_artifacts(self) -> int:
        """Files logged offline go to their run's artifact store, then leave the spool."""
        root = self.folder / ARTIFACTS_FOLDER
        count = 0
        for offline_id, run_id in self.runs.items():
            source = root / offline_id
            if not source.is_dir():
                continue
            files = [p for p in source.rglob("*") if p.is_file()]
            if files:
                uri = self.backend.get_run(run_id).info.artifact_uri
                self.backend.artifact_repository(uri).log_artifacts(source)
                count += len(files)
            shutil.rmtree(source, ignore_errors=True)
        return count
