"""``heron runs``: list, describe, delete and restore runs."""

from __future__ import annotations

from collections.abc import Sequence

import click

from heron.cli import output
from heron.cli.options import (
    EXPERIMENT_ID,
    VIEW_TYPES,
    filter_option,
    json_option,
    make_client,
    max_results_option,
    order_by_option,
    tracking_uri_option,
    view_option,
)
from heron.client import HeronClient
from heron.entities import DatasetInput, Run

HEADERS = ("run id", "run name", "status", "start time", "end time")
CONTEXT_TAG = "mlflow.data.context"


@click.group()
def runs() -> None:
    """List, describe, delete and restore runs."""


@runs.command(name="list")
@click.option(
    "--experiment-id",
    "experiment_ids",
    type=EXPERIMENT_ID,
    metavar="ID",
    multiple=True,
    default=("0",),
    show_default=True,
    help="The experiment to list runs of (an ID, not a name; 0 is the Default "
    "experiment); repeat for several.",
)
@filter_option("\"metrics.loss < 0.5 and params.lr = '0.1'\"")
@order_by_option("metrics.loss ASC")
@view_option("runs")
@max_results_option(100)
@tracking_uri_option
@json_option
def list_runs(
    experiment_ids: tuple[str, ...],
    filter_string: str | None,
    order_by: tuple[str, ...],
    view: str,
    max_results: int,
    tracking_uri: str | None,
    as_json: bool,
) -> None:
    """List runs: ID, name, status, start and end time."""
    client = make_client(tracking_uri)
    for experiment_id in experiment_ids:
        client.get_experiment(experiment_id)  # an unknown ID is an error, not an empty list
    page = client.search_runs(
        list(experiment_ids),
        filter_string=filter_string or "",
        run_view_type=VIEW_TYPES[view],
        max_results=max_results,
        order_by=list(order_by) or None,
    )
    if as_json:
        output.echo_entities(page)
    else:
        click.echo(output.table(HEADERS, [_row(r) for r in page]))
    output.echo_more_hint(page.token, len(page), "runs")


@runs.command()
@click.argument("run_id")
@tracking_uri_option
@json_option
def describe(run_id: str, tracking_uri: str | None, as_json: bool) -> None:
    """Show the run RUN_ID: its info, params, latest metrics, tags and inputs."""
    run = make_client(tracking_uri).get_run(run_id)
    if as_json:
        output.echo_json(run.to_dict())
    else:
        click.echo(render_run(run))


@runs.command()
@click.argument("run_id")
@tracking_uri_option
@json_option
def delete(run_id: str, tracking_uri: str | None, as_json: bool) -> None:
    """Delete the run RUN_ID; 'heron runs restore' brings it back."""
    client = make_client(tracking_uri)
    client.delete_run(run_id)
    _report(client, run_id, as_json, f"Deleted run {run_id}.")


@runs.command()
@click.argument("run_id")
@tracking_uri_option
@json_option
def restore(run_id: str, tracking_uri: str | None, as_json: bool) -> None:
    """Restore the deleted run RUN_ID."""
    client = make_client(tracking_uri)
    client.restore_run(run_id)
    _report(client, run_id, as_json, f"Restored run {run_id}.")


def render_run(run: Run) -> str:
    """The text form of ``describe``: one block per part of the run."""
    return "\n\n".join(
        [
            _info(run),
            _section("Params", ("key", "value"), sorted(run.data.params.items())),
            _section("Metrics (latest)", ("key", "value", "step", "time"), _metric_rows(run)),
            _section("Tags", ("key", "value"), sorted(run.data.tags.items())),
            _section("Inputs", ("dataset", "digest", "source type", "context"), _input_rows(run)),
        ]
    )


def _info(run: Run) -> str:
    info = run.info
    return f"Run {info.run_id}\n" + output.fields(
        [
            ("name", info.run_name),
            ("experiment id", info.experiment_id),
            ("status", info.status),
            ("stage", info.lifecycle_stage),
            ("user", info.user_id),
            ("start time", output.timestamp(info.start_time)),
            ("end time", output.timestamp(info.end_time)),
            ("artifact uri", info.artifact_uri),
        ]
    )


def _section(title: str, headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    body = output.table(headers, rows) if rows else "(none)"
    return f"{title}\n{body}"


def _metric_rows(run: Run) -> list[tuple[object, ...]]:
    latest = sorted(run.data.metric_objs, key=lambda m: m.key)
    return [(m.key, m.value, m.step, output.timestamp(m.timestamp)) for m in latest]


def _input_rows(run: Run) -> list[tuple[object, ...]]:
    return [_input_row(d) for d in run.inputs.dataset_inputs]


def _input_row(dataset_input: DatasetInput) -> tuple[object, ...]:
    d = dataset_input.dataset
    context = next((t.value for t in dataset_input.tags if t.key == CONTEXT_TAG), None)
    return (d.name, d.digest, d.source_type, context)


def _report(client: HeronClient, run_id: str, as_json: bool, message: str) -> None:
    if as_json:
        output.echo_json(client.get_run(run_id).to_dict())
    else:
        click.echo(message)


def _row(run: Run) -> tuple[object, ...]:
    info = run.info
    start, end = output.timestamp(info.start_time), output.timestamp(info.end_time)
    return (info.run_id, info.run_name, info.status, start, end)
