"""One result row, and how its figures read in the table."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

# A cell is a figure, a reason it has none ("n/a (feature missing)"), or None (not run).
Cell = float | str | None

UNITS_PER_SECOND = ("pts/s", "calls/s")


@dataclass
class Row:
    measure: str
    backend: str
    heron: Cell
    mlflow: Cell
    unit: str  # "s", "pts/s", "calls/s", "MB", "count", "%"
    better: str = "lower"  # "lower", "higher", or "" when the columns are not compared
    target: str = ""
    target_ratio: float | None = None  # met when Heron's advantage reaches it
    met: str | None = None  # set by the scenario when the target is not a ratio

    def advantage(self) -> float | None:
        """How many times better Heron is (>1: Heron ahead), or None if not comparable."""
        h, f = self.heron, self.mlflow
        if not self.better or not isinstance(h, float) or not isinstance(f, float):
            return None
        if h <= 0 or f <= 0:
            return None
        return f / h if self.better == "lower" else h / f

    def met_text(self) -> str:
        if self.met is not None:
            return self.met
        ratio = self.advantage()
        if self.target_ratio is None or ratio is None:
            return "-"
        return "yes" if ratio >= self.target_ratio else "no"

    def cells(self) -> list[str]:
        ratio = self.advantage()
        if ratio is None:
            shown = "-"
        elif ratio >= 1:
            shown = f"{ratio:,.1f}x better"
        else:
            shown = f"{1 / ratio:,.1f}x worse"
        heron, mlflow = fmt(self.heron, self.unit), fmt(self.mlflow, self.unit)
        return [self.measure, self.backend, heron, mlflow, shown, self.target, self.met_text()]

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "advantage": self.advantage(), "met": self.met_text()}


def fmt(value: Cell, unit: str) -> str:
    if value is None:
        return "not run"
    if isinstance(value, str):
        return value
    if unit == "s":
        if value >= 1:
            return f"{value:.2f} s"
        if value >= 1e-3:
            return f"{value * 1e3:.3g} ms"
        return f"{value * 1e6:.3g} us"
    if unit in UNITS_PER_SECOND:
        return f"{value:,.0f} {unit}"
    if unit == "MB":
        return f"{value:,.0f} MB"
    if unit == "%":
        return f"{value:.0f} %"
    return f"{value:,.0f}"


HEADER = [
    "measure",
    "backend",
    "Heron",
    "MLflow",
    "Heron vs MLflow (x better = Heron ahead)",
    "target",
    "met?",
]


def markdown(rows: list[Row]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(row.cells()) + " |" for row in rows]
    return "\n".join(lines)
