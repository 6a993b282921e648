"""The fluent API: module-level functions over an active-run stack, as in ``mlflow``.

State lives in one ``_Session`` object: the tracking URI chosen by ``set_tracking_uri``,
the active experiment, and (per thread and task, through a context variable) the stack of
active runs.
"""

from __future__ import annotations

import atexit
import contextvars
import os
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from heron import context
from heron.client import HeronClient, dataset_input
from heron.entities import (
    Experiment,
    FileInfo,
    Metric,
    Param,
    Run,
    RunStatus,
    RunTag,
    ViewType,
)
from heron.exceptions import HeronException, invalid
from heron.log_queue import RunOperations, flush_all, install_exit_hook
from heron.tracking_uri import default_tracking_uri, tracking_uri_from_env
from heron.validation import SEARCH_MAX_RESULTS_DEFAULT

SEARCH_MAX_RESULTS_PANDAS = 100000
_EXPERIMENT_NAME_ENV = ("HERON_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_NAME")
_EXPERIMENT_ID_ENV = ("HERON_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_ID")


@dataclass(frozen=True)
class ActiveRun(Run):
    """The run ``start_run`` returned; as a context manager it ends the run on exit,
    FINISHED normally, FAILED after an exception, KILLED after Ctrl-C."""

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            status = "FINISHED"
        elif issubclass(exc_type, KeyboardInterrupt):
            status = "KILLED"
        else:
            status = "FAILED"
        _end_run_by_id(self.info.run_id, status)


class _Session:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.tracking_uri: str | None = None
        self.experiment_id: str | None = None
        self.client: HeronClient | None = None
        self.runs: contextvars.ContextVar[tuple[ActiveRun, ...]] = contextvars.ContextVar(
            "heron_active_runs", default=()
        )
        self.last_run_id: str | None = None
        self.hooks_installed = False

    def get_client(self) -> HeronClient:
        client, uri = self.client, self.tracking_uri
        if client is not None and uri is not None and client.tracking_uri == uri:
            return client  # the hot path of log_metric: no lock, no environment lookup
        with self.lock:
            uri = get_tracking_uri()
            if self.client is None or self.client.tracking_uri != uri:
                self.client = HeronClient(uri)
            return self.client


_session = _Session()


# ---- tracking URI and experiments -------------------------------------------------------


def set_tracking_uri(uri: str | os.PathLike[str]) -> None:
    """Where runs go from now on: a folder, a database URL, or an http(s) server."""
    with _session.lock:
        _session.tracking_uri = os.fspath(uri)
        _session.client = None
        _session.experiment_id = None


def get_tracking_uri() -> str:
    return _session.tracking_uri or tracking_uri_from_env() or default_tracking_uri()


def is_tracking_uri_set() -> bool:
    return _session.tracking_uri is not None or tracking_uri_from_env() is not None


def create_experiment(
    name: str, artifact_location: str | None = None, tags: dict[str, Any] | None = None
) -> str:
    return _client().create_experiment(name, artifact_location, tags)


def set_experiment(
    experiment_name: str | None = None, experiment_id: str | None = None
) -> Experiment:
    """Make an experiment active, creating it by name if needed; returns it."""
    if (experiment_name is None) == (experiment_id is None):
        raise invalid("Give exactly one of experiment_name or experiment_id")
    client = _client()
    if experiment_id is not None:
        experiment = client.get_experiment(str(experiment_id))
    else:
        assert experiment_name is not None
        found = client.get_experiment_by_name(experiment_name)
        if found is None:
            try:
                client.create_experiment(experiment_name)
            except HeronException as exc:  # another process created it first
                if exc.error_code != "RESOURCE_ALREADY_EXISTS":
                    raise
            found = client.get_experiment_by_name(experiment_name)
        assert found is not None
        experiment = found
    if experiment.lifecycle_stage != "active":
        raise invalid(
            f"Cannot set a deleted experiment {experiment.name!r} as the active experiment. "
            "Restore it first (heron experiments restore), or delete it permanently."
        )
    _session.experiment_id = experiment.experiment_id
    return experiment


def get_experiment(experiment_id: str) -> Experiment:
    return _client().get_experiment(experiment_id)


