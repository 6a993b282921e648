"""Options every command shares, and the client they build."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

import click

from heron.client import HeronClient
from heron.tracking_uri import DEFAULT_FOLDER, TRACKING_URI_ENV, default_tracking_uri
from heron.validation import SEARCH_MAX_RESULTS_THRESHOLD

F = TypeVar("F", bound=Callable[..., Any])

VIEW_TYPES = {"active": 1, "deleted": 2, "all": 3}  # ViewType.ACTIVE_ONLY, DELETED_ONLY, ALL

tracking_uri_option = click.option(
    "--tracking-uri",
    envvar=list(TRACKING_URI_ENV),
    show_envvar=True,
    metavar="URI",
    help=(
        "Where the data is: a folder, a database URI or a server URL. "
        f"Default: the embedded store in ./{DEFAULT_FOLDER}/ in the working directory."
    ),
)

json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print JSON (the API's form) instead of text."
)

yes_option = click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")


def view_option(noun: str) -> Callable[[F], F]:
    return click.option(
        "--view",
        type=click.Choice(list(VIEW_TYPES)),
        default="active",
        show_default=True,
        help=f"Which {noun} to list: active ones, deleted ones, or all.",
    )


def filter_option(example: str) -> Callable[[F], F]:
    return click.option(
        "--filter",
        "filter_string",
        metavar="FILTER",
        help=f"A search filter in MLflow's syntax, e.g. {example}.",
    )


def order_by_option(example: str) -> Callable[[F], F]:
    return click.option(
        "--order-by",
        multiple=True,
        metavar="KEY [ASC|DESC]",
        help=f"Sort key, e.g. '{example}'; repeat for ties.",
    )


def max_results_option(default: int) -> Callable[[F], F]:
    return click.option(
        "--max-results",
        type=click.IntRange(1, SEARCH_MAX_RESULTS_THRESHOLD),
        default=default,
        show_default=True,
        metavar="N",
        help="Show at most this many.",
    )


class ExperimentIdType(click.ParamType):
    """Experiment IDs are numbers; a name is refused here, with a pointer to the IDs."""

    name = "experiment_id"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value).strip()
        if not re.fullmatch(r"\d+", text):
            self.fail(
                f"{value!r} is not an experiment ID. IDs are numbers, not names; "
                "'heron experiments list' shows them.",
                param,
                ctx,
            )
        return text


EXPERIMENT_ID = ExperimentIdType()


class KeyValueType(click.ParamType):
    """``key=value``, split at the first ``=``."""

    name = "key=value"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> tuple[str, str]:
        if isinstance(value, tuple):
            return value
        key, sep, val = str(value).partition("=")
        if not sep or not key:
            self.fail(f"{value!r} is not of the form key=value.", param, ctx)
        return key, val


KEY_VALUE = KeyValueType()


def make_client(tracking_uri: str | None) -> HeronClient:
    """The client for ``--tracking-uri`` (click has already read the environment)."""
    return HeronClient(tracking_uri=tracking_uri or default_tracking_uri())
