"""What every driver shares: JSON in (argv[1]), JSON out (the last line of stdout).

Drivers run in either project's interpreter, so they import only the standard library and
the project under test (``import heron as m`` or ``import mlflow as m``).
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any


class Missing(Exception):
    """The measured feature is not there (yet): the row says n/a instead of failing."""


def main(measure: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
    args = json.loads(sys.argv[1])
    try:
        answer = measure(args)
    except Missing as exc:
        answer = {"missing": str(exc)}
    print(json.dumps(answer), flush=True)


def project(module: str) -> Any:
    """``import heron as m`` or ``import mlflow as m``."""
    return __import__(module)


def client_class(m: Any) -> Any:
    return m.HeronClient if hasattr(m, "HeronClient") else m.MlflowClient


def median_seconds(fn: Callable[[], Any], repeats: int, slow: float = 2.0) -> tuple[float, Any]:
    """One warm-up call of ``fn``, then the median wall time of ``repeats`` more, and the
    last result. A warm-up slower than ``slow`` seconds is the only sample: a read that
    slow is not repeated (connection set-up is noise at that scale)."""
    start = time.perf_counter()
    result = fn()
    first = time.perf_counter() - start
    if first > slow:
        return first, result
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), result


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0
