"""HeronClient: the explicit object API, with MLflow's ``MlflowClient`` method names."""

from __future__ import annotations

import logging
import numbers
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from heron import log_queue
from heron.artifact_logging import ArtifactLogging
from heron.backends import Backend, open_backend
from heron.batches import send_batch
from heron.entities import (
    DatasetInput,
    Experiment,
    InputTag,
    Metric,
    MetricHistory,
    PagedList,
    Param,
    Run,
    RunStatus,
    RunTag,
    ViewType,
)
from heron.exceptions import HeronException, invalid
from heron.log_queue import (
    Batch,
    RunOperations,
    Update,
    async_enabled,
    existing_queue,
    flush_timeout,
    queue_for,
)
from heron.validation import (
    MAX_PARAM_VAL_LENGTH,
    MAX_TAG_VAL_LENGTH,
    SEARCH_MAX_RESULTS_DEFAULT,
    truncate_long_value,
    validate_key,
    validate_metric,
    validate_param,
    validate_run_id,
    validate_tag,
)

log = logging.getLogger("heron")


def now_ms() -> int:
    return int(time.time() * 1000)


def _metric(key: str, value: Any, timestamp: int | None, step: int | None) -> Metric:
    """A metric checked now, so a queued one cannot fail later for its own shape."""
    validate_key(key, "metric")  # remembers valid keys: a loop pays for the regex once
    if type(value) is not float:
        if isinstance(value, bool) or not isinstance(value, numbers.Number):
            raise invalid(
                f"Got invalid value {value!r} for metric '{key}'. Please specify value as a "
                "valid double (64-bit floating point)"
            )
        value = float(value)  # type: ignore[arg-type]
    metric = Metric(key, value, now_ms() if timestamp is None else timestamp, step or 0)
    if type(metric.timestamp) is not int or type(metric.step) is not int or metric.timestamp < 0:
        validate_metric(metric)
        metric = Metric(key, value, int(metric.timestamp), int(metric.step))
    return metric


