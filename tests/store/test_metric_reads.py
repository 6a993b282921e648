"""Reading histories: get_metric_histories (columns, downsampling) and keyset page tokens."""

from __future__ import annotations

import base64
import math
import random
import uuid

import pytest

from heron.entities import Metric, MetricHistory
from heron.exceptions import HeronException
from heron.store.metric_history import MAX_HISTORY_KEYS, MAX_HISTORY_RUNS, downsample


def error_code(call) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(HeronException) as excinfo:
        call()
    return excinfo.value.error_code


# ---- get_metric_histories -----------------------------------------------------------------


def test_histories_in_the_order_asked_each_in_step_order(store) -> None:
    a, b = (store.create_run("0").info.run_id for _ in range(2))
    store.log_metrics_bulk(
        {
            a: [Metric("x", 1.0, 5, 2), Metric("x", 2.0, 3, 1), Metric("y", 3.0, 1, 0)],
            b: [Metric("x", 4.0, 9, 0), Metric("x", 5.0, 8, 0), Metric("x", 6.0, 8, 0)],
        }
    )
    got = store.get_metric_histories([b, a, uuid.uuid4().hex], ["y", "x", "never"])
    assert [(h.run_id, h.key) for h in got] == [(b, "x"), (a, "y"), (a, "x")]
    assert got[0] == MetricHistory(b, "x", [0, 0, 0], [5.0, 6.0, 4.0], [8, 8, 9])
    assert got[2].steps == [1, 2] and got[2].values == [2.0, 1.0] and len(got[2]) == 2
    assert [m.to_dict() for m in got[1].to_metrics()] == [
        {"key": "y", "value": 3.0, "timestamp": 1, "step": 0, "run_id": a}
    ]


def test_step_range_and_special_values(store) -> None:
    run_id = store.create_run("0").info.run_id
    values = [0.5, math.nan, math.inf, -math.inf, 7.0]
    store.log_metrics_bulk({run_id: [Metric("m", v, 1, i) for i, v in enumerate(values)]})
    (whole,) = store.get_metric_histories([run_id], ["m"])
    assert math.isnan(whole.values[1])
    assert whole.values[2:] == [math.inf, -math.inf, 7.0]
    (part,) = store.get_metric_histories([run_id], ["m"], start_step=2, end_step=3)
    assert part.steps == [2, 3]
    assert store.get_metric_histories([run_id], ["m"], start_step=10) == []


def test_many_runs_and_chunks(store) -> None:
    runs = [store.create_run("0").info.run_id for _ in range(3)]
    store.log_metrics_bulk({r: [Metric("m", float(i), 1, i) for i in range(45_000)] for r in runs})
    got = store.get_metric_histories(runs, ["m"])
    assert [h.run_id for h in got] == runs
    assert all(h.steps == list(range(45_000)) for h in got)


