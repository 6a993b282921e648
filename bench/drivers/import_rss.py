"""Resident memory of a fresh interpreter after ``import <module>`` (none: bare interpreter)."""

from __future__ import annotations

from typing import Any

from _common import main, project, rss_mb


def measure(args: dict[str, Any]) -> dict[str, Any]:
    if args.get("module"):
        project(args["module"])
    return {"rss_mb": rss_mb()}


if __name__ == "__main__":
    main(measure)
