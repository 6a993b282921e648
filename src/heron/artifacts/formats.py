"""Turn Python objects into artifact files: text, dicts, figures, images and tables.

These are the file-making halves of ``log_text``, ``log_dict``, ``log_figure``, ``log_image``
and ``log_table``: the caller writes into a temporary folder and logs the result. Optional
libraries (numpy, Pillow, pandas, matplotlib, plotly, PyYAML) are imported only when an
object of theirs arrives, so importing this module costs nothing.
"""

from __future__ import annotations

import io
import json
import math
import random
import string
import uuid
import warnings
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from heron.artifacts.paths import safe_relative_path
from heron.exceptions import invalid

THUMBNAIL_MAX_SIDE = 256
_PLOTLY_IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".svg", ".pdf"}


def _from_library(obj: object, library: str) -> bool:
    """Whether ``obj``'s class (or a base) comes from ``library``, without importing it."""
    return any(cls.__module__.split(".")[0] == library for cls in type(obj).__mro__)


# -- text and dicts -----------------------------------------------------------------------


def write_text(text: str, path: Path) -> None:
    if not isinstance(text, str):
        raise invalid(f"log_text needs a str, got {type(text).__name__}")
    path.write_bytes(text.encode("utf-8"))  # bytes: no newline translation on any platform


def write_dict(d: Mapping[str, Any] | list[Any], path: Path) -> None:
    """YAML for .yml/.yaml, JSON (indent 2) otherwise, as MLflow's ``log_dict`` writes."""
    if path.suffix.lower() in (".yml", ".yaml"):
        import yaml  # deferred: only YAML artifacts pay for it

        try:
            # Key order is kept (MLflow sorts); safe_dump refuses objects YAML cannot reload.
            content = yaml.safe_dump(d, default_flow_style=False, indent=2, sort_keys=False)
        except yaml.YAMLError as exc:
            raise invalid(f"Cannot write the dictionary as YAML: {exc}") from None
    else:
        try:
            content = json.dumps(d, indent=2)
        except (TypeError, ValueError) as exc:
            raise invalid(f"Cannot write the dictionary as JSON: {exc}") from None
    path.write_text(content, encoding="utf-8")


# -- figures ------------------------------------------------------------------------------


def write_figure(figure: Any, path: Path, save_kwargs: dict[str, Any] | None = None) -> None:
    """Save a matplotlib or plotly figure; the file extension picks the format."""
    kwargs = dict(save_kwargs or {})
    if _from_library(figure, "matplotlib"):
        import matplotlib.figure

        if isinstance(figure, matplotlib.figure.Figure):
            return _write_matplotlib(figure, path, kwargs)
    if _from_library(figure, "plotly"):
        from plotly.basedatatypes import BaseFigure

        if isinstance(figure, BaseFigure):
            return _write_plotly(figure, path, kwargs)
    raise invalid(
        f"Unsupported figure type {type(figure).__module__}.{type(figure).__qualname__}; "
        "log a matplotlib.figure.Figure or a plotly Figure"
    )


def _write_matplotlib(figure: Any, path: Path, kwargs: dict[str, Any]) -> None:
    # Render to memory first: an unknown format then fails before any file exists, and
    # matplotlib cannot append its default extension to a name that lacks one.
    fmt = kwargs.pop("format", None) or path.suffix.lstrip(".").lower()
    supported = figure.canvas.get_supported_filetypes()
    if fmt not in supported:
        raise invalid(
            f"Cannot save a matplotlib figure as {path.name!r}; "
            f"use one of the extensions {', '.join(sorted(supported))}"
        )
    buffer = io.BytesIO()
    figure.savefig(buffer, format=fmt, **kwargs)
    path.write_bytes(buffer.getvalue())


def _write_plotly(figure: Any, path: Path, kwargs: dict[str, Any]) -> None:
    suffix = path.suffix.lower()
    if suffix == ".html":
        # A CDN reference keeps each HTML artifact small instead of embedding 3 MB of JS.
        kwargs.setdefault("include_plotlyjs", "cdn")
        kwargs.setdefault("auto_open", False)
        figure.write_html(str(path), **kwargs)
        return
    if suffix not in _PLOTLY_IMAGE_SUFFIXES:
        raise invalid(
            f"Cannot save a plotly figure as {path.name!r}; use .html or one of "
            f"{', '.join(sorted(_PLOTLY_IMAGE_SUFFIXES))}"
        )
    try:
        figure.write_image(str(path), **kwargs)
    except (RuntimeError, ValueError) as exc:  # typically: Kaleido is not installed
        path.unlink(missing_ok=True)
        raise invalid(f"Cannot save a plotly figure as {suffix}: {exc}".strip()) from None


