import json
import sys

import numpy as np
import pandas as pd
import pytest

from heron.artifacts.formats import merge_tables, read_table, table_to_json
from heron.exceptions import INVALID_PARAMETER_VALUE, HeronException

COLUMNS = {"name": ["a", "b"], "score": [0.5, 1.0], "n": [1, 2]}
EXPECTED = {"columns": ["name", "score", "n"], "data": [["a", 0.5, 1], ["b", 1.0, 2]]}


@pytest.fixture
def no_pandas(monkeypatch: pytest.MonkeyPatch) -> None:
    # A None entry in sys.modules makes `import pandas` raise ImportError.
    monkeypatch.setitem(sys.modules, "pandas", None)


def test_dataframe_to_json_is_split_orient_without_index() -> None:
    frame = pd.DataFrame(COLUMNS, index=[10, 20])
    assert table_to_json(frame) == EXPECTED
    assert table_to_json(frame) == json.loads(frame.to_json(orient="split", index=False))


def test_dataframe_cells_become_json_values() -> None:
    frame = pd.DataFrame({"t": pd.to_datetime(["2024-01-02"]), "x": [np.nan]})
    table = table_to_json(frame)
    assert table["data"] == [["2024-01-02T00:00:00.000", None]]
    json.dumps(table, allow_nan=False)


def test_dict_of_columns_with_pandas() -> None:
    assert table_to_json(COLUMNS) == EXPECTED


@pytest.mark.usefixtures("no_pandas")
def test_dict_of_columns_without_pandas() -> None:
    assert table_to_json(COLUMNS) == EXPECTED
    numpy_columns = {"x": np.array([1, 2]), "y": (float("nan"), 3.5)}
    assert table_to_json(numpy_columns) == {"columns": ["x", "y"], "data": [[1, None], [2, 3.5]]}
    assert table_to_json({}) == {"columns": [], "data": []}


@pytest.mark.parametrize("pandas_present", [True, False])
def test_bad_tables_are_refused(monkeypatch: pytest.MonkeyPatch, pandas_present: bool) -> None:
    if not pandas_present:
        monkeypatch.setitem(sys.modules, "pandas", None)
    for bad, message in [
        ({"a": [1, 2], "b": [1]}, "same length"),
        ({"a": "abc"}, "must be a list"),
        ({"a": 3}, "must be a list"),
        ([[1, 2]], "DataFrame or a dict"),
        ("table", "DataFrame or a dict"),
    ]:
        with pytest.raises(HeronException, match=message) as caught:
            table_to_json(bad)
        assert caught.value.error_code == INVALID_PARAMETER_VALUE


def merged_example() -> dict:
    existing = {"columns": ["a", "b"], "data": [[1, "x"], [2, "y"]]}
    new = {"columns": ["b", "c"], "data": [["z", True]]}
    return merge_tables(existing, new)


def test_merge_appends_rows_over_the_union_of_columns() -> None:
    assert merged_example() == {
        "columns": ["a", "b", "c"],
        "data": [[1, "x", None], [2, "y", None], [None, "z", True]],
    }


@pytest.mark.usefixtures("no_pandas")
def test_merge_works_without_pandas() -> None:
    assert merged_example()["columns"] == ["a", "b", "c"]


def test_merge_agrees_with_pandas_concat() -> None:
    old = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    new = pd.DataFrame({"b": ["z"], "c": [3.5]})
    ours = merge_tables(table_to_json(old), table_to_json(new))
    theirs = table_to_json(pd.concat([old, new], ignore_index=True))
    assert ours["columns"] == theirs["columns"]
    assert ours["data"] == theirs["data"]


@pytest.mark.parametrize(
    "bad",
    [
        {"columns": ["a"]},
        {"columns": "a", "data": []},
        {"columns": ["a", "a"], "data": []},
        {"columns": ["a", "b"], "data": [[1]]},
        [],
    ],
)
def test_merge_refuses_malformed_tables(bad: dict) -> None:
    with pytest.raises(HeronException) as caught:
        merge_tables({"columns": [], "data": []}, bad)
    assert caught.value.error_code == INVALID_PARAMETER_VALUE


def test_read_table_round_trip() -> None:
    frame = read_table(EXPECTED)
    assert list(frame.columns) == ["name", "score", "n"]
    assert frame.to_dict(orient="list") == COLUMNS


@pytest.mark.usefixtures("no_pandas")
def test_read_table_without_pandas_says_what_to_install() -> None:
    with pytest.raises(ImportError, match="heron\\[pandas\\]"):
        read_table(EXPECTED)
