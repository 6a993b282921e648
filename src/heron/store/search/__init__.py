"""Search: MLflow's filter and order_by strings turned into SQLAlchemy Core clauses.

``parse_filter`` gives an AST; ``run_filter_clause`` / ``experiment_filter_clause`` turn it
into a WHERE condition, and ``apply_run_order`` / ``apply_experiment_order`` add ORDER BY.
"""

from heron.store.search.experiments import apply_experiment_order, experiment_filter_clause
from heron.store.search.page_token import decode_page_token, encode_page_token
from heron.store.search.parser import (
    EXPERIMENT_ENTITIES,
    RUN_ENTITIES,
    And,
    Comparison,
    Node,
    Or,
    OrderKey,
    parse_filter,
    parse_order_by,
)
from heron.store.search.runs import apply_run_order, fetch_run_page, run_filter_clause

__all__ = [
    "EXPERIMENT_ENTITIES",
    "RUN_ENTITIES",
    "And",
    "Comparison",
    "Node",
    "Or",
    "OrderKey",
    "apply_experiment_order",
    "apply_run_order",
    "decode_page_token",
    "encode_page_token",
    "experiment_filter_clause",
    "fetch_run_page",
    "parse_filter",
    "parse_order_by",
    "run_filter_clause",
]