# -- images -------------------------------------------------------------------------------


def image_artifact_name(key: str, step: int, timestamp: int) -> str:
    """MLflow's name for a step-tracked image: ``images/<key>+step+<s>+timestamp+<t>+<id>.png``.

    '/' in the key becomes '#' so the key stays one path component; the id never starts
    with a hex digit, as in MLflow, whose UI parses these names back into key and step.
    """
    if not key:
        raise invalid("An image key must not be empty")
    ident = random.choice(string.ascii_lowercase[6:]) + str(uuid.uuid4())[1:]
    sanitized = key.replace("/", "#")
    name = f"images/{sanitized}+step+{int(step)}+timestamp+{int(timestamp)}+{ident}.png"
    safe_relative_path(name)  # refuse a key that would smuggle in an unsafe path now
    return name


def thumbnail_artifact_name(image_name: str) -> str:
    """The ``+compressed.webp`` sibling MLflow's UI shows in place of the full image."""
    return image_name.removesuffix(".png") + "+compressed.webp"


def write_image(image: Any, path: Path) -> None:
    """Save a numpy array or PIL image; the extension (.png, .jpg, ...) picks the format."""
    _save_pil(_to_pil(image), path)


def write_image_thumbnail(image: Any, path: Path) -> None:
    """A copy whose longer side is at most THUMBNAIL_MAX_SIDE pixels (never enlarged)."""
    small = _to_pil(image).copy()
    small.thumbnail((THUMBNAIL_MAX_SIDE, THUMBNAIL_MAX_SIDE))
    if small.mode not in ("RGB", "RGBA"):
        has_alpha = "A" in small.mode or "transparency" in small.info
        small = small.convert("RGBA" if has_alpha else "RGB")
    _save_pil(small, path)


def _pil() -> ModuleType:
    try:
        from PIL import Image
    except ImportError:
        raise ImportError("Logging images needs Pillow: pip install 'heron[images]'") from None
    return Image


def _to_pil(image: Any) -> Any:
    Image = _pil()
    if isinstance(image, Image.Image):
        return image
    if _from_library(image, "numpy"):
        return Image.fromarray(_to_uint8(image))
    raise invalid(f"Unsupported image type {type(image).__name__}; use a numpy array or PIL image")


def _to_uint8(array: Any) -> Any:
    """Validate an image array and return it as HxW or HxWxC uint8 (MLflow's rules)."""
    import numpy as np

    kinds = {"b": "bool", "i": "signed integer", "u": "unsigned integer", "f": "floating"}
    if not isinstance(array, np.ndarray) or array.dtype.kind not in kinds:
        raise invalid(
            f"Invalid image array data type {getattr(array, 'dtype', type(array))}; "
            f"use one of {', '.join(kinds.values())}"
        )
    if array.ndim not in (2, 3):
        raise invalid(f"An image array must be 2D or 3D, got {array.ndim}D {array.shape}")
    if array.ndim == 3 and array.shape[2] not in (1, 3, 4):
        raise invalid(f"Invalid image channel count {array.shape[2]}; use 1, 3 or 4")
    if array.size == 0:
        raise invalid(f"An image array must not be empty, got shape {array.shape}")
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]  # PIL has no HxWx1 mode
    if array.dtype.kind == "b":
        return array.astype(np.uint8) * 255
    if array.dtype.kind == "f" and np.isnan(array).any():
        raise invalid("An image array must not contain NaN")
    high = 1.0 if array.dtype.kind == "f" else 255
    if array.min() < 0 or array.max() > high:
        # MLflow clips with a warning rather than refusing; scripts written for it rely on that.
        warnings.warn(
            f"Image values outside [0, {high}] (dtype {array.dtype}) were clipped", stacklevel=3
        )
        array = np.clip(array, 0, high)
    if array.dtype.kind == "f":
        return np.rint(array * 255).astype(np.uint8)
    return array.astype(np.uint8)


def _save_pil(image: Any, path: Path) -> None:
    Image = _pil()
    fmt = Image.registered_extensions().get(path.suffix.lower())
    if fmt is None:
        raise invalid(f"Cannot save an image as {path.name!r}: unknown image file extension")
    buffer = io.BytesIO()  # encode first, so a refused mode (RGBA as JPEG) leaves no file
    try:
        image.save(buffer, format=fmt)
    except (OSError, ValueError) as exc:
        raise invalid(f"Cannot save a {image.mode} image as {fmt}: {exc}") from None
    path.write_bytes(buffer.getvalue())


