"""A crowd of writer processes started at one barrier, and the check that every point landed.

Writers are forked from a forkserver that has already imported mlflow and Heron's client,
so 32 of them start in well under a second instead of importing mlflow 16 times (about 2 s
of CPU each). Each writer reports its run id, its errors and when it started and finished.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.pool import NullPool

BATCHES = 4
BATCH_SIZE = 45
SINGLES = 20
POINTS = BATCHES * BATCH_SIZE + SINGLES  # per writer: 200
WRITER_TIMEOUT = 120.0

Writer = Callable[..., None]


@dataclass
class Report:
    kind: str
    index: int
    run_id: str | None = None
    errors: list[str] = field(default_factory=list)
    started: float = 0.0
    finished: float = 0.0


@dataclass
class Crowd:
    reports: list[Report]

    @property
    def errors(self) -> list[str]:
        return [f"{r.kind}-{r.index}: {e}" for r in self.reports for e in r.errors]

    @property
    def seconds(self) -> float:
        return max(r.finished for r in self.reports) - min(r.started for r in self.reports)

    def summary(self, points: int) -> str:
        rate = points / self.seconds if self.seconds else float("inf")
        kinds = sorted({r.kind for r in self.reports})
        each = ", ".join(f"{kind} {self._mean_seconds(kind):.1f} s" for kind in kinds)
        return (
            f"{len(self.reports)} writers, {points} points, {len(self.errors)} errors, "
            f"{self.seconds:.1f} s, {rate:.0f} points/s (mean per writer: {each})"
        )

    def _mean_seconds(self, kind: str) -> float:
        spans = [r.finished - r.started for r in self.reports if r.kind == kind]
        return sum(spans) / len(spans)


def _context() -> Any:
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["mlflow", "heron", "heron.client", "heron.backends.http"])
    return ctx


def run_crowd(writers: Sequence[tuple[Writer, str, tuple[Any, ...]]], workdir: str) -> Crowd:
    """Start every ``(target, kind, args)`` at one barrier; wait for all of their reports."""
    ctx = _context()
    barrier, queue = ctx.Barrier(len(writers)), ctx.Queue()
    procs = [
        ctx.Process(target=_report, args=(target, kind, i, workdir, barrier, queue, args))
        for i, (target, kind, args) in enumerate(writers)
    ]
    for proc in procs:
        proc.start()
    reports: list[Report] = []
    deadline = time.monotonic() + WRITER_TIMEOUT
    try:
        while len(reports) < len(procs):
            reports.append(queue.get(timeout=max(deadline - time.monotonic(), 0.1)))
    finally:
        for proc in procs:
            proc.join(timeout=max(deadline - time.monotonic(), 1))
            if proc.is_alive():
                proc.kill()
    assert [p.exitcode for p in procs] == [0] * len(procs)
    return Crowd(sorted(reports, key=lambda r: (r.kind, r.index)))


def _report(
    target: Writer,
    kind: str,
    index: int,
    workdir: str,
    barrier: Any,
    queue: Any,
    args: tuple[Any, ...],
) -> None:
    os.chdir(workdir)  # the forkserver's folder belongs to whichever test started it
    report = Report(kind, index)
    try:
        barrier.wait(timeout=60)
        report.started = time.time()
        target(report, index, *args)
    except Exception as exc:  # reported to the parent, which fails the test
        report.errors.append(f"{type(exc).__name__}: {exc}")
    report.finished = time.time()
    queue.put(report)


def _values(index: int, start: int, count: int) -> list[tuple[int, float]]:
    return [(step, index + step / 1000) for step in range(start, start + count)]


EXPERIMENT = "crowd"


def mlflow_writer(report: Report, index: int, url: str) -> None:
    """The real mlflow client: every writer sets the experiment by name at the same moment,
    then logs batches of "loss", single "acc" points, a param and a tag."""
    import mlflow
    from mlflow.entities import Metric

    mlflow.set_tracking_uri(url)
    _write(report, index, "mlflow", mlflow.set_experiment, mlflow.MlflowClient(url), Metric)


def heron_writer(report: Report, index: int, tracking_uri: str) -> None:
    """Heron's client (over HTTP, or embedded in a folder): the same calls as mlflow_writer."""
    import heron
    from heron.entities import Metric

    heron.set_tracking_uri(tracking_uri)
    client = heron.HeronClient(tracking_uri)
    _write(report, index, "heron", heron.set_experiment, client, Metric)


