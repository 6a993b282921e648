"""How commands print: aligned text tables for people, the API's JSON for programs."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Protocol

import click

MAX_CELL_WIDTH = 80
ELLIPSIS = "…"
COLUMN_GAP = "  "
EMPTY = "-"


class HasToDict(Protocol):
    def to_dict(self) -> dict[str, Any]: ...


def timestamp(ms: int | None) -> str:
    """Epoch milliseconds as local time, ``YYYY-MM-DD HH:MM:SS``."""
    if ms is None:
        return EMPTY
    return datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M:%S")


def file_size(size: int | None) -> str:
    """Bytes in powers of 1024: ``512 B``, ``1.5 KiB``, ``3.0 MiB``."""
    if size is None:
        return EMPTY
    amount = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if amount < 1024 or unit == "TiB":
            return f"{size} B" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    raise AssertionError("unreachable")


def cell(value: object, width: int = MAX_CELL_WIDTH) -> str:
    """One line of at most ``width`` characters; longer text ends in an ellipsis."""
    text = EMPTY if value is None or value == "" else str(value)
    text = " ".join(text.splitlines())
    return text if len(text) <= width else text[: width - 1] + ELLIPSIS


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """Columns padded to their widest cell; the header row is upper-cased."""
    lines = [[h.upper() for h in headers], *([cell(v) for v in row] for row in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(headers))]
    return "\n".join(
        COLUMN_GAP.join(text.ljust(w) for text, w in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def fields(pairs: Sequence[tuple[str, object]]) -> str:
    """``label: value`` lines with the values aligned."""
    width = max(len(label) for label, _ in pairs) + 1
    return "\n".join(f"{(label + ':').ljust(width)} {cell(value)}" for label, value in pairs)


def to_json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False)


def echo_json(data: Any) -> None:
    click.echo(to_json(data))


def echo_entities(entities: Iterable[HasToDict]) -> None:
    """A JSON list of the entities' API form."""
    echo_json([e.to_dict() for e in entities])


def echo_more_hint(token: str | None, shown: int, noun: str) -> None:
    """On stderr, so the table or JSON on stdout stays whole."""
    if token:
        click.echo(f"Showing the first {shown} {noun}; raise --max-results to see more.", err=True)