def get_experiment_by_name(name: str) -> Experiment | None:
    return _client().get_experiment_by_name(name)


def search_experiments(
    view_type: int = ViewType.ACTIVE_ONLY,
    max_results: int | None = None,
    filter_string: str | None = None,
    order_by: list[str] | None = None,
) -> list[Experiment]:
    """Every matching experiment (all pages), or the first ``max_results``."""
    return _collect(
        lambda n, token: _client().search_experiments(view_type, n, filter_string, order_by, token),
        max_results,
    )


def delete_experiment(experiment_id: str) -> None:
    _client().delete_experiment(experiment_id)


def set_experiment_tag(key: str, value: Any) -> None:
    _client().set_experiment_tag(_active_experiment_id(), key, value)


def set_experiment_tags(tags: dict[str, Any]) -> None:
    for key, value in tags.items():
        set_experiment_tag(key, value)


def delete_experiment_tag(key: str) -> None:
    _client().delete_experiment_tag(_active_experiment_id(), key)


def _active_experiment_id() -> str:
    if _session.experiment_id is not None:
        return _session.experiment_id
    for name in _EXPERIMENT_ID_ENV:
        if os.environ.get(name):
            return os.environ[name]
    for name in _EXPERIMENT_NAME_ENV:
        if os.environ.get(name):
            return set_experiment(os.environ[name]).experiment_id
    return "0"


# ---- runs -------------------------------------------------------------------------------


def start_run(
    run_id: str | None = None,
    experiment_id: str | None = None,
    run_name: str | None = None,
    nested: bool = False,
    parent_run_id: str | None = None,
    tags: dict[str, Any] | None = None,
    description: str | None = None,
    log_system_metrics: bool | None = None,
) -> ActiveRun:
    """Start a new run (or resume ``run_id``) and make it the active run."""
    stack = _session.runs.get()
    if stack and not nested and parent_run_id is None:
        raise invalid(
            f"Run with UUID {stack[-1].info.run_id} is already active. To start a new run, first "
            "end the current run with heron.end_run(). To start a nested run, call start_run "
            "with nested=True"
        )
    client = _client()
    if run_id is not None:
        run = _resume(client, run_id, run_name, tags)
    else:
        parent = parent_run_id or (stack[-1].info.run_id if stack else None)
        run = client.create_run(
            experiment_id=str(experiment_id)
            if experiment_id is not None
            else _active_experiment_id(),
            tags=_new_run_tags(tags, parent, description),
            run_name=run_name,
        )
    active = ActiveRun(run.info, run.data, run.inputs)
    _session.runs.set((*stack, active))
    _session.last_run_id = run.info.run_id
    _install_exit_hooks()
    return active


def _new_run_tags(
    tags: dict[str, Any] | None, parent: str | None, description: str | None
) -> dict[str, Any]:
    merged: dict[str, Any] = context.default_run_tags()
    merged.update(tags or {})
    if parent:
        merged[context.PARENT_RUN_ID] = parent
    if description:
        merged[context.NOTE] = description
    return merged


def _resume(
    client: HeronClient, run_id: str, run_name: str | None, tags: dict[str, Any] | None
) -> Run:
    existing = client.get_run(run_id)
    if existing.info.lifecycle_stage != "active":
        raise invalid(f"Cannot start run with ID {run_id} because it is in the deleted state.")
    client.backend.update_run_info(run_id, status="RUNNING", run_name=run_name)
    for key, value in (tags or {}).items():
        client.set_tag(run_id, key, value)
    return client.get_run(run_id)


def end_run(status: str = "FINISHED") -> None:
    """End the active run (the innermost one) with ``status``."""
    stack = _session.runs.get()
    if stack:
        _end_run_by_id(stack[-1].info.run_id, status)


def _end_run_by_id(run_id: str, status: str) -> None:
    stack = _session.runs.get()
    try:
        _client().set_terminated(run_id, RunStatus.to_string(status))
    finally:
        _session.runs.set(tuple(r for r in stack if r.info.run_id != run_id))
        _session.last_run_id = run_id


def active_run() -> ActiveRun | None:
    stack = _session.runs.get()
    return stack[-1] if stack else None


