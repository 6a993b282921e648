"""The in-process backend: the SQL store plus artifact repositories on this machine."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from heron.artifacts import ArtifactRepository, get_artifact_repository
from heron.artifacts.paths import PROXY_SCHEME, proxied_location
from heron.backends.local_gc import GcReport, collect, drop_unreachable
from heron.exceptions import invalid
from heron.store.engine import PoolLimits
from heron.store.gc import Progress
from heron.store.tracking import SqlTrackingStore


class LocalBackend(SqlTrackingStore):
    def __init__(
        self,
        tracking_uri: str,
        db_uri: str,
        artifact_root: str,
        pool: PoolLimits | None = None,
        artifacts_destination: str | None = None,
    ) -> None:
        super().__init__(db_uri, artifact_root, pool)
        self.tracking_uri = tracking_uri
        # Where a tracking server keeps the files of mlflow-artifacts: URIs; known only
        # inside that server (a client opening its database directly cannot tell).
        self.artifacts_destination = artifacts_destination

    def artifact_repository(self, artifact_uri: str) -> ArtifactRepository:
        if artifact_uri.startswith(PROXY_SCHEME):
            if self.artifacts_destination is None:
                raise invalid(
                    f"{artifact_uri} is kept by the tracking server that serves this store; "
                    "reach it through that server (--tracking-uri http://...)"
                )
            artifact_uri = proxied_location(artifact_uri, self.artifacts_destination)
        return get_artifact_repository(artifact_uri)

    def gc(
        self,
        older_than_ms: int,
        experiment_ids: Sequence[str] | None = None,
        dry_run: bool = False,
        progress: Progress | None = None,
    ) -> dict[str, Any]:
        """Permanently remove runs and experiments deleted at least ``older_than_ms`` ago."""
        plan = self.gc_candidates(older_than_ms, experiment_ids)
        return collect(self, plan, self.artifact_repository, dry_run, progress).to_dict()

    def purge_experiment(self, experiment_id: str) -> dict[str, Any]:
        """Permanently remove a deleted experiment, its runs and their artifacts; frees its name.

        All or nothing for the rows: when its files cannot be reached from here, nothing is
        deleted and the error says why.
        """
        plan = self.experiment_plan(experiment_id)
        report = GcReport(dry_run=False)
        if drop_unreachable(plan, self.artifact_repository, report) != plan:
            raise invalid(
                f"Experiment {experiment_id} was not deleted: {report.skipped[0]['reason']}"
            )
        return collect(self, plan, self.artifact_repository).to_dict()
