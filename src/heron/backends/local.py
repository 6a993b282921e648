"""The in-process backend: the SQL store plus artifact repositories on this machine."""

from __future__ import annotations

import logging

from sqlalchemy import select

from heron.artifacts import ArtifactRepository, get_artifact_repository
from heron.store import schema as s
from heron.store.tracking import SqlTrackingStore

log = logging.getLogger(__name__)


class LocalBackend(SqlTrackingStore):
    def __init__(self, tracking_uri: str, db_uri: str, artifact_root: str) -> None:
        super().__init__(db_uri, artifact_root)
        self.tracking_uri = tracking_uri

    def artifact_repository(self, artifact_uri: str) -> ArtifactRepository:
        return get_artifact_repository(artifact_uri)

    def purge_experiment(self, experiment_id: str) -> dict[str, int]:
        """Rows first, then files: a failure can leave orphaned files, never runs without them."""
        experiment = self.get_experiment(experiment_id)
        with self._read() as conn:
            uris = [
                row[0]
                for row in conn.execute(
                    select(s.runs.c.artifact_uri).where(
                        s.runs.c.experiment_id == int(experiment.experiment_id)
                    )
                )
            ]
        report = super().purge_experiment(experiment_id)
        report["artifact_bytes"] = 0
        for uri in [*uris, experiment.artifact_location]:
            report["artifact_bytes"] += self._delete_artifacts(uri)
        return report

    def _delete_artifacts(self, uri: str) -> int:
        try:
            repo = self.artifact_repository(uri)
            size = repo.total_size()
            repo.delete_artifacts()
            return size
        except Exception as exc:  # reported, not fatal: the rows are already gone
            log.warning("Could not delete artifacts at %s: %s", uri, exc)
            return 0
