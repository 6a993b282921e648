"""The one interface the client speaks to storage through.

Two adapters implement it: ``local`` (the SQL store in this process) and ``http`` (MLflow's
REST API on a server). The client's test suite runs against both.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from heron.artifacts import ArtifactRepository
from heron.entities import (
    DatasetInput,
    Experiment,
    Metric,
    MetricHistory,
    PagedList,
    Param,
    Run,
    RunInfo,
    RunTag,
)


class Backend(Protocol):
    tracking_uri: str

    # experiments
    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: dict[str, str] | None = None
    ) -> str: ...
    def get_experiment(self, experiment_id: str) -> Experiment: ...
    def get_experiment_by_name(self, name: str) -> Experiment | None: ...
    def search_experiments(
        self,
        view_type: int | str = ...,
        max_results: int = ...,
        filter_string: str | None = None,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList: ...
    def rename_experiment(self, experiment_id: str, new_name: str) -> None: ...
    def set_experiment_tag(self, experiment_id: str, key: str, value: str) -> None: ...
    def delete_experiment_tag(self, experiment_id: str, key: str) -> None: ...
    def delete_experiment(self, experiment_id: str) -> int | None:
        """Soft delete with its active runs; how many runs, or None when the server's
        answer does not say (MLflow's API answers an empty object)."""
        ...

    def restore_experiment(self, experiment_id: str) -> None: ...
    def purge_experiment(self, experiment_id: str) -> dict[str, Any]:
        """Permanently remove a deleted experiment, its runs and their artifacts: a gc report."""
        ...

    # garbage collection
    def gc(
        self,
        older_than_ms: int,
        experiment_ids: Sequence[str] | None = None,
        dry_run: bool = False,
        progress: Callable[[int, int], None] | None = None,
    ) -> dict[str, Any]:
        """Permanently remove what was deleted at least ``older_than_ms`` ago (0: all of it).

        Answers a report: ``experiments``, ``runs``, ``artifact_locations``,
        ``artifact_bytes``, ``experiment_names``, ``skipped``, ``kept_locations``,
        ``errors`` and ``dry_run``. ``progress(done, total)`` is called as rows and files
        go, where the work happens in this process.
        """
        ...

    # runs
    def create_run(
        self,
        experiment_id: str,
        user_id: str = "",
        start_time: int | None = None,
        tags: Sequence[RunTag] = (),
        run_name: str | None = None,
        *,
        request_id: str | None = None,
    ) -> Run: ...
    def get_run(self, run_id: str) -> Run: ...
    def update_run_info(
        self,
        run_id: str,
        status: str | int | None = None,
        end_time: int | None = None,
        run_name: str | None = None,
    ) -> RunInfo: ...
    def delete_run(self, run_id: str) -> None: ...
    def restore_run(self, run_id: str) -> None: ...
    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        run_view_type: int | str = ...,
        max_results: int = ...,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList: ...

    # what runs log
    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
        *,
        request_id: str | None = None,
    ) -> None:
        """All or nothing; with a ``request_id`` (a uuid), applied at most once however
        often it is sent (how the log queue and the spool replay without duplicates)."""
        ...

    def delete_tag(self, run_id: str, key: str) -> None: ...
    def log_inputs(self, run_id: str, datasets: Sequence[DatasetInput] = ()) -> None: ...
    def get_metric_history(
        self,
        run_id: str,
        metric_key: str,
        max_results: int | None = None,
        page_token: str | None = None,
    ) -> PagedList: ...
    def log_metrics_bulk(
        self, batches: Mapping[str, Sequence[Metric]], *, request_id: str | None = None
    ) -> int:
        """Many points of many runs (run id -> metrics) at once; how many were stored."""
        ...

    def get_metric_histories(
        self,
        run_ids: Sequence[str],
        metric_keys: Sequence[str],
        max_points: int | None = None,
        start_step: int | None = None,
        end_step: int | None = None,
    ) -> list[MetricHistory]:
        """The history of each key of each run that has one, in step order, within
        ``start_step``..``end_step``, downsampled (min/max per bucket) to ``max_points``."""
        ...

    # artifacts
    def artifact_repository(self, artifact_uri: str) -> ArtifactRepository: ...
