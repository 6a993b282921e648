"""One GET endpoint timed with httpx, the same code against either server (median).

Answers the median seconds and how many points the answer holds (``count`` names how:
``histories`` for Heron's ``{"histories":[{"steps":[...]}]}``, ``metrics`` for MLflow's).
"""

from __future__ import annotations

from typing import Any

import httpx
from _common import Missing, main, median_seconds


def points(body: dict[str, Any]) -> int:
    if "histories" in body:
        return sum(len(h.get("steps", [])) for h in body["histories"])
    return len(body.get("metrics", []))


def measure(args: dict[str, Any]) -> dict[str, Any]:
    with httpx.Client(base_url=args["url"], timeout=600) as client:

        def get() -> dict[str, Any]:
            answer = client.get(args["path"], params=args["params"])
            if answer.status_code in (404, 405, 501):
                raise Missing(f"GET {args['path']} answered {answer.status_code}")
            answer.raise_for_status()
            return answer.json()

        seconds, body = median_seconds(get, args["repeats"])
    return {"seconds": seconds, "points": points(body)}


if __name__ == "__main__":
    main(measure)