def last_active_run() -> Run | None:
    current = active_run()
    if current is not None:
        return get_run(current.info.run_id)
    return get_run(_session.last_run_id) if _session.last_run_id else None


def get_run(run_id: str) -> Run:
    return _client().get_run(run_id)


def get_parent_run(run_id: str) -> Run | None:
    return _client().get_parent_run(run_id)


def delete_run(run_id: str) -> None:
    _client().delete_run(run_id)


def _run_id(run_id: str | None = None) -> str:
    """The given run, else the active one, else a new run started for this call (as MLflow)."""
    if run_id:
        return run_id
    current = active_run()
    return (current or start_run()).info.run_id


# ---- logging ------------------------------------------------------------------------------


def log_param(key: str, value: Any, synchronous: bool | None = None) -> Any:
    """Log a param of the active run; returns ``value``. Queued unless ``synchronous``."""
    return _client().log_param(_run_id(), key, value, synchronous=synchronous)


def log_params(
    params: dict[str, Any], synchronous: bool | None = None, run_id: str | None = None
) -> RunOperations | None:
    batch = [Param(k, v) for k, v in params.items()]
    return _client().log_batch(_run_id(run_id), params=batch, synchronous=synchronous)


def log_metric(
    key: str,
    value: float,
    step: int | None = None,
    synchronous: bool | None = None,
    timestamp: int | None = None,
    run_id: str | None = None,
    **_ignored: Any,
) -> RunOperations | None:
    """Log a metric value of the active run. It is queued and sent in the background, so
    this returns in microseconds; ``synchronous=True`` waits until it is stored."""
    return _client().log_metric(_run_id(run_id), key, value, timestamp, step, synchronous)


def log_metrics(
    metrics: dict[str, float],
    step: int | None = None,
    synchronous: bool | None = None,
    run_id: str | None = None,
    timestamp: int | None = None,
    **_ignored: Any,
) -> RunOperations | None:
    ts = timestamp if timestamp is not None else int(time.time() * 1000)
    batch = [Metric(k, v, ts, step or 0) for k, v in metrics.items()]
    return _client().log_batch(_run_id(run_id), metrics=batch, synchronous=synchronous)


def set_tag(key: str, value: Any, synchronous: bool | None = None) -> RunOperations | None:
    return _client().set_tag(_run_id(), key, value, synchronous=synchronous)


def set_tags(tags: dict[str, Any], synchronous: bool | None = None) -> RunOperations | None:
    batch = [RunTag(k, v) for k, v in tags.items()]
    return _client().log_batch(_run_id(), tags=batch, synchronous=synchronous)


def flush(timeout: float | None = None) -> None:
    """Wait until every value logged in this process is stored (or, with the store away,
    kept in the spool); raise the first error a background send met."""
    flush_all(timeout)


flush_async_logging = flush  # MLflow's name


def delete_tag(key: str) -> None:
    _client().delete_tag(_run_id(), key)


def log_input(
    dataset: Any,
    context: str | None = None,
    tags: dict[str, str] | None = None,
    model: Any = None,
) -> None:
    _client().log_inputs(_run_id(), [dataset_input(dataset, context, tags)])


# ---- artifacts ------------------------------------------------------------------------------


def log_artifact(
    local_path: str | os.PathLike[str], artifact_path: str | None = None, run_id: str | None = None
) -> None:
    _client().log_artifact(_run_id(run_id), local_path, artifact_path)


def log_artifacts(
    local_dir: str | os.PathLike[str], artifact_path: str | None = None, run_id: str | None = None
) -> None:
    _client().log_artifacts(_run_id(run_id), local_dir, artifact_path)


def log_text(text: str, artifact_file: str, run_id: str | None = None) -> None:
    _client().log_text(_run_id(run_id), text, artifact_file)


def log_dict(dictionary: dict[str, Any], artifact_file: str, run_id: str | None = None) -> None:
    _client().log_dict(_run_id(run_id), dictionary, artifact_file)


def log_figure(
    figure: Any,
    artifact_file: str,
    *,
    save_kwargs: dict[str, Any] | None = None,
    run_id: str | None = None,
) -> None:
    _client().log_figure(_run_id(run_id), figure, artifact_file, save_kwargs=save_kwargs)


