"""``heron artifacts``: list and download the files a run logged."""

from __future__ import annotations

from pathlib import Path

import click

from heron.cli import output
from heron.cli.options import json_option, make_client, tracking_uri_option
from heron.entities import FileInfo

HEADERS = ("path", "is dir", "size")

run_id_option = click.option(
    "--run-id", required=True, metavar="RUN_ID", help="The run whose artifacts to use."
)


@click.group()
def artifacts() -> None:
    """List and download the artifacts (files) of runs."""


@artifacts.command(name="list")
@run_id_option
@click.option(
    "--artifact-path",
    metavar="PATH",
    help="The folder to list, relative to the run's artifact root (default: the root).",
)
@tracking_uri_option
@json_option
def list_artifacts(
    run_id: str, artifact_path: str | None, tracking_uri: str | None, as_json: bool
) -> None:
    """List the files and folders in one folder of a run's artifacts.

    Only direct children are listed; list a folder's path to see inside it.
    """
    files = make_client(tracking_uri).list_artifacts(run_id, artifact_path)
    if as_json:
        output.echo_entities(files)
    else:
        click.echo(output.table(HEADERS, [_row(f) for f in files]))


@artifacts.command()
@run_id_option
@click.option(
    "--artifact-path",
    metavar="PATH",
    default="",
    help="The file or folder to download, relative to the run's artifact root "
    "(default: everything).",
)
@click.option(
    "--dst-path",
    type=click.Path(file_okay=False),
    metavar="DIR",
    help="The local folder to download into, created if missing (default: a new temporary folder).",
)
@tracking_uri_option
@json_option
def download(
    run_id: str,
    artifact_path: str,
    dst_path: str | None,
    tracking_uri: str | None,
    as_json: bool,
) -> None:
    """Download a run's artifacts; print the local path they were written to."""
    if dst_path:
        Path(dst_path).mkdir(parents=True, exist_ok=True)
    local_path = make_client(tracking_uri).download_artifacts(run_id, artifact_path, dst_path)
    if as_json:
        output.echo_json({"local_path": local_path})
    else:
        click.echo(local_path)


def _row(f: FileInfo) -> tuple[object, ...]:
    return (
        f.path,
        "yes" if f.is_dir else "no",
        None if f.is_dir else output.file_size(f.file_size),
    )
