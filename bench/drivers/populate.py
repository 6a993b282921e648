"""Fill a project's own schema fast, with the same data for both projects.

The project's store creates its schema, one experiment and (for histories) one run through
its own API; the bulk rows then go in with plain SQL: ``sqlite3`` executemany or psycopg 3
``COPY``. For Heron, histories go through ``HeronClient.log_metrics_bulk`` when it exists.

``history``: metric ``key`` gets ``points`` points (step s, value sin(s/1000) + s*1e-6).
``runs``: ``count`` finished runs, each 5 params, 5 tags, 5 metrics (history and latest).
"""

from __future__ import annotations

import math
import random
import time
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from _common import main

METRIC_COLUMNS = ("run_uuid", "key", "value", "is_nan", "timestamp", "step")
T0 = 1_700_000_000_000


class Writer:
    """Bulk rows into one SQLite file or PostgreSQL database, committed at ``close``."""

    def __init__(self, db_uri: str) -> None:
        if db_uri.startswith("sqlite:///"):
            import sqlite3

            self.sqlite = True
            self.conn: Any = sqlite3.connect(db_uri[len("sqlite:///") :], timeout=60)
        else:
            import psycopg

            self.sqlite = False
            self.conn = psycopg.connect(db_uri.replace("postgresql+psycopg://", "postgresql://"))

    def insert(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        names = ", ".join(columns)
        if self.sqlite:
            marks = ", ".join("?" for _ in columns)
            self.conn.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)
            return
        with self.conn.cursor() as cur, cur.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def close(self, tables: Sequence[str] = ()) -> None:
        """Commit; on PostgreSQL also VACUUM ANALYZE what was loaded, as autovacuum soon
        would on a live server: the planner then knows the row counts, and index-only scans
        can skip the table (both projects' stores get the same treatment)."""
        self.conn.commit()
        if not self.sqlite:
            self.conn.autocommit = True  # VACUUM cannot run inside a transaction
            for table in tables:
                self.conn.execute(f"VACUUM ANALYZE {table}")
        self.conn.close()


def open_store(project: str, db_uri: str, artifact_root: str) -> Any:
    if project == "heron":
        from heron.store.tracking import SqlTrackingStore

        return SqlTrackingStore(db_uri, artifact_root)
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    return SqlAlchemyStore(db_uri, artifact_root)


def experiment(store: Any, name: str) -> str:
    found = store.get_experiment_by_name(name)
    return str(found.experiment_id) if found else str(store.create_experiment(name))


def points(key: str, count: int, run_id: str) -> Iterable[tuple[Any, ...]]:
    for s in range(count):
        yield (run_id, key, math.sin(s / 1000) + s * 1e-6, False, T0 + s, s)


def populate_history(args: dict[str, Any], store: Any) -> dict[str, Any]:
    exp_id = experiment(store, "histories")
    run = store.create_run(exp_id, "bench", T0, [], "history")
    run_id = run.info.run_id
    how = {}
    for key, count in args["keys"].items():
        how[key] = write_history(args, run_id, key, count)
    return {"run_id": run_id, "experiment_id": exp_id, "populated_by": how}


def write_history(args: dict[str, Any], run_id: str, key: str, count: int) -> str:
    if args["project"] == "heron":
        from heron import HeronClient

        client = HeronClient(args["db_uri"])
        if hasattr(client, "log_metrics_bulk"):
            from heron.entities import Metric

            every = list(points(key, count, run_id))
            for first in range(0, count, 100_000):
                chunk = [
                    Metric(key, v, t, s) for _, _, v, _, t, s in every[first : first + 100_000]
                ]
                client.log_metrics_bulk({run_id: chunk})
            Writer(args["db_uri"]).close(("metrics", "latest_metrics"))  # same VACUUM ANALYZE
            return "HeronClient.log_metrics_bulk"
    writer = Writer(args["db_uri"])
    writer.insert("metrics", METRIC_COLUMNS, points(key, count, run_id))
    last = count - 1
    latest = (run_id, key, math.sin(last / 1000) + last * 1e-6, False, T0 + last, last)
    writer.insert("latest_metrics", METRIC_COLUMNS, [latest])
    writer.close(("metrics", "latest_metrics"))
    return "SQL"


def run_columns(project: str) -> tuple[str, ...]:
    common = ("run_uuid", "experiment_id", "name", "user_id", "status", "start_time")
    common += ("end_time", "lifecycle_stage", "artifact_uri")
    if project == "heron":
        return common
    return (*common, "source_type", "source_name", "entry_point_name", "source_version")


def populate_runs(args: dict[str, Any], store: Any) -> dict[str, Any]:
    project, first, count = args["project"], args["first"], args["count"]
    exp_id = experiment(store, "search")
    root = args["artifact_root"].rstrip("/")
    runs, params, tags, history = [], [], [], []
    for i in range(first, first + count):
        rng = random.Random(i)
        run_id = uuid.UUID(int=rng.getrandbits(128)).hex
        name = f"run-{i:06d}"
        start = T0 + i * 1000
        row: tuple[Any, ...] = (run_id, int(exp_id), name, "bench", "FINISHED", start)
        row += (start + 500, "active", f"{root}/{exp_id}/{run_id}/artifacts")
        runs.append(row if project == "heron" else (*row, "LOCAL", "train.py", "", ""))
        values = {
            "lr": ("0.1", "0.01", "0.001")[i % 3],
            "batch_size": str(2 ** (4 + i % 4)),
            "layers": str(2 + i % 6),
            "optimizer": ("adam", "sgd")[i % 2],
            "seed": str(i),
        }
        params.extend((run_id, k, v) for k, v in values.items())
        labels = {"mlflow.runName": name, "mlflow.user": "bench", "team": f"team-{i % 7}"}
        labels.update({"purpose": "benchmark", "git_commit": f"{i:040x}"})
        tags.extend((run_id, k, v) for k, v in labels.items())
        scores = {k: rng.random() for k in ("acc", "loss", "f1", "precision", "recall")}
        history.extend((run_id, k, v, False, start + 100, 9) for k, v in scores.items())
    writer = Writer(args["db_uri"])
    writer.insert("runs", run_columns(project), runs)
    writer.insert("params", ("run_uuid", "key", "value"), params)
    writer.insert("tags", ("run_uuid", "key", "value"), tags)
    writer.insert("metrics", METRIC_COLUMNS, history)
    writer.insert("latest_metrics", METRIC_COLUMNS, history)
    writer.close(("runs", "params", "tags", "metrics", "latest_metrics"))
    return {"experiment_id": exp_id, "runs": count}


def measure(args: dict[str, Any]) -> dict[str, Any]:
    start = time.perf_counter()
    store = open_store(args["project"], args["db_uri"], args["artifact_root"])
    fill = populate_history if args["action"] == "history" else populate_runs
    answer = fill(args, store)
    answer["seconds"] = time.perf_counter() - start
    return answer


if __name__ == "__main__":
    main(measure)
