"""``heron sync``: send what the spool kept (offline mode, or a store that was away)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from heron.cli import output
from heron.cli.options import json_option


@click.command()
@click.option(
    "--spool-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="HERON_SPOOL_DIR",
    show_envvar=True,
    help="The spool to send. Default: ~/.local/share/heron/spool.",
)
@click.option(
    "--to",
    "to_uri",
    metavar="URI",
    help="Send everything to this tracking URI instead of the one each run was logged for.",
)
@click.option("--dry-run", is_flag=True, help="List what is waiting; send nothing.")
@json_option
def sync(spool_dir: Path | None, to_uri: str | None, dry_run: bool, as_json: bool) -> None:
    """Send logged values kept in the spool to their tracking store, oldest first.

    The spool holds what offline mode (HERON_MODE=offline) logged, and what a process
    could not send while its server was away. Each record is sent with its own request
    id, so sending again after an interruption stores nothing twice; runs logged offline
    get their server id (the offline id stays in the tag heron.offlineRunId) and their
    artifact files are uploaded. Journals still being written by a running process are
    skipped. Exits 1 when a store cannot be reached; what is left stays for next time.
    """
    from heron import spool

    journals = spool.list_journals(spool_dir)
    if dry_run or not journals:
        _print_waiting(journals, as_json)
        return
    total = sum(j.pending for j in journals if not j.in_use)
    results: list[dict[str, Any]] = []
    with click.progressbar(
        length=max(total, 1), label="Syncing", file=click.get_text_stream("stderr")
    ) as bar:
        for journal in journals:
            results.append(_sync_one(journal, to_uri, bar.update))
    _print_results(results, as_json)
    if any(r["unreachable"] for r in results):
        raise click.ClickException(
            "Some records could not be sent (see above); they stay in the spool. "
            "Run `heron sync` again when the store can be reached."
        )


def _sync_one(journal: Any, to_uri: str | None, advance: Any) -> dict[str, Any]:
    from heron import spool
    from heron.backends import open_backend
    from heron.log_queue import is_unreachable

    target = to_uri or journal.tracking_uri
    result: dict[str, Any] = {
        "journal": str(journal.path),
        "tracking_uri": target,
        "pending": journal.pending,
        "sent": 0,
        "runs_created": 0,
        "artifact_files": 0,
        "failed": [],
        "unreachable": None,
        "in_use": journal.in_use,
    }
    if journal.in_use:
        return result
    with spool.claimed(journal.path) as free:
        if not free:
            result["in_use"] = True
            return result
        try:
            backend = open_backend(target, offline=False)
            report = spool.replay(journal.path, backend, advance, is_unreachable)
        except Exception as exc:
            if not is_unreachable(exc):
                raise
            result["unreachable"] = str(exc)
            return result
    result.update(
        sent=report.sent,
        runs_created=report.runs_created,
        artifact_files=report.artifact_files,
        failed=report.failed,
        unreachable=report.unreachable,
    )
    return result


def _print_waiting(journals: list[Any], as_json: bool) -> None:
    rows = [
        {
            "journal": str(j.path),
            "tracking_uri": j.tracking_uri,
            "pending": j.pending,
            "in_use": j.in_use,
        }
        for j in journals
    ]
    if as_json:
        output.echo_json({"journals": rows})
    elif not rows:
        click.echo("Nothing to sync: the spool is empty.")
    else:
        click.echo(
            output.table(
                ["journal", "tracking uri", "records", "in use"],
                [
                    [r["journal"], r["tracking_uri"], r["pending"], "yes" if r["in_use"] else "no"]
                    for r in rows
                ],
            )
        )


def _print_results(results: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        output.echo_json({"journals": results})
        return
    for r in results:
        name = Path(r["journal"]).name
        if r["in_use"]:
            click.echo(f"{name}: skipped, a running process is still writing it")
            continue
        line = (
            f"{name}: sent {r['sent']} of {r['pending']} record(s) to {r['tracking_uri']}"
            f" ({r['runs_created']} run(s) created, {r['artifact_files']} artifact file(s))"
        )
        click.echo(line)
        for failure in r["failed"]:
            click.echo(f"  refused: {failure}", err=True)
        if r["unreachable"]:
            click.echo(f"  stopped: {r['unreachable']}", err=True)
