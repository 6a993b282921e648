"""The filter and order_by parser: structure, quoting, and errors that say where."""

from __future__ import annotations

import pytest

from heron.exceptions import INVALID_PARAMETER_VALUE, HeronException
from heron.store.search import (
    EXPERIMENT_ENTITIES,
    And,
    Comparison,
    Or,
    OrderKey,
    parse_filter,
    parse_order_by,
)

A = Comparison("attribute", "a", "=", "1")
B = Comparison("attribute", "b", "=", "2")
C = Comparison("attribute", "c", "=", "3")


@pytest.mark.parametrize("text", [None, "", "   \n "])
def test_no_filter(text: str | None) -> None:
    assert parse_filter(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a = '1'", A),
        ("a = '1' AND b = '2' OR c = '3'", Or((And((A, B)), C))),
        ("a = '1' or b = '2' and c = '3'", Or((A, And((B, C))))),
        ("(a = '1' OR b = '2') AND c = '3'", And((Or((A, B)), C))),
        ("((a = '1'))", A),
        ("a = '1' AND (b = '2' OR (c = '3'))", And((A, Or((B, C))))),
    ],
)
def test_and_binds_tighter_than_or(text: str, expected: object) -> None:
    assert parse_filter(text) == expected


@pytest.mark.parametrize(
    ("text", "entity", "key"),
    [
        ("metrics.acc > 1", "metric", "acc"),
        ("metric.acc > 1", "metric", "acc"),
        ("metrics.a.b > 1", "metric", "a.b"),
        ('metrics."my metric" > 1', "metric", "my metric"),
        ("metrics.`my metric` > 1", "metric", "my metric"),
        ('metrics."a.b" > 1', "metric", "a.b"),
        ("metrics.val/loss > 1", "metric", "val/loss"),
        ("METRICS.acc > 1", "metric", "acc"),
        ("parameters.lr = '1'", "param", "lr"),
        ("params.lr = '1'", "param", "lr"),
        ("tags.`a b` = '1'", "tag", "a b"),
        ('tags."say ""hi""" = \'1\'', "tag", 'say "hi"'),
        ("run.status = '1'", "attribute", "status"),
        ("attr.status = '1'", "attribute", "status"),
        ("`Run Name` = '1'", "attribute", "Run Name"),
        ("\"run name\" = '1'", "attribute", "run name"),
        ("datasets.context = '1'", "dataset", "context"),
        ("tags.`and` = '1'", "tag", "and"),
        ("`and` = '1'", "attribute", "and"),
    ],
)
def test_identifiers(text: str, entity: str, key: str) -> None:
    node = parse_filter(text)
    assert isinstance(node, Comparison)
    assert (node.entity, node.key) == (entity, key)


@pytest.mark.parametrize(
    ("text", "op", "value"),
    [
        ("a = 1", "=", 1),
        ("a <> 1", "!=", 1),
        ("a != -2.5", "!=", -2.5),
        ("a>=1e3", ">=", 1000.0),
        ("a <= .5E-2", "<=", 0.005),
        ("a < -7", "<", -7),
        ("a = 'it''s'", "=", "it's"),
        ("a = ''", "=", ""),
        ('a = "double"', "=", "double"),
        ("a like '%x'", "LIKE", "%x"),
        ("a ILike '%x'", "ILIKE", "%x"),
        ("a not like '%x'", "NOT LIKE", "%x"),
        ("a NOT ILIKE '%x'", "NOT ILIKE", "%x"),
        ("a in ('x')", "IN", ("x",)),
        ("a IN ('x', 'y',2)", "IN", ("x", "y", 2)),
        ("a not in ('x','y')", "NOT IN", ("x", "y")),
        ("a is null", "IS NULL", None),
        ("a IS NOT NULL", "IS NOT NULL", None),
    ],
)
def test_operators_and_values(text: str, op: str, value: object) -> None:
    assert parse_filter(text) == Comparison("attribute", "a", op, value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("metrics.acc >", "expected a value at position 13 (end of filter)"),
        ("metrics.acc > )", "expected a value at position 14, found ')'"),
        ("metrics.acc", "expected a comparison operator"),
        ("metrics.acc", "after 'metrics.acc' at position 11 (end of filter)"),
        ("a = 1 b = 2", "expected AND, OR or the end of the filter at position 6, found 'b'"),
        ("(a = 1", "expected AND, OR or ')' at position 6 (end of filter)"),
        ("a = 1)", "at position 5, found ')'"),
        ("a = 1 AND", "expected an identifier or '(' at position 9 (end of filter)"),
        ("OR a = 1", "expected an identifier or '(' at position 0, found 'OR'"),
        ("a IN 'x'", "expected '(' to open the IN list at position 5, found \"'x'\""),
        ("a IN ('x' 'y')", "expected ',' or ')' in the IN list at position 10, found \"'y'\""),
        ("a IN ()", "expected a value at position 6, found ')'"),
        ("a IS 'x'", "expected NULL at position 5, found \"'x'\""),
        ("a NOT = 'x'", "expected LIKE, ILIKE or IN after NOT at position 6, found '='"),
        ("a = 'x", "unterminated string starting at position 4: 'x"),
        ("metrics.`acc > 1", "unterminated quoted name starting at position 8"),
        ("a = 'x' & b = 'y'", "unexpected character '&' at position 8"),
        ("metrics. = 1", "expected a key after 'metrics.' at position 8"),
        ("foo.bar = 1", "unknown entity 'foo' at position 0; use one of attr, attribute"),
        ("a = b", "expected a value at position 4, found 'b'; quote strings with single quotes"),
        ("a = `b`", "expected a value at position 4, found '`b`'; quote strings"),
    ],
)
def test_syntax_errors_say_where(text: str, message: str) -> None:
    with pytest.raises(HeronException) as caught:
        parse_filter(text)
    assert caught.value.error_code == INVALID_PARAMETER_VALUE
    assert caught.value.message.startswith(f"Invalid filter '{text}': ")
    assert message in caught.value.message


def test_experiment_entities_reject_run_prefixes() -> None:
    with pytest.raises(HeronException, match="unknown entity 'metrics' at position 0"):
        parse_filter("metrics.acc > 1", entities=EXPERIMENT_ENTITIES)
    assert parse_filter("tags.a = 'b'", entities=EXPERIMENT_ENTITIES) == Comparison(
        "tag", "a", "=", "b"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("start_time", OrderKey("attribute", "start_time", True)),
        ("metrics.acc DESC", OrderKey("metric", "acc", False)),
        ("params.`learning rate` asc", OrderKey("param", "learning rate", True)),
        ("  tags.a   desc ", OrderKey("tag", "a", False)),
    ],
)
def test_order_by(text: str, expected: OrderKey) -> None:
    assert parse_order_by(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Invalid order_by clause '': expected an identifier at position 0 (end of"),
        ("metrics.acc sideways", "expected ASC, DESC or the end of the clause at position 12"),
        ("metrics.acc DESC ASC", "at position 17, found 'ASC'"),
        ("DESC", "expected an identifier at position 0, found 'DESC'"),
        ("= 1", "expected an identifier at position 0, found '='"),
    ],
)
def test_order_by_errors_say_where(text: str, message: str) -> None:
    with pytest.raises(HeronException, match=r"^Invalid order_by clause") as caught:
        parse_order_by(text)
    assert message in caught.value.message
