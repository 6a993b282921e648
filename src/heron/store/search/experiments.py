"""Experiment search: the filter grammar of runs over ``experiments`` and ``experiment_tags``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Column, ColumnElement

from heron.exceptions import invalid
from heron.store.schema import experiment_tags, experiments
from heron.store.search.parser import EXPERIMENT_ENTITIES, Comparison, Node, parse_order_by
from heron.store.search.runs import (
    Condition,
    SelectT,
    combine,
    id_condition,
    key_value_condition,
    numeric_condition,
    ordered_nulls_last,
    string_condition,
)

NUMERIC_ATTRIBUTES: Mapping[str, Column[Any]] = {
    "creation_time": experiments.c.creation_time,
    "last_update_time": experiments.c.last_update_time,
}
ORDERABLE_ATTRIBUTES: Mapping[str, Column[Any]] = {
    "name": experiments.c.name,
    "experiment_id": experiments.c.experiment_id,
    **NUMERIC_ATTRIBUTES,
}


def experiment_filter_clause(node: Node | None) -> Condition:
    """The WHERE condition over ``schema.experiments`` that ``node`` describes."""
    return combine(node, _experiment_comparison)


def apply_experiment_order(stmt: SelectT, order_by: Sequence[str] | None) -> SelectT:
    """``stmt`` (selecting from ``experiments``) ordered by ``order_by``.

    Ties are always broken by creation_time descending, then experiment_id, as in MLflow.
    """
    clauses: list[ColumnElement[Any]] = []
    for item in order_by or ():
        key = parse_order_by(item, entities=EXPERIMENT_ENTITIES)
        column = ORDERABLE_ATTRIBUTES.get(key.key) if key.entity == "attribute" else None
        if column is None:
            raise invalid(
                f"Invalid order_by key {item!r}; experiments can be ordered by: "
                f"{', '.join(ORDERABLE_ATTRIBUTES)}"
            )
        clauses.extend(ordered_nulls_last(column, key.ascending, nullable=False))
    return stmt.order_by(
        *clauses, experiments.c.creation_time.desc(), experiments.c.experiment_id.asc()
    )


def _experiment_comparison(comparison: Comparison) -> Condition:
    if comparison.entity == "tag":
        link = experiment_tags.c.experiment_id == experiments.c.experiment_id
        return key_value_condition(experiment_tags, link, comparison, "tag")
    if comparison.entity != "attribute":
        raise invalid(
            f"Experiments cannot be searched by {comparison.entity} {comparison.key!r}; "
            "filter on attributes or tags.<key>"
        )
    key = comparison.key
    if key == "name":
        return string_condition(experiments.c.name, comparison, "attribute")
    if key == "experiment_id":
        return id_condition(experiments.c.experiment_id, comparison, "attribute")
    if key in NUMERIC_ATTRIBUTES:
        return numeric_condition(NUMERIC_ATTRIBUTES[key], comparison, "attribute")
    allowed = ", ".join(["name", "experiment_id", *NUMERIC_ATTRIBUTES])
    raise invalid(f"Invalid attribute key {key!r}; searchable attributes are: {allowed}")
