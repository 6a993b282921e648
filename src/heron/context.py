"""The system tags MLflow sets on every new run, under MLflow's names so tools that read
them keep working: who ran it, from which source, at which git commit."""

from __future__ import annotations

import getpass
import os
import subprocess
import sys
from pathlib import Path

USER = "mlflow.user"
SOURCE_NAME = "mlflow.source.name"
SOURCE_TYPE = "mlflow.source.type"
GIT_COMMIT = "mlflow.source.git.commit"
GIT_BRANCH = "mlflow.source.git.branch"
GIT_REPO_URL = "mlflow.source.git.repoURL"
PARENT_RUN_ID = "mlflow.parentRunId"
RUN_NAME = "mlflow.runName"
NOTE = "mlflow.note.content"


def current_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return os.environ.get("USER", "unknown")


def default_run_tags() -> dict[str, str]:
    tags = {USER: current_user(), SOURCE_NAME: _source_name(), SOURCE_TYPE: "LOCAL"}
    tags.update(_git_tags(_source_dir()))
    return tags


def _source_name() -> str:
    argv0 = sys.argv[0] if sys.argv and sys.argv[0] else ""
    return argv0 or "<console>"


def _source_dir() -> Path:
    argv0 = sys.argv[0] if sys.argv else ""
    if argv0 and Path(argv0).exists():
        return Path(argv0).resolve().parent
    return Path.cwd()


def _git_tags(folder: Path) -> dict[str, str]:
    commit = _git(folder, "rev-parse", "HEAD")
    if not commit:
        return {}
    tags = {GIT_COMMIT: commit}
    branch = _git(folder, "rev-parse", "--abbrev-ref", "HEAD")
    if branch and branch != "HEAD":
        tags[GIT_BRANCH] = branch
    remote = _git(folder, "config", "--get", "remote.origin.url")
    if remote:
        tags[GIT_REPO_URL] = remote
    return tags


def _git(folder: Path, *args: str) -> str | None:
    if os.environ.get("HERON_DISABLE_GIT_TAGS"):
        return None
    try:
        out = subprocess.run(
            ["git", *args],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None