class HeronClient(ArtifactLogging):
    """Talks to one tracking URI; every method maps to one operation of MLflow's API."""

    def __init__(self, tracking_uri: str | None = None, registry_uri: str | None = None) -> None:
        if tracking_uri is None:
            # As MlflowClient(): the URI chosen by set_tracking_uri, else the environment.
            from heron.fluent import get_tracking_uri

            tracking_uri = get_tracking_uri()
        self._tracking_uri = tracking_uri
        self._backend: Backend | None = None
        self._checked_runs: set[str] = set()
        self._async_setting: tuple[int, bool] | None = None
        del registry_uri  # the model registry arrives with its own issue

    @property
    def tracking_uri(self) -> str:
        return self._tracking_uri

    @property
    def backend(self) -> Backend:
        """The backend, once what this process queued for it is stored: every call but
        queued logging goes through here, so reads see earlier writes and order holds."""
        backend = self._open()
        queue = existing_queue(backend)
        if queue is not None and queue.pending:
            queue.flush()
        return backend

    def _open(self) -> Backend:
        if self._backend is None:
            self._backend = open_backend(self._tracking_uri)
        return self._backend

    def flush(self, timeout: float | None = None) -> None:
        """Wait until everything logged through this client's backend is stored; raise
        the first error a background send met."""
        queue = existing_queue(self._open())
        if queue is not None:
            queue.flush(timeout)

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
        """End a run, after everything logged for it (waits, at most HERON_FLUSH_TIMEOUT s,
        until it is stored; if the store is away, the end is kept in the spool too)."""
        status, end_time = status or "FINISHED", end_time or now_ms()
        queue = existing_queue(self._open())
        if queue is None or not self._async():
            self.backend.update_run_info(run_id, status=status, end_time=end_time)
            return
        timeout = flush_timeout()
        try:
            queue.flush(timeout)
        except HeronException:
            # A queued call failed: the run fails, as it would had the call raised in place.
            failed = "FAILED" if status == "FINISHED" else status
            queue.put(Update(run_id, failed, end_time), raise_errors=False)
            queue.flush(timeout, raise_errors=False)
            raise
        queue.put(Update(run_id, status, end_time))
        if not queue.flush(timeout) and queue.pending:
            log.warning(
                "Run %s: logged values are still being sent after %g s; they continue in "
                "the background and are spooled at exit if the store stays away.",
                run_id,
                timeout,
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
    ) -> RunOperations | None:
        """Log one value. Returns at once unless ``synchronous`` (or
        HERON_ASYNC_LOGGING=false): the value is queued and sent in the background."""
        metric = _metric(key, value, timestamp, step)
        return self._log(run_id, synchronous, metrics=(metric,))

    def log_param(self, run_id: str, key: str, value: Any, synchronous: bool | None = None) -> Any:
        param = validate_param(Param(key, self._param_value(key, value)))
        self._log(run_id, synchronous, params=(param,))
        return value

    def set_tag(
        self, run_id: str, key: str, value: Any, synchronous: bool | None = None
    ) -> RunOperations | None:
        tag = validate_tag(RunTag(key, self._tag_value(key, value)))
        return self._log(run_id, synchronous, tags=(tag,))

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
        synchronous: bool | None = None,
    ) -> RunOperations | None:
        """Any number of values for one run; split into requests within MLflow's limits."""
        checked_metrics = [_metric(m.key, m.value, m.timestamp, m.step) for m in metrics]
        checked_params = [
            validate_param(Param(p.key, self._param_value(p.key, p.value))) for p in params
        ]
        checked_tags = [validate_tag(RunTag(t.key, self._tag_value(t.key, t.value))) for t in tags]
        return self._log(run_id, synchronous, checked_metrics, checked_params, checked_tags)

    def _async(self) -> bool:
        """The async-logging setting, read from the environment when first needed."""
        held = self._async_setting
        if held is None or held[0] != log_queue.setting_generation:
            held = self._async_setting = (log_queue.setting_generation, async_enabled())
        return held[1]

    def _log(
        self,
        run_id: str,
        synchronous: bool | None,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
    ) -> RunOperations | None:
        if run_id not in self._checked_runs:
            validate_run_id(run_id)
            self._checked_runs.add(run_id)
        if synchronous or (synchronous is None and not self._async()):
            send_batch(self.backend, run_id, metrics, params, tags)
            return None
        queue = queue_for(self._open())
        queue.put(Batch(run_id, metrics, params, tags))
        return RunOperations(queue) if synchronous is False else None

    def delete_tag(self, run_id: str, key: str) -> None:
        self.backend.delete_tag(run_id, key)

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

    def get_metric_history(
        self, run_id: str, key: str, max_points: int | None = None
    ) -> list[Metric]:
        """Every point of one metric, in step order; with ``max_points``, at most that many
        that keep the curve's shape (see ``get_metric_histories``)."""
        histories = self.backend.get_metric_histories([run_id], [key], max_points=max_points)
        return histories[0].to_metrics() if histories else []

    def get_metric_histories(
        self,
        run_ids: Sequence[str],
        metric_keys: Sequence[str],
        max_points: int | None = None,
        start_step: int | None = None,
        end_step: int | None = None,
    ) -> list[MetricHistory]:
        """The history of each key of each run that has one, as columns (``steps``,
        ``values``, ``timestamps``), within ``start_step``..``end_step``.

        ``max_points`` downsamples each: the step range is cut into equal buckets, each
        keeping its smallest and largest value, and the first and last points stay.
        """
        return self.backend.get_metric_histories(
            run_ids, metric_keys, max_points, start_step, end_step
        )

    def log_metrics_bulk(
        self, batches: Mapping[str, Sequence[Metric]], *, request_id: str | None = None
    ) -> int:
        """Many points of many runs (run id -> metrics) at once, all or nothing per request;
        how many were stored. With a ``request_id``, sending it again stores nothing twice."""
        return self.backend.log_metrics_bulk(batches, request_id=request_id)

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
