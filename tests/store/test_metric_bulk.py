"""log_metrics_bulk: many runs' points in one transaction, all or nothing, once per request id."""

from __future__ import annotations

import math
import uuid

import pytest

from heron.entities import Metric
from heron.exceptions import HeronException
from heron.store import run_data


def error_code(call) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(HeronException) as excinfo:
        call()
    return excinfo.value.error_code


def points(n: int, key: str = "loss", start: int = 0) -> list[Metric]:
    return [Metric(key, 1.0 / (i + 1), 1000 + i, start + i) for i in range(n)]


def steps(store, run_id: str, key: str) -> list[int]:  # type: ignore[no-untyped-def]
    return [m.step for m in store.get_metric_history(run_id, key)]


def test_many_runs_in_one_call(store) -> None:
    a, b = (store.create_run("0").info.run_id for _ in range(2))
    stored = store.log_metrics_bulk({a: points(500) + points(3, "acc"), b: points(7)})
    assert stored == 510
    assert steps(store, a, "loss") == list(range(500))
    assert steps(store, a, "acc") == [0, 1, 2]
    assert steps(store, b, "loss") == list(range(7))
    assert store.get_run(a).data.metrics == {"loss": 1.0 / 500, "acc": 1.0 / 3}


def test_nan_and_infinities_round_trip(store) -> None:
    run_id = store.create_run("0").info.run_id
    values = [math.nan, math.inf, -math.inf, 0.0, -1.5e308, 2**53]
    metrics = [Metric("v", v, 1, i) for i, v in enumerate(values)]
    assert store.log_metrics_bulk({run_id: metrics}) == len(values)
    got = [m.value for m in store.get_metric_history(run_id, "v")]
    assert math.isnan(got[0])
    assert got[1:] == [math.inf, -math.inf, 0.0, -1.5e308, float(2**53)]
    assert store.get_run(run_id).data.metrics["v"] == float(2**53)


def test_latest_value_keeps_the_largest_step(store) -> None:
    run_id = store.create_run("0").info.run_id
    store.log_batch(run_id, metrics=[Metric("m", 9.0, 5, 100)])
    store.log_metrics_bulk({run_id: [Metric("m", 1.0, 9, 50), Metric("m", 2.0, 9, 99)]})
    assert store.get_run(run_id).data.metrics["m"] == 9.0
    # at the same step the later timestamp wins, and at equal timestamps the last point
    store.log_metrics_bulk({run_id: [Metric("m", 3.0, 6, 100), Metric("m", 4.0, 6, 100)]})
    assert store.get_run(run_id).data.metrics["m"] == 4.0


def test_unknown_or_deleted_run_stores_nothing(store) -> None:
    a, b = (store.create_run("0").info.run_id for _ in range(2))
    missing = uuid.uuid4().hex
    assert error_code(lambda: store.log_metrics_bulk({a: points(5), missing: points(1)})) == (
        "RESOURCE_DOES_NOT_EXIST"
    )
    store.delete_run(b)
    assert error_code(lambda: store.log_metrics_bulk({a: points(5), b: points(1)})) == (
        "INVALID_PARAMETER_VALUE"
    )
    assert steps(store, a, "loss") == []
    assert error_code(lambda: store.log_metrics_bulk({"not a run id": points(1)})) == (
        "INVALID_PARAMETER_VALUE"
    )


@pytest.mark.parametrize(
    "bad",
    [
        Metric("bad key!", 1.0, 1, 0),
        Metric("../up", 1.0, 1, 0),
        Metric("m", True, 1, 0),  # type: ignore[arg-type]
        Metric("m", "1.0", 1, 0),  # type: ignore[arg-type]
        Metric("m", 1.0, -1, 0),
        Metric("m", 1.0, 1.5, 0),  # type: ignore[arg-type]
        Metric("m", 1.0, 1, 2**63),
        Metric("m", 1.0, 2**63, 0),
        Metric("m", 1.0, 1, "3"),  # type: ignore[arg-type]
    ],
)
def test_one_bad_point_stores_nothing(store, bad: Metric) -> None:
    run_id = store.create_run("0").info.run_id
    assert error_code(lambda: store.log_metrics_bulk({run_id: [*points(10), bad]})) == (
        "INVALID_PARAMETER_VALUE"
    )
    assert steps(store, run_id, "loss") == []
    assert store.get_run(run_id).data.metrics == {}


def test_int_values_and_int64_bounds_are_accepted(store) -> None:
    run_id = store.create_run("0").info.run_id
    edge = [Metric("m", 3, 2**63 - 1, -(2**63)), Metric("m", 4, 0, 2**63 - 1)]
    assert store.log_metrics_bulk({run_id: edge}) == 2
    history = store.get_metric_history(run_id, "m")
    assert [(m.value, m.step) for m in history] == [(3.0, -(2**63)), (4.0, 2**63 - 1)]


def test_a_request_id_is_applied_once(store) -> None:
    run_id = store.create_run("0").info.run_id
    request_id = str(uuid.uuid4())
    assert store.log_metrics_bulk({run_id: points(20)}, request_id=request_id) == 20
    assert store.log_metrics_bulk({run_id: points(20)}, request_id=request_id) == 20
    assert len(steps(store, run_id, "loss")) == 20
    assert error_code(lambda: store.log_metrics_bulk({run_id: points(1)}, request_id="no way")) == (
        "INVALID_PARAMETER_VALUE"
    )


def test_limits(store, monkeypatch: pytest.MonkeyPatch) -> None:
    run_id = store.create_run("0").info.run_id
    monkeypatch.setattr(run_data, "MAX_BULK_POINTS", 10)
    assert error_code(lambda: store.log_metrics_bulk({run_id: points(11)})) == (
        "INVALID_PARAMETER_VALUE"
    )
    assert store.log_metrics_bulk({run_id: points(10)}) == 10
    monkeypatch.setattr(run_data, "MAX_BULK_RUNS", 1)
    other = store.create_run("0").info.run_id
    assert error_code(lambda: store.log_metrics_bulk({run_id: [], other: []})) == (
        "INVALID_PARAMETER_VALUE"
    )
    assert store.log_metrics_bulk({}) == 0


def test_a_large_call(store) -> None:
    run_id = store.create_run("0").info.run_id
    n = 60_000
    assert store.log_metrics_bulk({run_id: points(n)}) == n
    history = store.get_metric_histories([run_id], ["loss"])[0]
    assert history.steps == list(range(n))
    assert history.timestamps[-1] == 1000 + n - 1