def test_downsampled_reads(store) -> None:
    run_id = store.create_run("0").info.run_id
    store.log_metrics_bulk({run_id: [Metric("m", math.sin(i / 50), 1, i) for i in range(5000)]})
    (small,) = store.get_metric_histories([run_id], ["m"], max_points=100)
    assert 50 <= len(small) <= 100
    assert small.steps[0] == 0 and small.steps[-1] == 4999
    assert max(small.values) == pytest.approx(1.0, abs=1e-3)
    assert min(small.values) == pytest.approx(-1.0, abs=1e-3)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"run_ids": [], "metric_keys": ["m"]}, "run ids"),
        ({"run_ids": ["a" * 32] * 2 + ["b" * 32], "metric_keys": []}, "metric keys"),
        ({"run_ids": [f"{i:032x}" for i in range(MAX_HISTORY_RUNS + 1)], "metric_keys": ["m"]}, ""),
        (
            {"run_ids": ["a" * 32], "metric_keys": [f"k{i}" for i in range(MAX_HISTORY_KEYS + 1)]},
            "",
        ),
        ({"run_ids": ["bad id"], "metric_keys": ["m"]}, "run ID"),
        ({"run_ids": ["a" * 32], "metric_keys": ["bad key!"]}, "metric name"),
        ({"run_ids": ["a" * 32], "metric_keys": ["m"], "max_points": 1}, "max_points"),
        ({"run_ids": ["a" * 32], "metric_keys": ["m"], "max_points": True}, "max_points"),
        ({"run_ids": ["a" * 32], "metric_keys": ["m"], "start_step": 5, "end_step": 4}, "step"),
        ({"run_ids": "a" * 32, "metric_keys": ["m"]}, "lists"),
    ],
)
def test_history_limits(store, kwargs: dict, fragment: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(HeronException) as excinfo:
        store.get_metric_histories(**kwargs)
    assert excinfo.value.error_code == "INVALID_PARAMETER_VALUE"
    assert fragment in excinfo.value.message


# ---- downsample (no database) -------------------------------------------------------------


def history(values: list[float], steps: list[int] | None = None) -> MetricHistory:
    steps = list(range(len(values))) if steps is None else steps
    return MetricHistory("r", "m", steps, values, [1000 + s for s in steps])


def test_downsample_keeps_extremes_first_and_last() -> None:
    rng = random.Random(7)
    for n in (5, 99, 1000, 4321):
        values = [rng.uniform(-1, 1) for _ in range(n)]
        values[n // 3] = 50.0  # a spike must survive
        values[n // 2] = -50.0
        for max_points in (2, 3, 4, 5, 10, 101, 500):
            got = downsample(history(values), max_points)
            assert len(got) <= max(max_points, 0) or n <= max_points
            assert got.steps == sorted(got.steps)
            assert got.steps[0] == 0 and got.steps[-1] == n - 1
            if max_points >= 4 and n > max_points:
                assert 50.0 in got.values and -50.0 in got.values
            assert got.timestamps == [1000 + s for s in got.steps]


def test_downsample_min_and_max_per_bucket() -> None:
    values = [0.0, 5.0, 1.0, -2.0, 3.0, 3.0, 9.0, 4.0, -1.0, 2.0]
    got = downsample(history(values), 6)  # (6 - 2) // 2 = 2 buckets of 5 steps
    # bucket 0..4: min -2 at 3, max 5 at 1; bucket 5..9: min -1 at 8, max 9 at 6; plus ends
    assert got.steps == [0, 1, 3, 6, 8, 9]
    assert got.values == [0.0, 5.0, -2.0, 9.0, -1.0, 2.0]


def test_downsample_keeps_a_gap_of_nan() -> None:
    gap = history([1.0] * 10 + [math.nan] * 10 + [2.0] * 10)
    got = downsample(gap, 8)  # 3 buckets of 10 steps: the middle one is all NaN
    assert len(got) <= 8
    assert [s for s, v in zip(got.steps, got.values, strict=True) if math.isnan(v)] == [10]
    mixed = history([1.0, math.nan, 5.0, math.nan, -3.0, 0.0] * 5)
    got = downsample(mixed, 4)  # one bucket: NaN gives way to its real values
    assert got.steps == [0, 2, 4, 29]


def test_downsample_buckets_by_step_not_by_position() -> None:
    steps = [0, 1, 2, 3, 4, 5, 6, 7, 1000]
    values = [0.0, 9.0, 1.0, 8.0, 2.0, 7.0, 3.0, 6.0, 5.0]
    got = downsample(history(values, steps), 6)  # buckets 0..500 and 501..1000
    assert got.steps == [0, 1, 1000]


def test_downsample_leaves_short_histories_alone() -> None:
    short = history([1.0, 2.0, 3.0])
    assert downsample(short, 3) is short
    assert downsample(short, None) is short
    assert downsample(history([1.0] * 10), 2).steps == [0, 9]
    assert error_code(lambda: downsample(history([1.0] * 10), 1)) == "INVALID_PARAMETER_VALUE"


# ---- get_metric_history pages ---------------------------------------------------------------


def test_pages_walk_the_whole_history_once(store) -> None:
    run_id = store.create_run("0").info.run_id
    # ties on step and timestamp: log order decides, across page boundaries too
    metrics = [Metric("m", float(i), 10 - i % 3, i // 4) for i in range(103)]
    store.log_metrics_bulk({run_id: metrics})
    whole = store.get_metric_history(run_id, "m")
    seen, token = [], None
    while True:
        page = store.get_metric_history(run_id, "m", max_results=7, page_token=token)
        assert len(page) <= 7
        seen.extend(page)
        token = page.token
        if not token:
            break
    assert seen == whole and len(seen) == 103
    assert [(m.step, m.timestamp) for m in seen] == sorted((m.step, m.timestamp) for m in seen)


@pytest.mark.parametrize(
    "token",
    [
        "not base64!",
        base64.urlsafe_b64encode(b"not json").decode(),
        base64.urlsafe_b64encode(b'{"offset": 3}').decode(),
        base64.urlsafe_b64encode(b'{"after": [1, 2]}').decode(),
        base64.urlsafe_b64encode(b'{"after": [1, 2, "x"]}').decode(),
        base64.urlsafe_b64encode(b'{"after": [1, 2, true]}').decode(),
        base64.urlsafe_b64encode(b'{"after": [1, 2, 99999999999999999999999]}').decode(),
        base64.urlsafe_b64encode(b"[1, 2, 3]").decode(),
    ],
)
def test_malformed_page_tokens(store, token: str) -> None:
    run_id = store.create_run("0").info.run_id
    assert error_code(lambda: store.get_metric_history(run_id, "m", 5, token)) == (
        "INVALID_PARAMETER_VALUE"
    )


@pytest.mark.parametrize("fetch_rows", [1, 4, 7, 10_000])
def test_many_pairs_read_together(store, monkeypatch: pytest.MonkeyPatch, fetch_rows: int) -> None:
    from heron.store import metric_history

    monkeypatch.setattr(metric_history, "_PAIRS_ONE_BY_ONE", 0)
    monkeypatch.setattr(metric_history, "_FETCH_ROWS", fetch_rows)
    runs = [store.create_run("0").info.run_id for _ in range(3)]
    batches = {
        r: [Metric(k, float(i), 1, i) for k in ("a", "b") for i in range(n)]
        for r, n in zip(runs, (5, 1, 9), strict=True)
    }
    batches[runs[1]].append(Metric("c", math.inf, 1, 0))
    store.log_metrics_bulk(batches)
    got = store.get_metric_histories([runs[2], uuid.uuid4().hex, *runs], ["c", "b", "a"])
    assert [(h.run_id, h.key, len(h)) for h in got] == [
        (runs[2], "b", 9),
        (runs[2], "a", 9),
        (runs[0], "b", 5),
        (runs[0], "a", 5),
        (runs[1], "c", 1),
        (runs[1], "b", 1),
        (runs[1], "a", 1),
    ]
    assert got[0].steps == list(range(9)) and got[0].values == [float(i) for i in range(9)]
    assert got[4].values == [math.inf]
