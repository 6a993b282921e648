"""What a run logs: params, metrics (history plus latest value), tags and dataset inputs."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence

from sqlalchemy import Connection, and_, delete, insert, or_, select, update

from heron.entities import (
    DatasetInput,
    LifecycleStage,
    Metric,
    MetricHistory,
    PagedList,
    Param,
    RunTag,
)
from heron.exceptions import invalid, not_found
from heron.store import schema as s
from heron.store.applied_requests import (
    APPLIED_REQUEST_TTL_MS,
    prune_applied_requests,
    write_once,
)
from heron.store.base import chunks
from heron.store.metric_history import (
    decode_position,
    downsample,
    encode_position,
    read_histories,
    validate_history_request,
)
from heron.store.metric_rows import (
    MetricColumns,
    Points,
    Row,
    finite_only,
    metric_rows,
    store_points,
)
from heron.store.run_loader import metric_value
from heron.store.runs import RunStore
from heron.store.upsert import upsert
from heron.validation import (
    MAX_DATASET_DIGEST_SIZE,
    MAX_DATASET_NAME_SIZE,
    MAX_DATASET_PROFILE_SIZE,
    MAX_DATASET_SCHEMA_SIZE,
    MAX_DATASET_SOURCE_SIZE,
    MAX_DATASETS_PER_BATCH,
    MAX_INPUT_TAG_KEY_SIZE,
    MAX_INPUT_TAG_VALUE_SIZE,
    validate_batch,
    validate_batch_sizes,
    validate_key,
    validate_length,
    validate_max_results,
    validate_params_and_tags,
    validate_run_id,
)

MAX_RESULTS_GET_METRIC_HISTORY = 25000
MAX_BULK_POINTS = 1_000_000
MAX_BULK_RUNS = 1000


class RunDataStore(RunStore):
    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
        *,
        request_id: str | None = None,
    ) -> None:
        """All or nothing: every entity is validated before one transaction writes them.

        With a ``request_id`` the batch is stored at most once: a retry of an applied
        request changes nothing and succeeds.
        """
        validate_batch(metrics, params, tags)
        rows = metric_rows(run_id, metrics, finite_only(self.engine)) if metrics else []
        self._write_batch(run_id, rows, params, tags, request_id)

    def log_batch_columns(
        self,
        run_id: str,
        metrics: MetricColumns,
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
        *,
        request_id: str | None = None,
    ) -> None:
        """``log_batch`` with the metrics as columns (how the server parses log-batch), so
        no Metric object is built and each point is checked once, as it becomes a row."""
        validate_batch_sizes(len(metrics), params, tags)
        rows = metric_rows(run_id, metrics, finite_only(self.engine)) if len(metrics) else []
        validate_params_and_tags(params, tags)
        self._write_batch(run_id, rows, params, tags, request_id)

    def _write_batch(
        self,
        run_id: str,
        rows: list[Row],
        params: Sequence[Param],
        tags: Sequence[RunTag],
        request_id: str | None,
    ) -> None:
        # The rows were made before the transaction, so the write lock is held only to write.
        with write_once(self.engine, request_id) as once:
            if once.applied_run is not None:
                return
            conn = once.conn
            self._require_active_run(conn, run_id)
            once.record(run_id)  # first: a concurrent attempt waits here, not after the work
            _insert_params(conn, run_id, params)
            _upsert_tags(conn, run_id, tags)
            if rows:
                store_points(conn, rows)

    def prune_applied_requests(self, max_age_ms: int = APPLIED_REQUEST_TTL_MS) -> int:
        """Forget the ids of requests applied more than a day (``max_age_ms``) ago."""
        return prune_applied_requests(self.engine, max_age_ms)

    def log_metric(self, run_id: str, metric: Metric) -> None:
        self.log_batch(run_id, metrics=[metric])

    def log_param(self, run_id: str, param: Param) -> None:
        self.log_batch(run_id, params=[param])

    def set_tag(self, run_id: str, tag: RunTag) -> None:
        self.log_batch(run_id, tags=[tag])

    def delete_tag(self, run_id: str, key: str) -> None:
        with self._write() as conn:
            self._require_active_run(conn, run_id)
            result = conn.execute(
                delete(s.tags).where(s.tags.c.run_uuid == run_id, s.tags.c.key == key)
            )
            if result.rowcount == 0:
                raise not_found(f"No tag with name: {key} in run with id {run_id}")

    def log_metrics_bulk(
        self, batches: Mapping[str, Points], *, request_id: str | None = None
    ) -> int:
        """Many points of many runs (run id -> metrics, or their MetricColumns) in one
        transaction; how many were stored.

        All or nothing: every run must exist and be active and every point be valid, up to
        ``MAX_BULK_POINTS`` in all. With a ``request_id`` it is stored at most once.
        """
        total = sum(len(points) for points in batches.values())
        if total > MAX_BULK_POINTS:
            raise invalid(f"At most {MAX_BULK_POINTS} points can be logged at once, got {total}")
        if len(batches) > MAX_BULK_RUNS:
            raise invalid(f"At most {MAX_BULK_RUNS} runs can be logged at once, got {len(batches)}")
        run_ids = [validate_run_id(run_id) for run_id in batches]
        if not run_ids:
            return 0
        # Every point is checked before the write transaction (and its lock) begins.
        rows: list[Row] = []
        finite = finite_only(self.engine)
        for run_id, points in batches.items():
            metric_rows(run_id, points, finite, into=rows)
        with write_once(self.engine, request_id) as once:
            if once.applied_run is not None:
                return total
            conn = once.conn
            self._require_active_runs(conn, run_ids)
            once.record(run_ids[0])
            store_points(conn, rows)
        return total

    def _require_active_runs(self, conn: Connection, run_ids: Sequence[str]) -> None:
        r = s.runs.c
        stages = {
            row.run_uuid: row.lifecycle_stage
            for part in chunks(run_ids)
            for row in conn.execute(
                select(r.run_uuid, r.lifecycle_stage).where(r.run_uuid.in_(part))
            )
        }
        for run_id in run_ids:
            stage = stages.get(run_id)
            if stage is None:
                raise not_found(f"Run '{run_id}' not found")
            if stage != LifecycleStage.ACTIVE:
                raise invalid(
                    f"The run {run_id} must be in the 'active' state. Current state is {stage}."
                )

    def get_metric_histories(
        self,
        run_ids: Sequence[str],
        metric_keys: Sequence[str],
        max_points: int | None = None,
        start_step: int | None = None,
        end_step: int | None = None,
    ) -> list[MetricHistory]:
        """The history of each key of each run that has one (run order, then key order),
        within ``start_step``..``end_step`` if given, each downsampled to ``max_points``
        (see ``downsample``). Unknown runs and keys have no history, as in get-history."""
        runs, keys = validate_history_request(
            run_ids, metric_keys, max_points, start_step, end_step
        )
        with self._read() as conn:
            histories = read_histories(conn, runs, keys, start_step, end_step, max_points)
        return [downsample(h, max_points) for h in histories]

    def get_metric_history(
        self,
        run_id: str,
        metric_key: str,
        max_results: int | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        """Every logged value of one metric, in step order (then timestamp, then log order).

        Page tokens name the last point given, so each page is one index range read."""
        validate_key(metric_key, "metric")
        after = decode_position(page_token)
        m = s.metrics
        stmt = (
            select(m.c.key, m.c.value, m.c.is_nan, m.c.timestamp, m.c.step, m.c.metric_id)
            .where(m.c.run_uuid == run_id, m.c.key == metric_key)
            .order_by(m.c.step, m.c.timestamp, m.c.metric_id)
        )
        if after is not None:
            step, timestamp, metric_id = after
            stmt = stmt.where(
                or_(
                    m.c.step > step,
                    and_(
                        m.c.step == step,
                        or_(
                            m.c.timestamp > timestamp,
                            and_(m.c.timestamp == timestamp, m.c.metric_id > metric_id),
                        ),
                    ),
                )
            )
        limit = None
        if max_results is not None:
            limit = validate_max_results(max_results, MAX_RESULTS_GET_METRIC_HISTORY)
            stmt = stmt.limit(limit + 1)
        # An unknown run has no history: MLflow answers an empty list, and clients rely on it.
        with self._read() as conn:
            rows = conn.execute(stmt).all()
        history = [
            Metric(r.key, metric_value(r.value, r.is_nan), r.timestamp, r.step, run_id=run_id)
            for r in rows
        ]
        if limit is not None and len(history) > limit:
            last = rows[limit - 1]
            token = encode_position((last.step, last.timestamp, last.metric_id))
            return PagedList(history[:limit], token)
        return PagedList(history)

    def log_inputs(self, run_id: str, datasets: Sequence[DatasetInput] = ()) -> None:
        if len(datasets) > MAX_DATASETS_PER_BATCH:
            raise invalid(f"At most {MAX_DATASETS_PER_BATCH} datasets can be logged at once")
        for item in datasets:
            _validate_dataset_input(item)
        with self._write() as conn:
            self._require_active_run(conn, run_id)
            experiment_id = conn.execute(
                select(s.runs.c.experiment_id).where(s.runs.c.run_uuid == run_id)
            ).scalar_one()
            for item in datasets:
                _link_dataset(conn, run_id, experiment_id, item)


def _insert_params(conn: Connection, run_id: str, params: Sequence[Param]) -> None:
    if not params:
        return
    wanted = {p.key: p.value for p in params}
    existing = {
        row.key: row.value
        for part in chunks(list(wanted))
        for row in conn.execute(
            select(s.params.c.key, s.params.c.value).where(
                s.params.c.run_uuid == run_id, s.params.c.key.in_(part)
            )
        )
    }
    for key, value in wanted.items():
        if key in existing and existing[key] != value:
            raise invalid(
                f"Changing param values is not allowed. Param with key='{key}' was already logged "
                f"with value='{existing[key]}' for run ID='{run_id}'. "
                f"Attempted logging new value '{value}'."
            )
    new = [
        {"run_uuid": run_id, "key": k, "value": v} for k, v in wanted.items() if k not in existing
    ]
    if new:
        conn.execute(insert(s.params), new)


def _upsert_tags(conn: Connection, run_id: str, tags: Sequence[RunTag]) -> None:
    # The last value for a key wins, as if the tags had been set one after another.
    latest = {t.key: t.value for t in tags}
    rows = [{"run_uuid": run_id, "key": k, "value": v} for k, v in latest.items()]
    upsert(conn, s.tags, rows, keys=("run_uuid", "key"), update=("value",))
    if "mlflow.runName" in latest:
        conn.execute(
            update(s.runs).where(s.runs.c.run_uuid == run_id).values(name=latest["mlflow.runName"])
        )


def _validate_dataset_input(item: DatasetInput) -> None:
    ds = item.dataset
    for value, limit, what in (
        (ds.name, MAX_DATASET_NAME_SIZE, "dataset name"),
        (ds.digest, MAX_DATASET_DIGEST_SIZE, "dataset digest"),
        (ds.source, MAX_DATASET_SOURCE_SIZE, "dataset source"),
        (ds.schema or "", MAX_DATASET_SCHEMA_SIZE, "dataset schema"),
        (ds.profile or "", MAX_DATASET_PROFILE_SIZE, "dataset profile"),
    ):
        if not isinstance(value, str):
            raise invalid(f"The {what} must be a string, got {value!r}")
        validate_length(value, limit, what)
    for required in ("name", "digest", "source_type", "source"):
        if not getattr(ds, required):
            raise invalid(f"A dataset needs a non-empty {required}")
    for tag in item.tags:
        validate_length(tag.key, MAX_INPUT_TAG_KEY_SIZE, "input tag key")
        validate_length(tag.value, MAX_INPUT_TAG_VALUE_SIZE, "input tag value")


def _link_dataset(conn: Connection, run_id: str, experiment_id: int, item: DatasetInput) -> None:
    ds, d = item.dataset, s.datasets
    row = {
        "dataset_uuid": uuid.uuid4().hex,
        "experiment_id": experiment_id,
        "name": ds.name,
        "digest": ds.digest,
        "source_type": ds.source_type,
        "source": ds.source,
        "schema": ds.schema,
        "profile": ds.profile,
    }
    upsert(conn, d, [row], keys=("experiment_id", "name", "digest"), update=("source",))
    dataset_uuid = conn.execute(
        select(d.c.dataset_uuid).where(
            d.c.experiment_id == experiment_id, d.c.name == ds.name, d.c.digest == ds.digest
        )
    ).scalar_one()
    ri = s.run_inputs
    input_uuid = conn.execute(
        select(ri.c.input_uuid).where(ri.c.run_uuid == run_id, ri.c.dataset_uuid == dataset_uuid)
    ).scalar()
    if input_uuid is None:
        input_uuid = uuid.uuid4().hex
        conn.execute(
            insert(ri).values(input_uuid=input_uuid, run_uuid=run_id, dataset_uuid=dataset_uuid)
        )
    tag_rows = [{"input_uuid": input_uuid, "key": t.key, "value": t.value} for t in item.tags]
    upsert(conn, s.input_tags, tag_rows, keys=("input_uuid", "key"), update=("value",))
