"""Garbage collection: which deleted runs and experiments go for good, and removing their rows.

The store plans and purges rows; the backend that owns the artifact repositories deletes
the files afterwards (rows first: a failure can leave orphaned files, never runs that point
at missing files). Rows go in bounded batches, each its own all-or-nothing transaction, and
every batch checks again that what it deletes is still deleted and still old enough, so a
restore that lands while a purge runs keeps what it restored.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, delete, or_, select, true

from heron.entities import LifecycleStage
from heron.exceptions import invalid, not_found
from heron.store import schema as s
from heron.store.base import chunks, now_ms
from heron.store.experiments import DEFAULT_EXPERIMENT_ID, purge_run_rows
from heron.store.run_data import RunDataStore
from heron.validation import experiment_key

# Runs per transaction: short write locks on SQLite, small undo logs on the servers.
PURGE_BATCH = 500

# progress(done, total): called after each batch of rows and each artifact location.
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class GcRun:
    run_id: str
    experiment_id: str
    artifact_uri: str


@dataclass(frozen=True)
class GcExperiment:
    experiment_id: str
    name: str
    artifact_location: str
    # Other experiments or runs keep artifacts at or under this location, so the folder
    # itself must stay; only the purged runs' own folders are deleted.
    shared: bool = False


@dataclass(frozen=True)
class ArtifactLocation:
    """One folder to delete, and whose it is (``run_id`` None: the experiment's own)."""

    uri: str
    experiment_id: str
    run_id: str | None = None


@dataclass(frozen=True)
class GcPlan:
    """What a purge removes. ``cutoff_ms`` None means no age condition."""

    cutoff_ms: int | None
    experiments: tuple[GcExperiment, ...] = ()
    runs: tuple[GcRun, ...] = ()

    @property
    def experiment_ids(self) -> frozenset[str]:
        return frozenset(e.experiment_id for e in self.experiments)

    def without(self, experiment_ids: Iterable[str], run_ids: Iterable[str]) -> GcPlan:
        """The plan less these runs, and less these experiments together with all their runs."""
        gone_experiments, gone_runs = set(experiment_ids), set(run_ids)
        return GcPlan(
            self.cutoff_ms,
            tuple(e for e in self.experiments if e.experiment_id not in gone_experiments),
            tuple(
                r
                for r in self.runs
                if r.run_id not in gone_runs and r.experiment_id not in gone_experiments
            ),
        )

    def only(self, experiment_ids: Iterable[str], run_ids: Iterable[str]) -> GcPlan:
        """The part of the plan that these experiments and runs make up."""
        kept_experiments, kept_runs = set(experiment_ids), set(run_ids)
        return GcPlan(
            self.cutoff_ms,
            tuple(e for e in self.experiments if e.experiment_id in kept_experiments),
            tuple(r for r in self.runs if r.run_id in kept_runs),
        )

    def artifact_locations(self) -> list[ArtifactLocation]:
        """Folders to delete, none inside another: an experiment's own folder holds its runs'."""
        folders = [e for e in self.experiments if not e.shared]
        locations = [ArtifactLocation(e.artifact_location, e.experiment_id) for e in folders]
        covered = {e.experiment_id: _folder_prefix(e.artifact_location) for e in folders}
        for run in self.runs:
            prefix = covered.get(run.experiment_id)
            if prefix is None or not run.artifact_uri.startswith(prefix):
                locations.append(ArtifactLocation(_run_folder(run), run.experiment_id, run.run_id))
        return locations


@dataclass(frozen=True)
class Purged:
    experiment_ids: frozenset[str]
    run_ids: frozenset[str]


class GcStore(RunDataStore):
    """Plans and row purges for ``heron gc`` and permanent experiment deletion."""

    def gc_candidates(
        self, older_than_ms: int, experiment_ids: Sequence[str] | None = None
    ) -> GcPlan:
        """Deleted runs and experiments deleted at least ``older_than_ms`` ago.

        0 takes everything deleted, including rows that have no deletion time. Runs of a
        deleted experiment go with it; the Default experiment "0" is never purged (its
        deleted runs are). ``experiment_ids`` limits the plan to those experiments.
        """
        if isinstance(older_than_ms, bool) or not isinstance(older_than_ms, int):
            raise invalid(f"older_than_ms must be an integer, got {older_than_ms!r}")
        if older_than_ms < 0:
            raise invalid(f"older_than_ms must not be negative, got {older_than_ms}")
        cutoff = None if older_than_ms == 0 else now_ms() - older_than_ms
        scope = None if experiment_ids is None else self._existing_ids(experiment_ids)
        return self._plan(cutoff, scope)

    def experiment_plan(self, experiment_id: str) -> GcPlan:
        """A deleted experiment with all its runs, whatever their age."""
        experiment = self._require_purgeable(experiment_id)
        return self._plan(None, [int(experiment.experiment_id)])

    def purge(self, plan: GcPlan, progress: Progress | None = None) -> Purged:
        """Delete the plan's rows, ``PURGE_BATCH`` runs per transaction, then each experiment.

        A run or experiment restored (or deleted anew, so no longer old enough) since the
        plan was made is left alone; the answer says what really went.
        """
        total, done = len(plan.runs) + len(plan.experiments), 0
        run_ids: set[str] = set()
        for batch in chunks(plan.runs, PURGE_BATCH):
            run_ids |= self._purge_runs(plan, batch)
            done += len(batch)
            _report(progress, done, total)
        experiment_ids: set[str] = set()
        for experiment in plan.experiments:
            leftovers = self._purge_experiment_rows(plan.cutoff_ms, experiment.experiment_id)
            if leftovers is not None:
                experiment_ids.add(experiment.experiment_id)
                run_ids |= leftovers
            done += 1
            _report(progress, done, total)
        return Purged(frozenset(experiment_ids), frozenset(run_ids))

    def _existing_ids(self, experiment_ids: Sequence[str]) -> list[int]:
        if isinstance(experiment_ids, str) or not experiment_ids:
            raise invalid("experiment_ids must list experiment ids; leave it out for all of them")
        keys = sorted({experiment_key(e) for e in experiment_ids})
        table = s.experiments
        with self._read() as conn:
            found = {
                row[0]
                for part in chunks(keys)
                for row in conn.execute(
                    select(table.c.experiment_id).where(table.c.experiment_id.in_(part))
                )
            }
        missing = [str(k) for k in keys if k not in found]
        if missing:
            raise not_found(f"No Experiment with id={', '.join(missing)} exists")
        return keys

    def _plan(self, cutoff: int | None, scope: list[int] | None) -> GcPlan:
        with self._read() as conn:
            experiments = self._plan_experiments(conn, cutoff, scope)
            eligible_experiments = select(s.experiments.c.experiment_id).where(
                _experiment_clause(cutoff, scope)
            )
            rows = conn.execute(
                select(s.runs.c.run_uuid, s.runs.c.experiment_id, s.runs.c.artifact_uri)
                .where(_run_clause(cutoff, eligible_experiments))
                .where(true() if scope is None else s.runs.c.experiment_id.in_(scope))
                .order_by(s.runs.c.experiment_id, s.runs.c.run_uuid)
            )
            runs = tuple(GcRun(r.run_uuid, str(r.experiment_id), r.artifact_uri) for r in rows)
        return GcPlan(cutoff, experiments, runs)

    def _plan_experiments(
        self, conn: Connection, cutoff: int | None, scope: list[int] | None
    ) -> tuple[GcExperiment, ...]:
        table = s.experiments
        rows = conn.execute(
            select(table.c.experiment_id, table.c.name, table.c.artifact_location)
            .where(_experiment_clause(cutoff, scope))
            .order_by(table.c.experiment_id)
        ).all()
        if not rows:
            return ()
        going = [r.experiment_id for r in rows]
        staying = _StayingLocations(
            self._location(r.experiment_id, r.artifact_location)
            for r in conn.execute(
                select(table.c.experiment_id, table.c.artifact_location).where(
                    table.c.experiment_id.not_in(going)
                )
            )
        )
        planned = []
        for row in rows:
            location = self._location(row.experiment_id, row.artifact_location)
            shared = staying.overlap(location)
            planned.append(GcExperiment(str(row.experiment_id), row.name, location, shared))
        return tuple(planned)

    def _location(self, experiment_id: int, stored: str) -> str:
        # An empty location (the Default experiment's) means the one under the store's root.
        return stored or f"{self.default_artifact_root}/{experiment_id}"

    def _purge_runs(self, plan: GcPlan, batch: Sequence[GcRun]) -> set[str]:
        """One transaction: the batch's runs that are still eligible, with all their rows."""
        ids = [r.run_id for r in batch]
        owners = sorted({int(r.experiment_id) for r in batch} & set(map(int, plan.experiment_ids)))
        eligible_experiments = select(s.experiments.c.experiment_id).where(
            _experiment_clause(plan.cutoff_ms, owners)
        )
        with self._write() as conn:
            found = [
                row[0]
                for row in conn.execute(
                    select(s.runs.c.run_uuid)
                    .where(s.runs.c.run_uuid.in_(ids))
                    .where(_run_clause(plan.cutoff_ms, eligible_experiments))
                    .with_for_update()
                )
            ]
            purge_run_rows(conn, found)
        return set(found)

    def _purge_experiment_rows(self, cutoff: int | None, experiment_id: str) -> set[str] | None:
        """One transaction: the experiment, if still eligible, and any runs it still has.

        None when it was restored or deleted anew since the plan (so it stays); else the
        ids of runs that went with it here (normally none: the batches took them).
        """
        key = int(experiment_id)
        with self._write() as conn:
            row = conn.execute(
                select(s.experiments.c.experiment_id)
                .where(_experiment_clause(cutoff, [key]))
                .with_for_update()
            ).first()
            if row is None:
                return None
            runs = conn.execute(
                select(s.runs.c.run_uuid, s.runs.c.lifecycle_stage).where(
                    s.runs.c.experiment_id == key
                )
            ).all()
            if any(r.lifecycle_stage != LifecycleStage.DELETED for r in runs):
                return None  # cannot happen through the API; never purge an active run
            leftovers = [r.run_uuid for r in runs]
            purge_run_rows(conn, leftovers)
            for table in (s.datasets, s.experiment_tags, s.experiments):
                conn.execute(delete(table).where(table.c.experiment_id == key))
        return set(leftovers)


def _deleted_long_enough(column: Any, cutoff: int | None) -> ColumnElement[bool]:
    return true() if cutoff is None else column <= cutoff


def _experiment_clause(cutoff: int | None, scope: Sequence[int] | None) -> ColumnElement[bool]:
    table = s.experiments
    return and_(
        table.c.lifecycle_stage == LifecycleStage.DELETED,
        table.c.experiment_id != int(DEFAULT_EXPERIMENT_ID),
        _deleted_long_enough(table.c.deleted_time, cutoff),
        true() if scope is None else table.c.experiment_id.in_(scope),
    )


def _run_clause(cutoff: int | None, eligible_experiments: Any) -> ColumnElement[bool]:
    """Deleted runs that are old enough themselves, or belong to an experiment that goes."""
    runs = s.runs
    return and_(
        runs.c.lifecycle_stage == LifecycleStage.DELETED,
        or_(
            _deleted_long_enough(runs.c.deleted_time, cutoff),
            runs.c.experiment_id.in_(eligible_experiments),
        ),
    )


def _run_folder(run: GcRun) -> str:
    """``<experiment>/<run id>`` for the usual ``<experiment>/<run id>/artifacts``: that
    folder is the run's alone (its name is the run's unique id) and would stay behind empty."""
    suffix = f"/{run.run_id}/artifacts"
    uri = run.artifact_uri.rstrip("/")
    return uri.removesuffix("/artifacts") if uri.endswith(suffix) else run.artifact_uri


def _folder_prefix(location: str) -> str:
    return location.rstrip("/") + "/"


class _StayingLocations:
    """The artifact locations of the experiments a purge keeps, sorted for prefix lookups.

    Experiments may be created with any artifact location, two with the same one, or one
    inside another; deleting such a folder whole would take the other experiment's files
    with it. Runs need no check of their own: a run's folder is made inside its
    experiment's location.
    """

    def __init__(self, locations: Iterable[str]) -> None:
        self._sorted = sorted(_folder_prefix(loc) for loc in locations)

    def overlap(self, location: str) -> bool:
        """Whether a staying location is this folder or inside it."""
        prefix = _folder_prefix(location)
        at = bisect.bisect_left(self._sorted, prefix)
        return at < len(self._sorted) and self._sorted[at].startswith(prefix)


def _report(progress: Progress | None, done: int, total: int) -> None:
    if progress is not None:
        progress(done, total)
