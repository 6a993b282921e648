"""Experiments: create, read, search, rename, tag, delete, restore, purge."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from heron.entities import Experiment, LifecycleStage, PagedList, ViewType
from heron.exceptions import already_exists, invalid, not_found
from heron.store import schema as s
from heron.store.base import StoreBase, chunks, now_ms
from heron.store.search import (
    apply_experiment_order,
    decode_page_token,
    encode_page_token,
    experiment_filter_clause,
    parse_filter,
)
from heron.validation import (
    MAX_ARTIFACT_LOCATION_LENGTH,
    SEARCH_MAX_RESULTS_DEFAULT,
    experiment_key,
    validate_experiment_name,
    validate_experiment_tag,
    validate_length,
    validate_max_results,
)

DEFAULT_EXPERIMENT_ID = "0"


class ExperimentStore(StoreBase):
    def create_experiment(
        self,
        name: str,
        artifact_location: str | None = None,
        tags: dict[str, str] | None = None,
    ) -> str:
        validate_experiment_name(name)
        if artifact_location:
            validate_length(artifact_location, MAX_ARTIFACT_LOCATION_LENGTH, "artifact_location")
            if artifact_location.startswith("runs:"):
                raise invalid("An experiment's artifact location cannot be a runs:/ URI")
        for key, value in (tags or {}).items():
            validate_experiment_tag(key, value)
        now = now_ms()
        with self._write() as conn:
            self._check_name_free(conn, name)
            try:
                result = conn.execute(
                    insert(s.experiments).values(
                        name=name,
                        artifact_location=artifact_location or "",
                        lifecycle_stage=LifecycleStage.ACTIVE,
                        creation_time=now,
                        last_update_time=now,
                    )
                )
            except IntegrityError:
                # Another process created this name after our check (PostgreSQL and MySQL
                # writers do not take turns as SQLite's do): the unique key decided.
                raise already_exists(f"Experiment '{name}' already exists.") from None
            assert result.inserted_primary_key is not None
            experiment_id = result.inserted_primary_key[0]
            if not artifact_location:
                conn.execute(
                    update(s.experiments)
                    .where(s.experiments.c.experiment_id == experiment_id)
                    .values(artifact_location=f"{self.default_artifact_root}/{experiment_id}")
                )
            if tags:
                conn.execute(
                    insert(s.experiment_tags),
                    [
                        {"experiment_id": experiment_id, "key": k, "value": v}
                        for k, v in tags.items()
                    ],
                )
        return str(experiment_id)

    def _check_name_free(self, conn: Connection, name: str) -> None:
        row = conn.execute(
            select(s.experiments.c.lifecycle_stage).where(s.experiments.c.name == name)
        ).first()
        if row is None:
            return
        if row.lifecycle_stage == LifecycleStage.DELETED:
            raise already_exists(
                f"Experiment '{name}' already exists in deleted state. Restore it, or delete it "
                "permanently to free the name (heron experiments delete --permanent)."
            )
        raise already_exists(f"Experiment '{name}' already exists.")

    def get_experiment(self, experiment_id: str) -> Experiment:
        key = experiment_key(experiment_id)
        with self._read() as conn:
            found = self._load_experiments(conn, s.experiments.c.experiment_id == key)
        if not found:
            raise not_found(f"No Experiment with id={experiment_id} exists")
        return found[0]

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        with self._read() as conn:
            found = self._load_experiments(conn, s.experiments.c.name == name)
        return found[0] if found else None

    def search_experiments(
        self,
        view_type: int | str = ViewType.ACTIVE_ONLY,
        max_results: int = SEARCH_MAX_RESULTS_DEFAULT,
        filter_string: str | None = None,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        view = ViewType.coerce(view_type)
        max_results = validate_max_results(max_results)
        offset = decode_page_token(page_token)
        stmt = select(s.experiments.c.experiment_id).where(_stage_clause(view))
        node = parse_filter(filter_string)
        if node is not None:
            stmt = stmt.where(experiment_filter_clause(node))
        stmt = apply_experiment_order(stmt, order_by).offset(offset).limit(max_results + 1)
        with self._read() as conn:
            ids = [row[0] for row in conn.execute(stmt)]
            page = ids[:max_results]
            loaded = {
                e.experiment_id: e
                for e in self._load_experiments(conn, s.experiments.c.experiment_id.in_(page))
            }
        token = encode_page_token(offset + max_results) if len(ids) > max_results else None
        return PagedList([loaded[str(i)] for i in page], token)

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        validate_experiment_name(new_name)
        experiment = self.get_experiment(experiment_id)
        if experiment.lifecycle_stage != LifecycleStage.ACTIVE:
            raise invalid(
                f"Cannot rename a non-active experiment ({experiment_id}); restore it first."
            )
        with self._write() as conn:
            if new_name != experiment.name:
                self._check_name_free(conn, new_name)
            self._touch(conn, experiment_id, name=new_name)

    def set_experiment_tag(self, experiment_id: str, key: str, value: str) -> None:
        validate_experiment_tag(key, value)
        self._require_active(experiment_id)
        from heron.store.upsert import upsert

        with self._write() as conn:
            upsert(
                conn,
                s.experiment_tags,
                [{"experiment_id": int(experiment_id), "key": key, "value": value}],
                keys=("experiment_id", "key"),
                update=("value",),
            )
            self._touch(conn, experiment_id)

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        self._require_active(experiment_id)
        table = s.experiment_tags
        with self._write() as conn:
            result = conn.execute(
                delete(table).where(table.c.experiment_id == int(experiment_id), table.c.key == key)
            )
            if result.rowcount == 0:
                raise not_found(f"No tag with name '{key}' in experiment {experiment_id}")
            self._touch(conn, experiment_id)

    def delete_experiment(self, experiment_id: str) -> int:
        """Soft delete: the experiment and its active runs move to the deleted stage.

        Returns how many runs were deleted with it. One UPDATE moves them all, so an
        experiment with 10,000 runs takes milliseconds, not a round trip per run.
        """
        self._require_active(experiment_id)
        now = now_ms()
        with self._write() as conn:
            self._touch(
                conn, experiment_id, lifecycle_stage=LifecycleStage.DELETED, deleted_time=now
            )
            result = conn.execute(
                update(s.runs)
                .where(
                    s.runs.c.experiment_id == int(experiment_id),
                    s.runs.c.lifecycle_stage == LifecycleStage.ACTIVE,
                )
                .values(lifecycle_stage=LifecycleStage.DELETED, deleted_time=now)
            )
        return int(result.rowcount)

    def restore_experiment(self, experiment_id: str) -> None:
        """Undo delete_experiment, bringing back the runs that were deleted along with it."""
        key = experiment_key(experiment_id)
        with self._write() as conn:
            row = conn.execute(
                select(s.experiments.c.lifecycle_stage, s.experiments.c.deleted_time).where(
                    s.experiments.c.experiment_id == key
                )
            ).first()
            if row is None:
                raise not_found(f"No Experiment with id={experiment_id} exists")
            if row.lifecycle_stage != LifecycleStage.DELETED:
                raise invalid(f"Cannot restore an active experiment ({experiment_id})")
            self._touch(
                conn, experiment_id, lifecycle_stage=LifecycleStage.ACTIVE, deleted_time=None
            )
            conn.execute(
                update(s.runs)
                .where(
                    s.runs.c.experiment_id == int(experiment_id),
                    s.runs.c.deleted_time == row.deleted_time,
                )
                .values(lifecycle_stage=LifecycleStage.ACTIVE, deleted_time=None)
            )

    def _require_purgeable(self, experiment_id: str) -> Experiment:
        """The experiment, if it may be deleted permanently: deleted, and not the Default."""
        experiment = self.get_experiment(experiment_id)
        if experiment.experiment_id == DEFAULT_EXPERIMENT_ID:
            raise invalid("The Default experiment (id 0) cannot be deleted permanently.")
        if experiment.lifecycle_stage != LifecycleStage.DELETED:
            raise invalid(
                f"Experiment {experiment_id} is active; delete it first, "
                "then delete it permanently."
            )
        return experiment

    def _require_active(self, experiment_id: str) -> Experiment:
        experiment = self.get_experiment(experiment_id)
        if experiment.lifecycle_stage != LifecycleStage.ACTIVE:
            raise invalid(
                f"The experiment {experiment_id} must be in the 'active' state. "
                f"Current state is {experiment.lifecycle_stage}."
            )
        return experiment

    def _touch(self, conn: Connection, experiment_id: str, **values: Any) -> None:
        conn.execute(
            update(s.experiments)
            .where(s.experiments.c.experiment_id == int(experiment_id))
            .values(last_update_time=now_ms(), **values)
        )

    def _load_experiments(self, conn: Connection, where: Any) -> list[Experiment]:
        rows = conn.execute(select(s.experiments).where(where)).all()
        tags: dict[int, dict[str, str]] = defaultdict(dict)
        ids = [r.experiment_id for r in rows]
        for part in chunks(ids):
            for tag in conn.execute(
                select(s.experiment_tags).where(s.experiment_tags.c.experiment_id.in_(part))
            ):
                tags[tag.experiment_id][tag.key] = tag.value
        return [
            Experiment(
                experiment_id=str(r.experiment_id),
                name=r.name,
                artifact_location=r.artifact_location
                or f"{self.default_artifact_root}/{r.experiment_id}",
                lifecycle_stage=r.lifecycle_stage,
                tags=tags[r.experiment_id],
                creation_time=r.creation_time,
                last_update_time=r.last_update_time,
            )
            for r in rows
        ]


def _stage_clause(view: int) -> Any:
    stage = s.experiments.c.lifecycle_stage
    if view == ViewType.ACTIVE_ONLY:
        return stage == LifecycleStage.ACTIVE
    if view == ViewType.DELETED_ONLY:
        return stage == LifecycleStage.DELETED
    return stage.in_([LifecycleStage.ACTIVE, LifecycleStage.DELETED])


def purge_run_rows(conn: Connection, run_ids: list[str]) -> None:
    """Delete every row that belongs to these runs, children first (no reliance on CASCADE)."""
    for part in chunks(run_ids):
        conn.execute(
            delete(s.input_tags).where(
                s.input_tags.c.input_uuid.in_(
                    select(s.run_inputs.c.input_uuid).where(s.run_inputs.c.run_uuid.in_(part))
                )
            )
        )
        for table in (
            s.run_inputs,
            s.latest_metrics,
            s.metrics,
            s.params,
            s.tags,
            s.applied_requests,
            s.runs,
        ):
            conn.execute(delete(table).where(table.c.run_uuid.in_(part)))
