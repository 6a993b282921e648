"""What every scenario gets: interpreters, backends, sizes, scratch stores, and a place to
record figures other rows need (row 9 reports Heron's ingestion as a share of the limit)."""

from __future__ import annotations

import shutil
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import harness
from harness import DriverError, FeatureMissing
from rows import Cell

MISSING = "n/a (feature missing)"


@dataclass(frozen=True)
class Sizes:
    import_repeats: int
    loop_heron: int  # log_metric calls, embedded
    loop_mlflow: int
    loop_budget: float  # seconds: a loop stops early past this
    client_heron: int  # log_metric calls through a server
    client_mlflow: int
    batch_requests: int  # log-batch requests of 1000 metrics
    bulk_points: int  # points per log-bulk request
    bulk_requests: int
    history_points: int
    downsample_points: int
    read_repeats: int
    search_runs: tuple[int, ...]
    writers: int
    writer_calls_heron: int
    writer_calls_mlflow: int
    raw_points: int


FULL = Sizes(
    import_repeats=7,
    loop_heron=100_000,
    loop_mlflow=2_000,
    loop_budget=15.0,
    client_heron=20_000,
    client_mlflow=1_000,
    batch_requests=120,
    bulk_points=100_000,
    bulk_requests=5,
    history_points=100_000,
    downsample_points=1_000_000,
    read_repeats=3,
    search_runs=(10_000, 100_000),
    writers=16,
    writer_calls_heron=500,
    writer_calls_mlflow=100,
    raw_points=1_000_000,
)

SMOKE = Sizes(
    import_repeats=1,
    loop_heron=300,
    loop_mlflow=50,
    loop_budget=5.0,
    client_heron=200,
    client_mlflow=50,
    batch_requests=4,
    bulk_points=5_000,
    bulk_requests=1,
    history_points=2_000,
    downsample_points=20_000,
    read_repeats=1,
    search_runs=(300,),
    writers=4,
    writer_calls_heron=30,
    writer_calls_mlflow=10,
    raw_points=20_000,
)


@dataclass
class Store:
    """A scratch database of one project: its URL (as that project's store takes it) and a
    folder for artifacts, logs and SQLite files."""

    project: str
    backend: str
    db_uri: str
    folder: Path

    @property
    def artifacts(self) -> str:
        return str(self.folder / "artifacts")


@dataclass
class Context:
    heron_python: str
    mlflow_python: str | None
    backends: list[str]
    sizes: Sizes
    work: Path
    pg_admin: str | None
    figures: dict[str, float] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    @property
    def projects(self) -> list[str]:
        return ["heron", "mlflow"] if self.mlflow_python else ["heron"]

    def python(self, project: str) -> str:
        python = self.heron_python if project == "heron" else self.mlflow_python
        assert python, "no interpreter for " + project
        return python

    def module(self, project: str) -> str:
        return project

    def fresh_store(self, project: str, backend: str, tag: str) -> Store:
        """An empty database for ``project``: a new SQLite file, or its PostgreSQL scratch
        database (``heron_bench`` / ``mlflow_bench``) dropped and recreated."""
        folder = self.work / tag / backend / project
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        if backend == "sqlite":
            return Store(project, backend, f"sqlite:///{folder}/{project}.db", folder)
        assert self.pg_admin
        url = harness.fresh_database(self.pg_admin, f"{project}_bench")
        return Store(project, backend, harness.sqlalchemy_url(project, url), folder)

    def driver(self, project: str, name: str, args: dict[str, Any], **kw: Any) -> dict[str, Any]:
        answer = harness.run_driver(self.python(project), name, args, cwd=self.work, **kw)
        self.raw.setdefault(name, []).append({"project": project, "args": args, "answer": answer})
        return answer

    def attempt(self, project: str, what: str, fn: Callable[[], Cell]) -> Cell:
        """``fn()``, or the reason it has no figure. A Heron crash fails the run (exit 1)."""
        try:
            return fn()
        except FeatureMissing as exc:
            print(f"  {project} {what}: feature missing ({exc})", file=sys.stderr)
            return MISSING
        except (DriverError, Exception) as exc:
            print(f"  {project} {what}: ERROR {exc}", file=sys.stderr)
            if not isinstance(exc, DriverError):
                traceback.print_exc()
            if project == "heron":
                self.failures.append(f"{what}: {exc}")
            return "error"
