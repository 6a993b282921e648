"""Dataset descriptions for ``log_input``, shaped like ``mlflow.data``'s.

``from_pandas`` and ``from_numpy`` describe data (name, digest, source, schema, profile)
without copying it; ``heron.log_input(dataset, context="training")`` records the link.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from heron.entities import Dataset
from heron.exceptions import invalid

_PANDAS_TYPES = {
    "int64": "long",
    "int32": "integer",
    "float64": "double",
    "float32": "float",
    "bool": "boolean",
    "object": "string",
    "string": "string",
    "str": "string",
}
_DIGEST_ROWS = 10000  # enough rows to tell datasets apart without hashing gigabytes


@dataclass(frozen=True)
class DatasetDescription:
    """What ``from_pandas`` / ``from_numpy`` return; log it with ``heron.log_input``."""

    name: str
    digest: str
    source_type: str
    source: str
    schema: str | None
    profile: str | None

    def _to_mlflow_entity(self) -> Dataset:
        return Dataset(
            self.name, self.digest, self.source_type, self.source, self.schema, self.profile
        )

    to_entity = _to_mlflow_entity


def from_pandas(
    df: Any,
    source: str | None = None,
    targets: str | None = None,
    name: str | None = None,
    digest: str | None = None,
) -> DatasetDescription:
    columns = [
        {"type": _PANDAS_TYPES.get(str(dtype), "string"), "name": str(col), "required": True}
        for col, dtype in df.dtypes.items()
    ]
    sample = df.head(_DIGEST_ROWS)
    content = sample.to_json(orient="split", date_format="iso").encode()
    profile = {"num_rows": len(df), "num_elements": int(df.size)}
    if targets is not None and targets not in df.columns:
        raise invalid(f"The targets column {targets!r} is not in the DataFrame")
    return _describe(name, digest, content, source, {"mlflow_colspec": columns}, profile)


def from_numpy(
    features: Any,
    source: str | None = None,
    targets: Any = None,
    name: str | None = None,
    digest: str | None = None,
) -> DatasetDescription:
    parts = (
        {"features": features} if targets is None else {"features": features, "targets": targets}
    )
    spec: dict[str, str] = {}
    profile: dict[str, Any] = {}
    content = b""
    for part, array in parts.items():
        shape = [-1, *array.shape[1:]]
        spec[part] = json.dumps(
            [{"type": "tensor", "tensor-spec": {"dtype": str(array.dtype), "shape": shape}}]
        )
        profile[f"{part}_shape"] = list(array.shape)
        profile[f"{part}_size"] = int(array.size)
        profile[f"{part}_nbytes"] = int(array.nbytes)
        content += array[:_DIGEST_ROWS].tobytes()
    return _describe(name, digest, content, source, {"mlflow_tensorspec": spec}, profile)


def _describe(
    name: str | None,
    digest: str | None,
    content: bytes,
    source: str | None,
    schema: dict[str, Any],
    profile: dict[str, Any],
) -> DatasetDescription:
    source_type, source_json = _source(source)
    return DatasetDescription(
        name=name or "dataset",
        digest=digest or hashlib.sha256(content).hexdigest()[:8],
        source_type=source_type,
        source=source_json,
        schema=json.dumps(schema),
        profile=json.dumps(profile),
    )


def _source(source: str | None) -> tuple[str, str]:
    """Where the data came from: a URI, or (as MLflow) the code that made it."""
    if source is None:
        from heron import context

        tags = {
            context.USER: context.current_user(),
            context.SOURCE_NAME: context.default_run_tags()[context.SOURCE_NAME],
            context.SOURCE_TYPE: "LOCAL",
        }
        return "code", json.dumps({"tags": tags})
    scheme = source.split("://", 1)[0].lower() if "://" in source else ""
    kind = {"http": "http", "https": "http", "s3": "s3", "gs": "gcs", "hf": "hugging_face"}.get(
        scheme, "local"
    )
    return kind, json.dumps({"uri": source})
