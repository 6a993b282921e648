"""Row 9: the physical limit, bulk inserts with no Heron code in the path, and Heron's
server ingestion (rows 3c and 3b, when they ran) as a share of it."""

from __future__ import annotations

from context import Context
from rows import Row

NAME = "limit"


def measure(ctx: Context, backend: str, with_fk: bool = False) -> float:
    args: dict[str, object] = {
        "backend": backend,
        "points": ctx.sizes.raw_points,
        "batch": 100_000,
        "with_fk": with_fk,
    }
    if backend == "sqlite":
        folder = ctx.work / "limit"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "raw.db").unlink(missing_ok=True)
        args["target"] = str(folder / "raw.db")
    else:
        assert ctx.pg_admin
        import harness

        args["target"] = harness.fresh_database(ctx.pg_admin, "raw_bench")
    return float(ctx.driver("heron", "raw_insert", args)["points_per_s"])


def share(ctx: Context, key: str, limit: object) -> object:
    heron = ctx.figures.get(key)
    if heron is None or not isinstance(limit, float):
        return "not run (needs row 3 in the same run)"
    return 100 * heron / limit


def run_backend(ctx: Context, backend: str) -> list[Row]:
    limit = ctx.attempt("heron", f"raw insert {backend}", lambda: measure(ctx, backend))
    with_fk = ctx.attempt(
        "heron", f"raw insert with fk {backend}", lambda: measure(ctx, backend, True)
    )
    how = "sqlite3 executemany, WAL" if backend == "sqlite" else "psycopg COPY"
    n = ctx.sizes.raw_points
    rows = [
        Row(
            f"9. raw insert limit: {how}, {n:,} points, no Heron code, bare table",
            backend,
            limit,
            "-",
            "pts/s",
            better="",
        ),
        Row(
            f"9. raw insert limit, {n:,} points, Heron's table shape (foreign key to runs)",
            backend,
            with_fk,
            "-",
            "pts/s",
            better="",
        ),
    ]
    for key, label in (("ingest.bulk", "3c log-bulk"), ("ingest.batch", "3b log-batch")):
        for base, which in ((limit, "bare table"), (with_fk, "Heron's table shape")):
            value = share(ctx, f"{key}.{backend}", base)
            met = ("yes" if value >= 50 else "no") if isinstance(value, float) else "-"
            rows.append(
                Row(
                    f"9. Heron {label} ingestion as % of the raw limit ({which})",
                    backend,
                    value,
                    "-",
                    "%",
                    better="",
                    target="≥50 %",
                    met=met,
                )
            )  # type: ignore[arg-type]
    return rows


def run(ctx: Context) -> list[Row]:
    return [row for backend in ctx.backends for row in run_backend(ctx, backend)]
