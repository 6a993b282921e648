"""Runs: create, read, update, delete, restore, search."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, insert, select, update

from heron.entities import LifecycleStage, PagedList, Run, RunInfo, RunStatus, RunTag, ViewType
from heron.exceptions import invalid, not_found
from heron.names import generate_run_name
from heron.store import schema as s
from heron.store.applied_requests import write_once
from heron.store.base import now_ms
from heron.store.experiments import ExperimentStore, purge_run_rows
from heron.store.run_loader import load_run_dicts, load_runs
from heron.store.search import (
    decode_page_token,
    encode_page_token,
    fetch_run_page,
    parse_filter,
    run_filter_clause,
)
from heron.store.upsert import upsert
from heron.validation import (
    MAX_RUN_NAME_LENGTH,
    SEARCH_MAX_RESULTS_DEFAULT,
    validate_experiment_id,
    validate_length,
    validate_max_results,
    validate_run_id,
    validate_tag,
)

RUN_NAME_TAG = "mlflow.runName"


class RunStore(ExperimentStore):
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
        """A new active run; with a ``request_id``, a retry answers the run created first."""
        for tag in tags:
            validate_tag(tag)  # before the keys go into a dict: they must be strings
        experiment = self._require_active(validate_experiment_id(experiment_id))
        tag_map = {t.key: t.value for t in tags}
        name = run_name or tag_map.get(RUN_NAME_TAG) or generate_run_name()
        if run_name and tag_map.get(RUN_NAME_TAG, run_name) != run_name:
            raise invalid(
                f"Both run_name ({run_name!r}) and the {RUN_NAME_TAG} tag "
                f"({tag_map[RUN_NAME_TAG]!r}) were given with different values."
            )
        validate_length(name, MAX_RUN_NAME_LENGTH, "run_name")
        tag_map[RUN_NAME_TAG] = name
        for key, value in tag_map.items():
            validate_tag(RunTag(key, value))
        run_id = uuid.uuid4().hex
        with write_once(self.engine, request_id) as once:
            if once.applied_run is None:
                once.conn.execute(
                    insert(s.runs).values(
                        run_uuid=run_id,
                        experiment_id=int(experiment.experiment_id),
                        name=name,
                        user_id=user_id or "",
                        status=RunStatus.to_string(RunStatus.RUNNING),
                        start_time=start_time if start_time is not None else now_ms(),
                        end_time=None,
                        lifecycle_stage=LifecycleStage.ACTIVE,
                        artifact_uri=f"{experiment.artifact_location.rstrip('/')}/{run_id}"
                        "/artifacts",
                    )
                )
                once.conn.execute(
                    insert(s.tags),
                    [{"run_uuid": run_id, "key": k, "value": v} for k, v in tag_map.items()],
                )
                once.record(run_id)  # after the run: the record refers to it
        return self.get_run(once.applied_run or run_id)

    def get_run(self, run_id: str) -> Run:
        validate_run_id(run_id)
        with self._read() as conn:
            found = load_runs(conn, [run_id])
        if not found:
            raise not_found(f"Run '{run_id}' not found")
        return found[0]

    def update_run_info(
        self,
        run_id: str,
        status: str | int | None = None,
        end_time: int | None = None,
        run_name: str | None = None,
    ) -> RunInfo:
        values: dict[str, object] = {}
        if status is not None:
            try:
                values["status"] = RunStatus.to_string(status)
            except ValueError as exc:
                raise invalid(str(exc)) from None
        if end_time is not None:
            values["end_time"] = end_time
        if run_name:
            values["name"] = validate_length(run_name, MAX_RUN_NAME_LENGTH, "run_name")
        with self._write() as conn:
            self._require_active_run(conn, run_id)
            if values:
                conn.execute(update(s.runs).where(s.runs.c.run_uuid == run_id).values(**values))
            if run_name:
                upsert(
                    conn,
                    s.tags,
                    [{"run_uuid": run_id, "key": RUN_NAME_TAG, "value": run_name}],
                    keys=("run_uuid", "key"),
                    update=("value",),
                )
        return self.get_run(run_id).info

    def delete_run(self, run_id: str) -> None:
        self._set_run_stage(run_id, LifecycleStage.DELETED, now_ms())

    def restore_run(self, run_id: str) -> None:
        self._set_run_stage(run_id, LifecycleStage.ACTIVE, None)

    def _set_run_stage(self, run_id: str, stage: str, deleted_time: int | None) -> None:
        validate_run_id(run_id)
        with self._write() as conn:
            row = conn.execute(
                select(s.runs.c.experiment_id).where(s.runs.c.run_uuid == run_id)
            ).first()
            if row is None:
                raise not_found(f"Run with id={run_id} not found")
            if stage == LifecycleStage.ACTIVE:
                self._require_experiment_active(conn, row.experiment_id, run_id)
            conn.execute(
                update(s.runs)
                .where(s.runs.c.run_uuid == run_id)
                .values(lifecycle_stage=stage, deleted_time=deleted_time)
            )

    def _require_experiment_active(self, conn: Connection, experiment_id: int, run_id: str) -> None:
        stage = conn.execute(
            select(s.experiments.c.lifecycle_stage).where(
                s.experiments.c.experiment_id == experiment_id
            )
        ).scalar_one()
        if stage != LifecycleStage.ACTIVE:
            raise invalid(
                f"Cannot restore run {run_id}: its experiment {experiment_id} is deleted. "
                "Restore the experiment first."
            )

    def purge_runs(self, run_ids: Sequence[str]) -> int:
        """Permanently remove deleted runs' rows; active runs are refused, not skipped."""
        ids = [validate_run_id(r) for r in run_ids]
        with self._write() as conn:
            rows = conn.execute(
                select(s.runs.c.run_uuid, s.runs.c.lifecycle_stage).where(
                    s.runs.c.run_uuid.in_(ids)
                )
            ).all()
            missing = set(ids) - {r.run_uuid for r in rows}
            if missing:
                raise not_found(f"Runs not found: {', '.join(sorted(missing))}")
            active = [r.run_uuid for r in rows if r.lifecycle_stage != LifecycleStage.DELETED]
            if active:
                raise invalid(f"Runs must be deleted before they are purged: {', '.join(active)}")
            purge_run_rows(conn, ids)
        return len(ids)

    def _require_active_run(self, conn: Connection, run_id: str) -> None:
        validate_run_id(run_id)
        stage = conn.execute(
            select(s.runs.c.lifecycle_stage).where(s.runs.c.run_uuid == run_id)
        ).scalar()
        if stage is None:
            raise not_found(f"Run '{run_id}' not found")
        if stage != LifecycleStage.ACTIVE:
            raise invalid(
                f"The run {run_id} must be in the 'active' state. Current state is {stage}."
            )

    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        run_view_type: int | str = ViewType.ACTIVE_ONLY,
        max_results: int = SEARCH_MAX_RESULTS_DEFAULT,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        return self._search_run_page(
            load_runs,
            experiment_ids,
            filter_string,
            run_view_type,
            max_results,
            order_by,
            page_token,
        )

    def search_run_dicts(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        run_view_type: int | str = ViewType.ACTIVE_ONLY,
        max_results: int = SEARCH_MAX_RESULTS_DEFAULT,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        """``search_runs``, each run in its JSON-safe wire form (``load_run_dicts``): what
        the server answers, without building the entities first."""
        return self._search_run_page(
            load_run_dicts,
            experiment_ids,
            filter_string,
            run_view_type,
            max_results,
            order_by,
            page_token,
        )

    def _search_run_page(
        self,
        loader: Callable[[Connection, Sequence[str]], Sequence[Any]],
        experiment_ids: Sequence[str],
        filter_string: str | None,
        run_view_type: int | str,
        max_results: int,
        order_by: Sequence[str] | None,
        page_token: str | None,
    ) -> PagedList:
        view = ViewType.coerce(run_view_type)
        max_results = validate_max_results(max_results)
        offset = decode_page_token(page_token)
        # An id that is not a number names no experiment, so it matches no run.
        ids = [
            int(e)
            for e in map(validate_experiment_id, experiment_ids)
            if e.isdigit() and int(e) < 2**63
        ]
        stmt = select(s.runs.c.run_uuid).where(s.runs.c.experiment_id.in_(ids))
        if view != ViewType.ALL:
            stage = (
                LifecycleStage.ACTIVE if view == ViewType.ACTIVE_ONLY else LifecycleStage.DELETED
            )
            stmt = stmt.where(s.runs.c.lifecycle_stage == stage)
        node = parse_filter(filter_string)
        if node is not None:
            stmt = stmt.where(run_filter_clause(node))
        with self._read() as conn:
            found = fetch_run_page(conn, stmt, order_by, offset, max_results + 1)
            page = found[:max_results]
            # The loader keeps the order of the ids and leaves out any deleted meanwhile.
            runs = loader(conn, page)
        token = encode_page_token(offset + max_results) if len(found) > max_results else None
        return PagedList(runs, token)
