"""Downsampling in the database (metric_history._downsampled_history) gives exactly the
points ``downsample`` picks in Python, on every database."""

from __future__ import annotations

import math
import random

import pytest

from heron.entities import Metric, MetricHistory
from heron.store import metric_history
from heron.store.metric_history import downsample, read_histories


@pytest.fixture
def sql_always(monkeypatch: pytest.MonkeyPatch) -> None:
    """Take the database path even for small histories."""
    monkeypatch.setattr(metric_history, "SQL_DOWNSAMPLE_MIN_POINTS", 0)


def both(store, run_id: str, max_points: int, start=None, end=None):  # type: ignore[no-untyped-def]
    """(database-downsampled, Python-downsampled) history of metric m."""
    with store._read() as conn:
        fast = read_histories(conn, [run_id], ["m"], start, end, max_points)
        whole = read_histories(conn, [run_id], ["m"], start, end)
    slow = [downsample(h, max_points) for h in whole]
    return fast, slow


def same(a: list[MetricHistory], b: list[MetricHistory]) -> bool:
    def key(h: MetricHistory):  # type: ignore[no-untyped-def]
        return (h.steps, h.timestamps, [repr(v) for v in h.values])  # NaN equal to NaN

    return [key(h) for h in a] == [key(h) for h in b]


@pytest.mark.usefixtures("sql_always")
def test_random_histories_match_python(store) -> None:
    rng = random.Random(11)
    specials = [math.nan, math.inf, -math.inf]
    for trial in range(4):
        run_id = store.create_run("0").info.run_id
        points = []
        for i in range(1500):
            step = rng.randrange(0, 400) if trial % 2 else i * 3 - 100
            roll = rng.random()
            value = rng.choice(specials) if roll < 0.05 else float(rng.randrange(-5, 6))
            if roll > 0.7:
                value = rng.uniform(-3, 3)
            points.append(Metric("m", value, rng.randrange(0, 5), step))
        store.log_metrics_bulk({run_id: points})
        for max_points in (2, 3, 4, 7, 50, 301, 1499, 1500, 2000):
            fast, slow = both(store, run_id, max_points)
            assert same(fast, slow), (trial, max_points)
            assert len(fast[0]) <= max_points
        fast, slow = both(store, run_id, 40, start=10, end=300)
        assert same(fast, slow)


@pytest.mark.usefixtures("sql_always")
def test_edge_cases_match_python(store) -> None:
    run_id = store.create_run("0").info.run_id
    nan, inf = math.nan, math.inf
    values = [nan] * 30 + [1.0] * 30 + [inf, -inf, 5.0, 5.0] * 10 + [nan] * 30 + [2.0]
    # duplicate steps with ties in value: the first in (step, timestamp, order logged) wins
    points = [Metric("m", v, 100 - i % 7, i // 3) for i, v in enumerate(values)]
    store.log_metrics_bulk({run_id: points})
    for max_points in (2, 4, 10, 21, 60):
        fast, slow = both(store, run_id, max_points)
        assert same(fast, slow), max_points
    (kept,) = both(store, run_id, 10)[0]
    assert math.isnan(kept.values[0])
    assert inf in kept.values and -inf in kept.values
    # one step only, constant values, an empty range
    other = store.create_run("0").info.run_id
    store.log_metrics_bulk({other: [Metric("m", 3.0, i, 7) for i in range(50)]})
    fast, slow = both(store, other, 10)
    assert same(fast, slow) and fast[0].steps[0] == 7
    assert both(store, other, 10, start=8) == ([], [])


def test_large_history_uses_the_database(store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(metric_history, "SQL_DOWNSAMPLE_MIN_POINTS", 1000)
    run_id = store.create_run("0").info.run_id
    rng = random.Random(3)
    store.log_metrics_bulk({run_id: [Metric("m", rng.gauss(0, 1), 1, i) for i in range(3000)]})
    calls = []
    original = metric_history._bucket_extremes
    monkeypatch.setattr(
        metric_history,
        "_bucket_extremes",
        lambda *a, **k: calls.append(1) or original(*a, **k),
    )
    fast, slow = both(store, run_id, 100)
    assert same(fast, slow) and calls
    calls.clear()
    fast, slow = both(store, run_id, 5000)  # fits: every point, no aggregate
    assert same(fast, slow) and len(fast[0]) == 3000 and not calls


def test_to_metrics_builds_plain_metrics() -> None:
    import dataclasses
    import gc
    import pickle

    steps = list(range(2000))
    history = MetricHistory("r", "m", steps, [s / 3 for s in steps], [s * 10 for s in steps])
    got = history.to_metrics()
    want = [Metric("m", s / 3, s * 10, s, run_id="r") for s in steps]
    assert got == want and gc.isenabled()
    assert [hash(m) for m in got] == [hash(m) for m in want]
    assert repr(got[5]) == repr(want[5]) and vars(got[5]) == vars(want[5])
    assert pickle.loads(pickle.dumps(got[7])) == want[7]
    assert dataclasses.replace(got[1], step=9) == Metric("m", 1 / 3, 10, 9, run_id="r")
    with pytest.raises(dataclasses.FrozenInstanceError):
        got[0].step = 3  # type: ignore[misc]
    with pytest.raises(ValueError):
        MetricHistory("r", "m", [1, 2], [1.0], [1, 2]).to_metrics()
