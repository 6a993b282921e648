"""Raw HTTP ingestion, the same code against either server (needs httpx).

``log-batch``: ``POST /api/2.0/mlflow/runs/log-batch`` with ``batch`` metrics per request,
from ``threads`` threads, one run each. ``log-bulk`` (Heron only):
``POST /api/2.0/heron/metrics/log-bulk`` with ``batch`` points of one run per request.
Stops after ``requests`` requests or ``budget`` seconds; answers points per second.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
from _common import Missing, main

API = "/api/2.0/mlflow"


def create_runs(client: httpx.Client, count: int) -> list[str]:
    name = f"ingest-{time.time_ns()}"
    answer = client.post(f"{API}/experiments/create", json={"name": name})
    answer.raise_for_status()
    experiment_id = answer.json()["experiment_id"]
    runs = []
    for _ in range(count):
        body = {"experiment_id": experiment_id, "start_time": int(time.time() * 1000)}
        answer = client.post(f"{API}/runs/create", json=body)
        answer.raise_for_status()
        runs.append(answer.json()["run"]["info"]["run_id"])
    return runs


def batch_body(run_id: str, first: int, size: int, now: int) -> dict[str, Any]:
    metrics = [
        {"key": "loss", "value": 1.0 / (s + 1), "timestamp": now + s, "step": s}
        for s in range(first, first + size)
    ]
    return {"run_id": run_id, "metrics": metrics}


def bulk_body(run_id: str, first: int, size: int, now: int) -> dict[str, Any]:
    steps = list(range(first, first + size))
    metrics = {
        "key": ["loss"] * size,
        "value": [1.0 / (s + 1) for s in steps],
        "timestamp": [now + s for s in steps],
        "step": steps,
    }
    return {"runs": [{"run_id": run_id, "metrics": metrics}]}


def measure(args: dict[str, Any]) -> dict[str, Any]:
    url, mode, size = args["url"], args["mode"], args["batch"]
    threads, budget = args["threads"], args["budget"]
    path, make = (
        (f"{API}/runs/log-batch", batch_body)
        if mode == "log-batch"
        else ("/api/2.0/heron/metrics/log-bulk", bulk_body)
    )
    with httpx.Client(base_url=url, timeout=600) as client:
        runs = create_runs(client, threads)
        probe = client.post(path, json=make(runs[0], 10**9, 1, 0))
        if probe.status_code in (404, 405, 501):
            raise Missing(f"POST {path} answered {probe.status_code}")
        probe.raise_for_status()
    # Bodies are encoded before the clock starts: the client's JSON cost is not the server's.
    per_thread = max(1, args["requests"] // threads)
    now = int(time.time() * 1000)
    bodies = [
        [
            httpx.Request("POST", url + path, json=make(run, i * size, size, now))
            for i in range(per_thread)
        ]
        for run in runs
    ]
    sent = [0] * threads
    errors: list[str] = []
    start = time.perf_counter()

    def work(index: int) -> None:
        with httpx.Client(timeout=600) as client:
            for request in bodies[index]:
                answer = client.send(request)
                if answer.status_code != 200:
                    errors.append(f"{answer.status_code}: {answer.text[:200]}")
                    return
                sent[index] += 1
                if time.perf_counter() - start > budget:
                    return

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    seconds = time.perf_counter() - start
    if errors:
        raise RuntimeError(f"{len(errors)} failed requests, first: {errors[0]}")
    points = sum(sent) * size
    return {
        "points": points,
        "seconds": seconds,
        "points_per_s": points / seconds,
        "requests": sum(sent),
    }


if __name__ == "__main__":
    main(measure)
