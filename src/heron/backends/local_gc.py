"""Carrying out a garbage-collection plan on this machine: rows through the store, then files.

Before anything is deleted, every artifact location in the plan must be reachable; runs and
experiments whose files cannot be reached keep their rows and are reported as skipped, so
a later collection that can reach them (the tracking server, for ``mlflow-artifacts:``
URIs) still finds them. Rows go first, then files: a failure can leave orphaned files,
never runs that point at missing files. Every failure is in the report, none is only logged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from heron.artifacts import ArtifactRepository
from heron.exceptions import HeronException
from heron.store.gc import ArtifactLocation, GcPlan, GcStore, Progress

log = logging.getLogger(__name__)

Resolve = Callable[[str], ArtifactRepository]


@dataclass
class GcReport:
    """What a collection did (or, in a dry run, would do); ``to_dict`` is its wire form."""

    dry_run: bool
    experiments: int = 0
    runs: int = 0
    artifact_locations: int = 0
    artifact_bytes: int = 0
    experiment_names: dict[str, str] = field(default_factory=dict)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    kept_locations: list[dict[str, str]] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)

    def count(self, plan: GcPlan) -> None:
        self.experiments = len(plan.experiments)
        self.runs = len(plan.runs)
        self.experiment_names = {e.experiment_id: e.name for e in plan.experiments}
        self.kept_locations = [
            {
                "uri": e.artifact_location,
                "reason": f"experiment {e.experiment_id} shares this folder with experiments "
                "that stay, so the folder stays; only the purged runs' own folders go",
            }
            for e in plan.experiments
            if e.shared
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "experiments": self.experiments,
            "runs": self.runs,
            "artifact_locations": self.artifact_locations,
            "artifact_bytes": self.artifact_bytes,
            "experiment_names": self.experiment_names,
            "skipped": self.skipped,
            "kept_locations": self.kept_locations,
            "errors": self.errors,
        }


def collect(
    store: GcStore,
    plan: GcPlan,
    resolve: Resolve,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> GcReport:
    """Purge ``plan`` (rows, then artifacts); in a dry run only measure what would go."""
    report = GcReport(dry_run=dry_run)
    plan = drop_unreachable(plan, resolve, report)
    if dry_run:
        report.count(plan)
        for location in plan.artifact_locations():
            _measure(location, resolve, report)
        return report
    rows = len(plan.runs) + len(plan.experiments)
    purged = store.purge(plan, _then_files(progress, len(plan.artifact_locations())))
    done = plan.only(purged.experiment_ids, purged.run_ids)
    report.count(done)
    locations = done.artifact_locations()
    for index, location in enumerate(locations, start=1):
        _delete(location, resolve, report)
        if progress is not None:
            progress(rows + index, rows + len(locations))
    return report


def drop_unreachable(plan: GcPlan, resolve: Resolve, report: GcReport) -> GcPlan:
    """The plan less whatever keeps files where this process cannot reach them."""
    reasons: dict[str, str] = {}
    run_ids: set[str] = set()
    for location in plan.artifact_locations():
        try:
            resolve(location.uri)
        except HeronException as exc:
            reason = (
                exc.message if location.uri in exc.message else f"{location.uri}: {exc.message}"
            )
            reasons.setdefault(location.experiment_id, reason)
            if location.run_id is not None:
                run_ids.add(location.run_id)
    # A run that stays keeps its experiment (an experiment cannot go without its runs).
    experiments = {e for e in reasons if e in plan.experiment_ids}
    kept = plan.without(experiments, run_ids)
    for experiment_id, reason in reasons.items():
        report.skipped.append(
            {
                "experiment_id": experiment_id,
                "experiment": experiment_id in experiments,
                "runs": _runs_of(plan, experiment_id) - _runs_of(kept, experiment_id),
                "reason": f"its files cannot be reached from here: {reason}",
            }
        )
    return kept


def _runs_of(plan: GcPlan, experiment_id: str) -> int:
    return sum(1 for run in plan.runs if run.experiment_id == experiment_id)


def _then_files(progress: Progress | None, files: int) -> Progress | None:
    """The store's row progress, on a bar that also counts the artifact locations after it."""
    if progress is None:
        return None
    report = progress

    def rows(done: int, total: int) -> None:
        report(done, total + files)

    return rows


def _measure(location: ArtifactLocation, resolve: Resolve, report: GcReport) -> None:
    try:
        report.artifact_bytes += resolve(location.uri).total_size()
    except Exception as exc:  # any failure is the user's to see, in the report
        report.errors.append({"uri": location.uri, "message": f"cannot measure: {exc}"})
        return
    report.artifact_locations += 1


def _delete(location: ArtifactLocation, resolve: Resolve, report: GcReport) -> None:
    try:
        repo = resolve(location.uri)
        size = repo.total_size()  # before deleting: afterwards there is nothing to measure
        repo.delete_artifacts()
    except Exception as exc:  # the rows are gone already; report the files, then go on
        log.warning("Could not delete artifacts at %s: %s", location.uri, exc)
        report.errors.append({"uri": location.uri, "message": str(exc)})
        return
    report.artifact_bytes += size
    report.artifact_locations += 1
