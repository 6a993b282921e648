"""``heron experiments``: create, list, rename, delete and restore experiments."""

from __future__ import annotations

import click

from heron.cli import output
from heron.cli.gc import show_problems, show_report, show_report_errors
from heron.cli.options import (
    EXPERIMENT_ID,
    KEY_VALUE,
    VIEW_TYPES,
    filter_option,
    json_option,
    make_client,
    max_results_option,
    order_by_option,
    tracking_uri_option,
    view_option,
    yes_option,
)
from heron.client import HeronClient
from heron.entities import Experiment, LifecycleStage

HEADERS = ("id", "name", "stage", "artifact location", "created")


@click.group()
def experiments() -> None:
    """Create, list, rename, delete and restore experiments.

    Commands take experiment IDs (numbers), not names; 'heron experiments list' shows both.
    """


@experiments.command()
@click.argument("name")
@click.option(
    "--artifact-location",
    metavar="URI",
    help="Where the experiment's runs keep artifacts (default: under the store's artifact root).",
)
@click.option(
    "--tag",
    "tags",
    type=KEY_VALUE,
    multiple=True,
    help="An experiment tag as key=value; repeat for more.",
)
@tracking_uri_option
@json_option
def create(
    name: str,
    artifact_location: str | None,
    tags: tuple[tuple[str, str], ...],
    tracking_uri: str | None,
    as_json: bool,
) -> None:
    """Create an experiment called NAME and print its ID."""
    client = make_client(tracking_uri)
    experiment_id = client.create_experiment(name, artifact_location, dict(tags))
    if as_json:
        output.echo_json({"experiment_id": experiment_id})
    else:
        click.echo(experiment_id)


@experiments.command(name="list")
@view_option("experiments")
@filter_option("\"name LIKE 'exp%'\"")
@order_by_option("creation_time DESC")
@max_results_option(1000)
@tracking_uri_option
@json_option
def list_experiments(
    view: str,
    filter_string: str | None,
    order_by: tuple[str, ...],
    max_results: int,
    tracking_uri: str | None,
    as_json: bool,
) -> None:
    """List experiments: ID, name, stage, artifact location and creation time."""
    page = make_client(tracking_uri).search_experiments(
        view_type=VIEW_TYPES[view],
        max_results=max_results,
        filter_string=filter_string,
        order_by=list(order_by) or None,
        page_token=None,
    )
    if as_json:
        output.echo_entities(page)
    else:
        click.echo(output.table(HEADERS, [_row(e) for e in page]))
    output.echo_more_hint(page.token, len(page), "experiments")


@experiments.command()
@click.argument("experiment_id", type=EXPERIMENT_ID)
@click.argument("new_name")
@tracking_uri_option
@json_option
def rename(experiment_id: str, new_name: str, tracking_uri: str | None, as_json: bool) -> None:
    """Rename the experiment EXPERIMENT_ID (a number) to NEW_NAME."""
    client = make_client(tracking_uri)
    old_name = client.get_experiment(experiment_id).name
    client.rename_experiment(experiment_id, new_name)
    _report(
        client,
        experiment_id,
        as_json,
        f"Renamed experiment {experiment_id}: {old_name!r} -> {new_name!r}.",
    )


@experiments.command()
@click.argument("experiment_id", type=EXPERIMENT_ID)
@click.option(
    "--permanent",
    is_flag=True,
    help="Also purge it: remove its runs and their artifacts for good, and free its name.",
)
@yes_option
@tracking_uri_option
@json_option
def delete(
    experiment_id: str, permanent: bool, yes: bool, tracking_uri: str | None, as_json: bool
) -> None:
    """Delete the experiment EXPERIMENT_ID (a number).

    Without --permanent it can be restored with 'heron experiments restore'. With it, the
    experiment is soft-deleted first if still active, then purged; that asks for
    confirmation unless --yes is given.
    """
    client = make_client(tracking_uri)
    experiment = client.get_experiment(experiment_id)
    if permanent:
        _purge(client, experiment, yes, as_json)
        return
    runs = client.delete_experiment(experiment_id)
    # An MLflow-style server does not say how many runs went (its answer is empty).
    with_runs = "its active runs" if runs is None else _plural(runs, "active run")
    _report(
        client,
        experiment_id,
        as_json,
        f"Deleted experiment {experiment_id} ({experiment.name}) and {with_runs}; "
        f"'heron experiments restore {experiment_id}' brings them back.",
    )


@experiments.command()
@click.argument("experiment_id", type=EXPERIMENT_ID)
@tracking_uri_option
@json_option
def restore(experiment_id: str, tracking_uri: str | None, as_json: bool) -> None:
    """Restore the deleted experiment EXPERIMENT_ID (a number) and its runs."""
    client = make_client(tracking_uri)
    client.restore_experiment(experiment_id)
    _report(client, experiment_id, as_json, f"Restored experiment {experiment_id}.")


def _purge(client: HeronClient, experiment: Experiment, yes: bool, as_json: bool) -> None:
    experiment_id = experiment.experiment_id
    if not yes:
        click.confirm(
            f"Permanently delete experiment {experiment_id} ({experiment.name}), all its runs "
            "and their artifacts? This cannot be undone.",
            abort=True,
            err=True,
        )
    if experiment.lifecycle_stage == LifecycleStage.ACTIVE:
        client.delete_experiment(experiment_id)
    report = client.purge_experiment(experiment_id)
    if as_json:
        show_report({"experiment_id": experiment_id, **report}, as_json=True)
        return
    click.echo(
        f"Permanently deleted experiment {experiment_id} ({experiment.name}): "
        f"{_plural(report.get('runs', 0), 'run')}, "
        f"{output.file_size(report.get('artifact_bytes', 0))} of artifacts freed."
    )
    show_problems(report)
    show_report_errors(report)


def _report(client: HeronClient, experiment_id: str, as_json: bool, message: str) -> None:
    if as_json:
        output.echo_json(client.get_experiment(experiment_id).to_dict())
    else:
        click.echo(message)


def _row(e: Experiment) -> tuple[object, ...]:
    created = output.timestamp(e.creation_time)
    return (e.experiment_id, e.name, e.lifecycle_stage, e.artifact_location, created)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