# -- tables -------------------------------------------------------------------------------


def _pandas() -> ModuleType | None:
    try:
        import pandas
    except ImportError:
        return None
    return pandas


def table_to_json(data: Any) -> dict[str, Any]:
    """MLflow's ``log_table`` JSON, ``{"columns": [...], "data": [[row], ...]}``.

    Takes a pandas DataFrame or a dict of equal-length columns; the dict form works
    without pandas. With pandas the content is exactly what ``to_json(orient="split",
    index=False)`` writes, which is what MLflow stores.
    """
    if _from_library(data, "pandas"):
        pd = _pandas()
        if pd is not None and isinstance(data, pd.DataFrame):
            return _frame_to_json(data)
    if not isinstance(data, Mapping):
        raise invalid(
            f"log_table needs a pandas DataFrame or a dict of columns, got {type(data).__name__}"
        )
    columns = _checked_columns(data)
    pd = _pandas()
    if pd is not None:
        return _frame_to_json(pd.DataFrame(columns))
    rows = zip(*(_to_list(values) for values in columns.values()), strict=True)
    return {"columns": list(columns), "data": [[_json_cell(v) for v in row] for row in rows]}


def _frame_to_json(frame: Any) -> dict[str, Any]:
    return dict(json.loads(frame.to_json(orient="split", index=False, date_format="iso")))


def _checked_columns(data: Mapping[Any, Any]) -> Mapping[Any, Any]:
    lengths = {}
    for name, values in data.items():
        if isinstance(values, (str, bytes, Mapping)) or not hasattr(values, "__len__"):
            raise invalid(f"Table column {name!r} must be a list of values, not a {type(values)}")
        lengths[name] = len(values)
    if len(set(lengths.values())) > 1:
        raise invalid(f"Table columns must all have the same length, got {lengths}")
    return data


def _to_list(values: Any) -> list[Any]:
    return values.tolist() if hasattr(values, "tolist") else list(values)


def _json_cell(value: Any) -> Any:
    """A cell as pandas' to_json writes it: numpy scalars unwrapped, NaN and inf as null."""
    if hasattr(value, "item") and callable(value.item):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def merge_tables(existing: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Append ``new``'s rows to ``existing``'s, as MLflow's ``log_table`` does for a name it
    has already logged. Columns are the union (existing order first); missing cells are null.
    """
    _check_table(existing)
    _check_table(new)
    columns = list(existing["columns"])
    known = set(map(_column_key, columns))
    columns += [c for c in new["columns"] if _column_key(c) not in known]
    rows = [_reorder(table, row, columns) for table in (existing, new) for row in table["data"]]
    return {"columns": columns, "data": rows}


def _reorder(table: dict[str, Any], row: list[Any], columns: list[Any]) -> list[Any]:
    cells = dict(zip(map(_column_key, table["columns"]), row, strict=True))
    return [cells.get(_column_key(column)) for column in columns]


def _column_key(column: Any) -> str:
    # pandas writes a MultiIndex label as a list, which cannot key a dict; its JSON can.
    return json.dumps(column, sort_keys=True)


def _check_table(table: Any) -> None:
    if not isinstance(table, Mapping) or not {"columns", "data"} <= table.keys():
        raise invalid('A table artifact must be a JSON object with "columns" and "data"')
    columns, rows = table["columns"], table["data"]
    if not isinstance(columns, list) or not isinstance(rows, list):
        raise invalid('A table artifact\'s "columns" and "data" must be lists')
    try:
        keys = set(map(_column_key, columns))
    except TypeError:
        raise invalid(f"Table column names must be JSON values, got {columns!r}") from None
    if len(keys) != len(columns):
        raise invalid(f"A table artifact has duplicate column names: {columns}")
    for row in rows:
        if not isinstance(row, list) or len(row) != len(columns):
            raise invalid(f"Every table row must be a list of {len(columns)} cells, got {row!r}")


def read_table(data: dict[str, Any]) -> Any:
    """A table artifact's JSON as a pandas DataFrame (what ``load_table`` returns)."""
    _check_table(data)
    pd = _pandas()
    if pd is None:
        raise ImportError("Loading a table needs pandas: pip install 'heron[pandas]'")
    return pd.DataFrame(data["data"], columns=data["columns"])
