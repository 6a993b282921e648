"""``search_runs`` with each project's own client: a filtered, ordered page and a plain one."""

from __future__ import annotations

from typing import Any

from _common import client_class, main, median_seconds, project

FILTER = "metrics.acc > 0.9 and params.lr = '0.01'"


def measure(args: dict[str, Any]) -> dict[str, Any]:
    m = project(args["module"])
    client = client_class(m)(args["uri"])
    exp, repeats = [args["experiment_id"]], args["repeats"]

    def filtered() -> Any:
        return client.search_runs(exp, FILTER, order_by=["metrics.acc DESC"], max_results=1000)

    def first_page() -> Any:
        return client.search_runs(exp, max_results=1000)

    filtered_s, found = median_seconds(filtered, repeats)
    page_s, page = median_seconds(first_page, repeats)
    return {
        "filtered_s": filtered_s,
        "filtered_runs": len(found),
        "page_s": page_s,
        "page_runs": len(page),
    }


if __name__ == "__main__":
    main(measure)
