"""The client's artifact calls: files, folders, and Python objects written as files."""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from heron.artifacts import formats
from heron.artifacts.paths import safe_relative_path
from heron.entities import FileInfo
from heron.exceptions import invalid, not_found

if TYPE_CHECKING:
    from heron.artifacts import ArtifactRepository
    from heron.backends import Backend
    from heron.entities import Run


class ArtifactLogging:
    """Mixed into HeronClient; needs ``backend`` and ``get_run``."""

    @property
    def backend(self) -> Backend:  # pragma: no cover - provided by HeronClient
        raise NotImplementedError

    def get_run(self, run_id: str) -> Run:  # pragma: no cover - provided by HeronClient
        raise NotImplementedError

    def _repo(self, run_id: str) -> ArtifactRepository:
        cache = self.__dict__.setdefault("_artifact_uris", {})
        if run_id not in cache:
            cache[run_id] = self.get_run(run_id).info.artifact_uri
        return self.backend.artifact_repository(cache[run_id])

    def log_artifact(
        self, run_id: str, local_path: str | os.PathLike[str], artifact_path: str | None = None
    ) -> None:
        self._repo(run_id).log_artifact(local_path, artifact_path)

    def log_artifacts(
        self, run_id: str, local_dir: str | os.PathLike[str], artifact_path: str | None = None
    ) -> None:
        self._repo(run_id).log_artifacts(local_dir, artifact_path)

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[FileInfo]:
        return self._repo(run_id).list_artifacts(path)

    def download_artifacts(self, run_id: str, path: str, dst_path: str | None = None) -> str:
        return self._repo(run_id).download_artifacts(path, dst_path)

    def log_text(self, run_id: str, text: str, artifact_file: str) -> None:
        self._log_object(run_id, artifact_file, lambda p: formats.write_text(text, p))

    def log_dict(self, run_id: str, dictionary: dict[str, Any], artifact_file: str) -> None:
        self._log_object(run_id, artifact_file, lambda p: formats.write_dict(dictionary, p))

    def log_figure(
        self,
        run_id: str,
        figure: Any,
        artifact_file: str,
        *,
        save_kwargs: dict[str, Any] | None = None,
    ) -> None:
        self._log_object(
            run_id, artifact_file, lambda p: formats.write_figure(figure, p, save_kwargs)
        )

    def log_image(
        self,
        run_id: str,
        image: Any,
        artifact_file: str | None = None,
        key: str | None = None,
        step: int | None = None,
        timestamp: int | None = None,
        synchronous: bool | None = None,
    ) -> None:
        """Either ``artifact_file``, or ``key`` (+ ``step``) for an image series as MLflow does."""
        if (artifact_file is None) == (key is None):
            raise invalid("log_image takes either artifact_file or key, not both and not neither")
        if artifact_file is not None:
            self._log_object(run_id, artifact_file, lambda p: formats.write_image(image, p))
            return
        assert key is not None
        ts = timestamp if timestamp is not None else int(time.time() * 1000)
        name = formats.image_artifact_name(key, step or 0, ts)
        self._log_object(run_id, name, lambda p: formats.write_image(image, p))
        thumbnail = formats.thumbnail_artifact_name(name)
        self._log_object(run_id, thumbnail, lambda p: formats.write_image_thumbnail(image, p))

    def log_table(self, run_id: str, data: Any, artifact_file: str) -> None:
        """Log a table as JSON; logging again to the same file appends the new rows."""
        if not artifact_file.endswith(".json"):
            raise invalid(f"Table artifacts are JSON files; {artifact_file!r} must end in .json")
        table = formats.table_to_json(data)
        repo = self._repo(run_id)
        if repo.exists(safe_relative_path(artifact_file)):
            table = formats.merge_tables(json.loads(repo.read_bytes(artifact_file)), table)
        self._log_object(run_id, artifact_file, lambda p: p.write_text(json.dumps(table)))

    def load_table(
        self,
        experiment_id: str,
        artifact_file: str,
        run_ids: list[str] | None = None,
        extra_columns: list[str] | None = None,
    ) -> Any:
        """The rows of ``artifact_file`` from every run (or ``run_ids``) as one DataFrame."""
        import pandas as pd

        if run_ids is None:
            run_ids = self._all_run_ids(experiment_id)
        frames = []
        for run_id in run_ids:
            repo = self._repo(run_id)
            if not repo.exists(artifact_file):
                continue
            frame = formats.read_table(json.loads(repo.read_bytes(artifact_file)))
            for column in extra_columns or []:
                if column != "run_id":
                    raise invalid(f"extra_columns supports only 'run_id', got {column!r}")
                frame[column] = run_id
            frames.append(frame)
        if not frames:
            raise not_found(f"No run has the table artifact {artifact_file!r}")
        return pd.concat(frames, ignore_index=True)

    def _all_run_ids(self, experiment_id: str) -> list[str]:
        run_ids: list[str] = []
        token = None
        while True:
            page = self.backend.search_runs([experiment_id], max_results=50000, page_token=token)
            run_ids.extend(run.info.run_id for run in page)
            token = page.token
            if not token:
                return run_ids

    def _log_object(self, run_id: str, artifact_file: str, write: Any) -> None:
        relative = safe_relative_path(artifact_file)
        folder, _, filename = relative.rpartition("/")
        with tempfile.TemporaryDirectory(prefix="heron-") as tmp:
            path = Path(tmp) / filename
            write(path)
            self._repo(run_id).log_artifact(path, folder or None)
