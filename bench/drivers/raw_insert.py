"""The physical limit: bulk inserts into a table shaped like Heron's ``metrics`` (same
columns, same index on (run_uuid, key, step)), with no Heron code in the path.

``with_fk`` adds what Heron's real table also has, a foreign key to a ``runs`` table (the
database checks it on every row); without it, the bare table is the strictest limit.

SQLite: ``executemany`` in transactions of ``batch`` rows, WAL and synchronous=NORMAL as
Heron configures its files. PostgreSQL: psycopg 3 ``COPY``, one transaction per ``batch``.
"""

from __future__ import annotations

import time
from typing import Any

from _common import main

COLUMNS = "run_uuid, key, value, is_nan, timestamp, step"


def rows(first: int, size: int) -> list[tuple[Any, ...]]:
    return [
        ("0" * 32, "loss", 1.0 / (s + 1), False, 1_700_000_000_000 + s, s)
        for s in range(first, first + size)
    ]


def _run_column(with_fk: bool) -> str:
    references = " REFERENCES raw_runs (run_uuid) ON DELETE CASCADE" if with_fk else ""
    return f"run_uuid VARCHAR(32) NOT NULL{references}"


def sqlite_insert(path: str, total: int, batch: int, with_fk: bool) -> float:
    import sqlite3

    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    if with_fk:
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("CREATE TABLE raw_runs (run_uuid VARCHAR(32) PRIMARY KEY)")
        conn.execute("INSERT INTO raw_runs VALUES (?)", ("0" * 32,))
    conn.execute(
        "CREATE TABLE raw_metrics (metric_id INTEGER PRIMARY KEY AUTOINCREMENT, "
        f"{_run_column(with_fk)}, key VARCHAR(250) NOT NULL, value FLOAT, "
        "is_nan BOOLEAN NOT NULL, timestamp BIGINT NOT NULL, step BIGINT NOT NULL)"
    )
    conn.execute("CREATE INDEX ix_raw ON raw_metrics (run_uuid, key, step)")
    batches = [rows(first, min(batch, total - first)) for first in range(0, total, batch)]
    start = time.perf_counter()
    for chunk in batches:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(f"INSERT INTO raw_metrics ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)", chunk)
        conn.execute("COMMIT")
    seconds = time.perf_counter() - start
    conn.close()
    return seconds


def postgres_copy(url: str, total: int, batch: int, with_fk: bool) -> float:
    import psycopg

    with psycopg.connect(url) as conn:
        if with_fk:
            conn.execute("CREATE TABLE raw_runs (run_uuid VARCHAR(32) PRIMARY KEY)")
            conn.execute("INSERT INTO raw_runs VALUES (%s)", ("0" * 32,))
        conn.execute(
            "CREATE TABLE raw_metrics (metric_id SERIAL PRIMARY KEY, "
            f"{_run_column(with_fk)}, key VARCHAR(250) NOT NULL, "
            "value DOUBLE PRECISION, is_nan BOOLEAN NOT NULL, timestamp BIGINT NOT NULL, "
            "step BIGINT NOT NULL)"
        )
        conn.execute("CREATE INDEX ix_raw ON raw_metrics (run_uuid, key, step)")
        conn.commit()
        batches = [rows(first, min(batch, total - first)) for first in range(0, total, batch)]
        start = time.perf_counter()
        for chunk in batches:
            with conn.cursor() as cur, cur.copy(f"COPY raw_metrics ({COLUMNS}) FROM STDIN") as copy:
                for row in chunk:
                    copy.write_row(row)
            conn.commit()
        return time.perf_counter() - start


def measure(args: dict[str, Any]) -> dict[str, Any]:
    total, batch, with_fk = args["points"], args["batch"], bool(args.get("with_fk"))
    if args["backend"] == "sqlite":
        seconds = sqlite_insert(args["target"], total, batch, with_fk)
    else:
        seconds = postgres_copy(args["target"], total, batch, with_fk)
    return {"points": total, "seconds": seconds, "points_per_s": total / seconds}


if __name__ == "__main__":
    main(measure)