def _write(
    report: Report, index: int, name: str, set_experiment: Any, client: Any, metric: Any
) -> None:
    """One writer's calls, the same whichever project's client (and Metric class) it uses."""
    experiment_id = set_experiment(EXPERIMENT).experiment_id
    run_id = client.create_run(experiment_id, run_name=f"{name}-{index}").info.run_id
    report.run_id = run_id
    now = int(time.time() * 1000)
    for batch in range(BATCHES):
        points = _values(index, batch * BATCH_SIZE, BATCH_SIZE)
        client.log_batch(run_id, metrics=[metric("loss", v, now, s) for s, v in points])
    for step, value in _values(index, 0, SINGLES):
        client.log_metric(run_id, "acc", value, timestamp=now, step=step)
    client.log_param(run_id, "writer", str(index))
    client.set_tag(run_id, "client", name)
    client.set_terminated(run_id)


def check_every_point_once(db_uri: str, crowd: Crowd) -> int:
    """One experiment holds every writer's run, and each run each of its points exactly
    once; returns the points counted."""
    from heron.store import schema as s
    from heron.store.engine import create_store_engine

    run_ids = [r.run_id for r in crowd.reports]
    assert None not in run_ids and len(set(run_ids)) == len(run_ids)
    m = s.metrics
    engine = create_store_engine(db_uri)
    try:
        with engine.connect() as conn:
            (experiment_id,) = conn.execute(
                select(s.experiments.c.experiment_id).where(s.experiments.c.name == EXPERIMENT)
            ).scalars()
            runs = conn.execute(
                select(s.runs.c.run_uuid, s.runs.c.status).where(
                    s.runs.c.experiment_id == experiment_id
                )
            ).all()
            counted = conn.execute(
                select(m.c.run_uuid, m.c.key, func.count(), func.count(func.distinct(m.c.step)))
                .where(m.c.run_uuid.in_(run_ids))
                .group_by(m.c.run_uuid, m.c.key)
            ).all()
            params = conn.execute(
                select(func.count()).where(s.params.c.run_uuid.in_(run_ids))
            ).scalar_one()
    finally:
        engine.dispose()
    # No retried runs/create left a second run behind, and every run ended.
    assert sorted(r.run_uuid for r in runs) == sorted(run_ids)
    assert {r.status for r in runs} == {"FINISHED"}
    per_key = (("loss", BATCHES * BATCH_SIZE), ("acc", SINGLES))
    expected = {(run, key): n for run in run_ids for key, n in per_key}
    stored = {(row[0], row[1]): (row[2], row[3]) for row in counted}
    assert stored == {k: (n, n) for k, n in expected.items()}  # all there, none twice
    assert params == len(run_ids)
    return sum(n for n, _ in stored.values())


_ACCESS_LINE = re.compile(r'"(?P<method>[A-Z]+) (?P<path>\S+) HTTP/[\d.]+" (?P<status>\d{3})')


def answers(server_log: Path) -> Counter[int]:
    """How many answers of each HTTP status uvicorn's access log shows."""
    text = server_log.read_text(encoding="utf-8", errors="replace")
    return Counter(int(m["status"]) for m in _ACCESS_LINE.finditer(text))


class ConnectionCounter:
    """Samples pg_stat_activity in a thread: the most connections ever open to one database."""

    def __init__(self, db_uri: str, interval: float = 0.02) -> None:
        from sqlalchemy import create_engine
        from sqlalchemy.engine import make_url

        url = make_url(db_uri)
        self.database = url.database
        # Sampled from the maintenance database, so the sampler is not among the counted.
        self._engine = create_engine(url.set(database="postgres"), poolclass=NullPool)
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self.most = 0
        self.samples = 0

    def __enter__(self) -> ConnectionCounter:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self._engine.dispose()

    def _sample(self) -> None:
        query = text("SELECT count(*) FROM pg_stat_activity WHERE datname = :db")
        with self._engine.connect() as conn:
            while not self._stop.is_set():
                count = int(conn.execute(query, {"db": self.database}).scalar_one())
                conn.rollback()  # a fresh snapshot of pg_stat_activity each time
                self.most = max(self.most, count)
                self.samples += 1
                self._stop.wait(self._interval)
