"""The ``heron`` command: the root group, the version option and error reporting."""

from __future__ import annotations

from typing import Any

import click

from heron.cli.artifacts import artifacts
from heron.cli.db import db
from heron.cli.experiments import experiments
from heron.cli.gc import gc
from heron.cli.runs import runs
from heron.cli.server import server, ui
from heron.cli.sync import sync
from heron.exceptions import HeronException
from heron.version import VERSION


class HeronGroup(click.Group):
    """Expected errors (HeronException, file system errors) print as ``Error: ...``, exit 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except HeronException as exc:
            raise click.ClickException(exc.message) from exc
        except OSError as exc:
            raise click.ClickException(str(exc)) from exc


@click.group(cls=HeronGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(VERSION, "--version", prog_name="heron", message="%(prog)s %(version)s")
def cli() -> None:
    """Heron: track machine-learning experiments, runs and artifacts (MLflow's API).

    Every command takes --tracking-uri (or HERON_TRACKING_URI); with neither, data lives in
    ./heronruns/ in the working directory.
    """


cli.add_command(experiments)
cli.add_command(runs)
cli.add_command(artifacts)
cli.add_command(db)
cli.add_command(gc)
cli.add_command(server)
cli.add_command(ui)
cli.add_command(sync)


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
