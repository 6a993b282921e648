"""HeronClient: the explicit object API, with MLflow's ``MlflowClient`` method names."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from heron.artifact_logging import ArtifactLogging
from heron.backends import Backend, open_backend
from heron.entities import (
    DatasetInput,
    Experiment,
    InputTag,
    Metric,
    PagedList,
    Param,
    Run,
    RunStatus,
    RunTag,
    ViewType,
)
from heron.exceptions import invalid
from heron.validation import (
    MAX_PARAM_VAL_LENGTH,
    MAX_TAG_VAL_LENGTH,
    SEARCH_MAX_RESULTS_DEFAULT,
    truncate_long_value,
)


def now_ms() -> int:
    return int(time.time() * 1000)


class HeronClient(ArtifactLogging):
    """Talks to one tracking URI; every method maps to one operation of MLflow's API."""

    def __init__(self, tracking_uri: str | None = None, registry_uri: str | None = None) -> None:
        if tracking_uri is None:
            # As MlflowClient(): the URI chosen by set_tracking_uri, else the environment.
            from heron.fluent import get_tracking_uri

            tracking_uri = get_tracking_uri()
        self._tracking_uri = tracking_uri
        self._backend: Backend | None = None
        del registry_uri  # the model registry arrives with its own issue

    @property
    def tracking_uri(self) -> str:
        return self._tracking_uri

    @property
    def backend(self) -> Backend:
        if self._backend is None:
            self._backend = open_backend(self._tracking_uri)
        return self._backend

    # ---- experiments -------------------------------------------------------------------

    def create_experiment(
        self,
        name: str,
        artifact_location: str | None = None,
        tags: dict[str, Any] | None = None,
    ) -> str:
        str_tags = {k: str(v) for k, v in (tags or {}).items()}
        return self.backend.create_experiment(name, artifact_location, str_tags)

    def get_experiment(self, experiment_id: str) -> Experiment:
        return self.backend.get_experiment(str(experiment_id))

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        return self.backend.get_experiment_by_name(name)

    def search_experiments(
        self,
        view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int = SEARCH_MAX_RESULTS_DEFAULT,
        filter_string: str | None = None,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        return self.backend.search_experiments(
            view_type, max_results, filter_string, order_by, page_token
        )

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        self.backend.rename_experiment(str(experiment_id), new_name)

    def set_experiment_tag(self, experiment_id: str, key: str, value: Any) -> None:
        self.backend.set_experiment_tag(str(experiment_id), key, str(value))

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        self.backend.delete_experiment_tag(str(experiment_id), key)

    def delete_experiment(self, experiment_id: str) -> int | None:
        """Soft-delete an experiment and its active runs; how many runs (None if the server
        does not say: MLflow's API answers nothing)."""
        return self.backend.delete_experiment(str(experiment_id))

    def restore_experiment(self, experiment_id: str) -> None:
        self.backend.restore_experiment(str(experiment_id))

    def purge_experiment(self, experiment_id: str) -> dict[str, Any]:
        """Permanently delete a deleted experiment, its runs and their artifacts; frees the name.

        Returns what was removed (experiments, runs, artifact_bytes, errors, ...: see ``gc``).
        """
        return self.backend.purge_experiment(str(experiment_id))

    def gc(
        self,
        older_than_ms: int,
        experiment_ids: Sequence[str] | None = None,
        dry_run: bool = False,
        progress: Callable[[int, int], None] | None = None,
    ) -> dict[str, Any]:
        """Permanently remove runs and experiments deleted at least ``older_than_ms`` ago.

        Rows first, then artifacts; the report counts experiments, runs, artifact locations
        and bytes, and lists what was skipped and every error. ``dry_run`` only measures.
        """
        ids = None if experiment_ids is None else [str(e) for e in experiment_ids]
        return self.backend.gc(older_than_ms, ids, dry_run=dry_run, progress=progress)

    # ---- runs --------------------------------------------------------------------------

    def create_run(
        self,
        experiment_id: str,
        start_time: int | None = None,
        tags: dict[str, Any] | None = None,
        run_name: str | None = None,
    ) -> Run:
        from heron.context import USER, current_user

        run_tags = {k: self._tag_value(k, v) for k, v in (tags or {}).items()}
        user = run_tags.get(USER) or current_user()
        return self.backend.create_run(
            str(experiment_id),
            user_id=user,
            start_time=start_time if start_time is not None else now_ms(),
            tags=[RunTag(k, v) for k, v in run_tags.items()],
            run_name=run_name,
        )

    def get_run(self, run_id: str) -> Run:
        return self.backend.get_run(run_id)

    def get_parent_run(self, run_id: str) -> Run | None:
        parent_id = self.get_run(run_id).data.tags.get("mlflow.parentRunId")
        return self.get_run(parent_id) if parent_id else None

    def update_run(self, run_id: str, status: str | None = None, name: str | None = None) -> None:
        end_time = now_ms() if status and RunStatus.is_terminated(status) else None
        self.backend.update_run_info(run_id, status=status, end_time=end_time, run_name=name)

    def set_terminated(
        self, run_id: str, status: str | None = None, end_time: int | None = None
    ) -> None:
        self.backend.update_run_info(
            run_id, status=status or "FINISHED", end_time=end_time or now_ms()
        )

    def delete_run(self, run_id: str) -> None:
        self.backend.delete_run(run_id)

    def restore_run(self, run_id: str) -> None:
        self.backend.restore_run(run_id)

    def search_runs(
        self,
        experiment_ids: str | Sequence[str],
        filter_string: str = "",
        run_view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int = SEARCH_MAX_RESULTS_DEFAULT,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        ids = [experiment_ids] if isinstance(experiment_ids, str) else list(experiment_ids)
        return self.backend.search_runs(
            [str(i) for i in ids], filter_string, run_view_type, max_results, order_by, page_token
        )

    # ---- what runs log -------------------------------------------------------------------

    def log_metric(
        self,
        run_id: str,
        key: str,
        value: float,
        timestamp: int | None = None,
        step: int | None = None,
        synchronous: bool | None = None,
        **_ignored: Any,
    ) -> None:
        metric = Metric(key, value, timestamp if timestamp is not None else now_ms(), step or 0)
        self.backend.log_batch(run_id, metrics=[metric])

    def log_param(self, run_id: str, key: str, value: Any, synchronous: bool | None = None) -> Any:
        self.backend.log_batch(run_id, params=[Param(key, self._param_value(key, value))])
        return value

    def set_tag(self, run_id: str, key: str, value: Any, synchronous: bool | None = None) -> None:
        self.backend.log_batch(run_id, tags=[RunTag(key, self._tag_value(key, value))])

    def delete_tag(self, run_id: str, key: str) -> None:
        self.backend.delete_tag(run_id, key)

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
        synchronous: bool | None = None,
    ) -> None:
        params = [Param(p.key, self._param_value(p.key, p.value)) for p in params]
        tags = [RunTag(t.key, self._tag_value(t.key, t.value)) for t in tags]
        self.backend.log_batch(run_id, list(metrics), params, tags)

    def log_inputs(
        self,
        run_id: str,
        datasets: Sequence[DatasetInput] | None = None,
        models: Sequence[Any] | None = None,
    ) -> None:
        self.backend.log_inputs(run_id, list(datasets or []))

    def log_input(
        self,
        run_id: str,
        dataset: Any,
        context: str | None = None,
        tags: dict[str, str] | None = None,
    ) -> None:
        self.log_inputs(run_id, [dataset_input(dataset, context, tags)])

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        history: list[Metric] = []
        token = None
        while True:
            page = self.backend.get_metric_history(run_id, key, page_token=token)
            history.extend(page)
            token = page.token
            if not token:
                return history

    # ---- value conversion ----------------------------------------------------------------

    def _param_value(self, key: str, value: Any) -> str:
        return truncate_long_value(key, str(value), MAX_PARAM_VAL_LENGTH, "param", _warn)

    def _tag_value(self, key: str, value: Any) -> str:
        return truncate_long_value(key, str(value), MAX_TAG_VAL_LENGTH, "tag", _warn)


MlflowClient = HeronClient


def _warn(message: str) -> None:
    warnings.warn(message, stacklevel=5)


def dataset_input(dataset: Any, context: str | None, tags: dict[str, str] | None) -> DatasetInput:
    """Accept Heron's Dataset entity or any object shaped like MLflow's dataset classes."""
    from heron.entities import Dataset

    if isinstance(dataset, Dataset):
        entity = dataset
    elif hasattr(dataset, "_to_mlflow_entity"):
        e = dataset._to_mlflow_entity()
        entity = Dataset(e.name, e.digest, e.source_type, e.source, e.schema, e.profile)
    else:
        raise invalid(
            f"Cannot log {type(dataset).__name__} as a dataset; give a heron.entities.Dataset"
        )
    input_tags = [InputTag(k, str(v)) for k, v in (tags or {}).items()]
    if context:
        input_tags.append(InputTag("mlflow.data.context", context))
    return DatasetInput(dataset=entity, tags=input_tags)