def log_image(
    image: Any,
    artifact_file: str | None = None,
    key: str | None = None,
    step: int | None = None,
    timestamp: int | None = None,
    synchronous: bool | None = False,
    run_id: str | None = None,
) -> None:
    _client().log_image(_run_id(run_id), image, artifact_file, key, step, timestamp)


def log_table(data: Any, artifact_file: str, run_id: str | None = None) -> None:
    _client().log_table(_run_id(run_id), data, artifact_file)


def load_table(
    artifact_file: str,
    run_ids: list[str] | None = None,
    extra_columns: list[str] | None = None,
) -> Any:
    return _client().load_table(_active_experiment_id(), artifact_file, run_ids, extra_columns)


def get_artifact_uri(artifact_path: str | None = None) -> str:
    base = get_run(_run_id()).info.artifact_uri
    return f"{base.rstrip('/')}/{artifact_path.lstrip('/')}" if artifact_path else base


def list_artifacts(run_id: str, path: str | None = None) -> list[FileInfo]:
    return _client().list_artifacts(run_id, path)


# ---- search ---------------------------------------------------------------------------------


def search_runs(
    experiment_ids: list[str] | None = None,
    filter_string: str = "",
    run_view_type: int = ViewType.ACTIVE_ONLY,
    max_results: int = SEARCH_MAX_RESULTS_PANDAS,
    order_by: list[str] | None = None,
    output_format: str = "pandas",
    search_all_experiments: bool = False,
    experiment_names: list[str] | None = None,
) -> Any:
    """Runs matching the filter: a pandas DataFrame by default, ``output_format="list"``
    for Run objects."""
    if output_format not in ("pandas", "list"):
        raise invalid(f"Unsupported output_format {output_format!r}; use 'pandas' or 'list'")
    ids = _search_experiment_ids(experiment_ids, experiment_names, search_all_experiments)
    runs = (
        _collect(
            lambda n, token: _client().search_runs(
                ids, filter_string, run_view_type, n, order_by, token
            ),
            max_results,
        )
        if ids
        else []
    )
    if output_format == "list":
        return runs
    from heron.frames import runs_to_dataframe

    return runs_to_dataframe(runs)


def _search_experiment_ids(
    experiment_ids: Sequence[str] | None,
    experiment_names: Sequence[str] | None,
    search_all: bool,
) -> list[str]:
    if experiment_ids and experiment_names:
        raise invalid("Give experiment_ids or experiment_names, not both")
    if experiment_names:
        found = [get_experiment_by_name(n) for n in experiment_names]
        return [e.experiment_id for e in found if e is not None]
    if experiment_ids:
        return [str(e) for e in experiment_ids]
    if search_all:
        return [e.experiment_id for e in search_experiments(view_type=ViewType.ALL)]
    return [_active_experiment_id()]


def _collect(fetch: Any, max_results: int | None) -> list[Any]:
    """Follow page tokens until ``max_results`` items (or all of them) are gathered."""
    items: list[Any] = []
    token = None
    while max_results is None or len(items) < max_results:
        want = SEARCH_MAX_RESULTS_DEFAULT if max_results is None else max_results - len(items)
        page = fetch(min(want, 50000), token)
        items.extend(page)
        token = page.token
        if not token:
            break
    return items


def _client() -> HeronClient:
    return _session.get_client()


# ---- process exit ------------------------------------------------------------------------------


def _install_exit_hooks() -> None:
    """End runs left open at exit: FAILED after an uncaught exception, else FINISHED."""
    with _session.lock:
        if _session.hooks_installed:
            return
        _session.hooks_installed = True
    previous = sys.excepthook

    def hook(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        status = "KILLED" if issubclass(exc_type, KeyboardInterrupt) else "FAILED"
        _end_all_runs(status)
        previous(exc_type, exc, tb)

    sys.excepthook = hook
    install_exit_hook()  # registered first, so it runs after the runs below are ended
    atexit.register(_end_all_runs, "FINISHED")


def _end_all_runs(status: str) -> None:
    while active_run() is not None:
        try:
            end_run(status)
        except Exception:  # exit must not raise; the run stays RUNNING and is visible
            break
