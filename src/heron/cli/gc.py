"""``heron gc``: permanently remove deleted runs and experiments, rows and artifacts."""

from __future__ import annotations

import re
import time
from typing import Any

import click

from heron.cli import output
from heron.cli.options import (
    EXPERIMENT_ID,
    json_option,
    make_client,
    tracking_uri_option,
    yes_option,
)

# At most this many problems are listed one by one; the JSON report has them all.
SHOWN_PROBLEMS = 20
_UNIT_MS = {"s": 1000, "m": 60 * 1000, "h": 60 * 60 * 1000, "d": 24 * 60 * 60 * 1000}
_AGE = re.compile(r"(\d+)\s*([smhd])")


class AgeType(click.ParamType):
    """An age such as ``30d``, ``12h``, ``90m`` or ``0s``, as milliseconds."""

    name = "age"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        match = _AGE.fullmatch(str(value).strip().lower())
        if match is None:
            self.fail(
                f"{value!r} is not an age: give a number and a unit (s, m, h or d), "
                "e.g. 30d, 12h, 90m or 0s.",
                param,
                ctx,
            )
        return int(match.group(1)) * _UNIT_MS[match.group(2)]


@click.command()
@click.option(
    "--older-than",
    "older_than_ms",
    type=AgeType(),
    required=True,
    metavar="AGE",
    help="Remove what was deleted at least this long ago: 30d, 12h, 90m; 0s takes "
    "everything deleted.",
)
@click.option(
    "--experiment-id",
    "experiment_ids",
    type=EXPERIMENT_ID,
    metavar="ID",
    multiple=True,
    help="Only in this experiment (an ID, not a name); repeat for several. Default: all.",
)
@click.option(
    "--dry-run", is_flag=True, help="Show what would be removed and the space it would free."
)
@yes_option
@tracking_uri_option
@json_option
def gc(
    older_than_ms: int,
    experiment_ids: tuple[str, ...],
    dry_run: bool,
    yes: bool,
    tracking_uri: str | None,
    as_json: bool,
) -> None:
    """Permanently remove deleted runs and experiments: their rows and their artifacts.

    Runs deleted at least --older-than ago go, and so do experiments deleted that long ago,
    with all their runs; their names become free. The Default experiment (0) is never
    removed. Rows go first, then artifacts, so a failure can leave files behind but never
    runs without their files; every failure is reported and makes the command exit 1.

    Against a server URL the server does the work (its database and artifact store);
    against a database or folder it happens here, with a progress bar. It asks for
    confirmation unless --yes or --dry-run is given.
    """
    client = make_client(tracking_uri)
    ids = list(experiment_ids) or None
    if dry_run or not yes:
        asked = time.time()
        preview = client.gc(older_than_ms, ids, dry_run=True)
        if dry_run:
            show_report(preview, as_json)
            return
        if not _something(preview):
            show_report({**preview, "dry_run": False}, as_json)  # nothing to confirm, or do
            return
        _confirm(preview)
        if older_than_ms:
            # The cutoff the user saw, not one that moved on while they read the question:
            # what crossed it meanwhile was not shown, so it does not go.
            older_than_ms += int((time.time() - asked) * 1000)
    bar = _ProgressBar()
    try:
        report = client.gc(older_than_ms, ids, progress=bar)
    finally:
        bar.close()
    show_report(report, as_json)


def show_report(report: dict[str, Any], as_json: bool) -> None:
    """The report on stdout (text or JSON), then its problems; errors exit 1."""
    if as_json:
        output.echo_json(report)
    else:
        click.echo(summary(report))
        names: dict[str, str] = report.get("experiment_names") or {}
        if names:
            rows = sorted(names.items(), key=_by_id)
            click.echo(output.table(("id", "name"), rows))
        show_problems(report)
    show_report_errors(report)


def show_report_errors(report: dict[str, Any]) -> None:
    """Exit 1 with ``Error:`` when any artifact location failed."""
    errors = report.get("errors") or []
    if errors:
        raise click.ClickException(
            f"the artifacts at {_plural(len(errors), 'location')} could not be "
            f"{'measured' if report.get('dry_run') else 'deleted (their rows are gone)'}; "
            f"first: {errors[0]['uri']}: {errors[0]['message']}"
        )


def summary(report: dict[str, Any]) -> str:
    dry = bool(report.get("dry_run"))
    what = (
        f"{_plural(report.get('experiments', 0), 'experiment')} and "
        f"{_plural(report.get('runs', 0), 'run')}"
    )
    freed = (
        f"{output.file_size(report.get('artifact_bytes', 0))} of artifacts in "
        f"{_plural(report.get('artifact_locations', 0), 'folder')}"
    )
    if not _something(report):
        return f"{'Dry run: n' if dry else 'N'}othing was deleted long enough ago to remove."
    if dry:
        return f"Dry run: would remove {what}, freeing {freed}."
    return f"Removed {what}; freed {freed}."


def show_problems(report: dict[str, Any]) -> None:
    """What stayed and what failed, on stderr so stdout stays the report."""
    lines = [
        *(_skipped_line(s) for s in report.get("skipped") or []),
        *(f"Kept {k['uri']}: {k['reason']}" for k in report.get("kept_locations") or []),
        *(f"Could not delete {e['uri']}: {e['message']}" for e in report.get("errors") or []),
    ]
    for line in lines[:SHOWN_PROBLEMS]:
        click.echo(line, err=True)
    if len(lines) > SHOWN_PROBLEMS:
        click.echo(f"... and {len(lines) - SHOWN_PROBLEMS} more (--json lists all).", err=True)


def _skipped_line(skipped: dict[str, Any]) -> str:
    experiment_id, runs = skipped["experiment_id"], _plural(skipped["runs"], "run")
    what = (
        f"experiment {experiment_id} and its {runs}"
        if skipped.get("experiment")
        else f"{runs} of experiment {experiment_id}"
    )
    return f"Skipped {what}: {skipped['reason']}"


def _confirm(preview: dict[str, Any]) -> None:
    click.echo(summary(preview), err=True)
    show_problems(preview)
    click.confirm(
        "Permanently remove them and their artifacts? This cannot be undone.",
        abort=True,
        err=True,
    )


def _something(report: dict[str, Any]) -> bool:
    return bool(report.get("experiments") or report.get("runs"))


def _by_id(item: tuple[str, str]) -> int:
    return int(item[0])


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


class _ProgressBar:
    """A progress bar on stderr, opened by the first report of progress: only a purge in
    this process reports any (a server does the whole purge in one request)."""

    def __init__(self) -> None:
        self._bar: Any = None

    def __call__(self, done: int, total: int) -> None:
        if self._bar is None:
            stderr = click.get_text_stream("stderr")
            self._bar = click.progressbar(length=max(total, 1), label="Purging", file=stderr)
            self._bar.render_progress()
        self._bar.length = max(total, 1)
        self._bar.update(done - self._bar.pos)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.render_finish()
