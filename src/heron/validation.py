"""MLflow's input limits and name rules, checked once at the store's edge."""

from __future__ import annotations

import math
import numbers
import os
import posixpath
import re
from collections.abc import Callable, Sequence

from heron.entities import Metric, Param, RunTag
from heron.exceptions import invalid, not_found

MAX_PARAMS_TAGS_PER_BATCH = 100
MAX_METRICS_PER_BATCH = 1000
MAX_ENTITIES_PER_BATCH = 1000
MAX_DATASETS_PER_BATCH = 1000
MAX_PARAM_VAL_LENGTH = 6000
MAX_TAG_VAL_LENGTH = 8000
MAX_ENTITY_KEY_LENGTH = 250
MAX_EXPERIMENT_NAME_LENGTH = 500
MAX_EXPERIMENT_TAG_KEY_LENGTH = 250
MAX_EXPERIMENT_TAG_VAL_LENGTH = 20000
MAX_RUN_NAME_LENGTH = 250
MAX_ARTIFACT_LOCATION_LENGTH = 2048
MAX_DATASET_NAME_SIZE = 500
MAX_DATASET_DIGEST_SIZE = 36
MAX_DATASET_SCHEMA_SIZE = 1048575
MAX_DATASET_SOURCE_SIZE = 65535
MAX_DATASET_PROFILE_SIZE = 16777215
MAX_INPUT_TAG_KEY_SIZE = 255
MAX_INPUT_TAG_VALUE_SIZE = 500
SEARCH_MAX_RESULTS_DEFAULT = 1000
SEARCH_MAX_RESULTS_THRESHOLD = 50000

_KEY_RE = re.compile(r"^[/\w.\- :]*$")
_RUN_ID_RE = re.compile(r"^[a-zA-Z0-9][\w\-]{0,255}$")
_EXPERIMENT_ID_RE = re.compile(r"^[a-zA-Z0-9][\w\-]{0,63}$")

# Heron's client sends this header with each write it may retry (a uuid4, the same on every
# attempt); the store applies a request id at most once. MLflow's client sends none.
REQUEST_ID_HEADER = "X-Heron-Request-Id"
MAX_REQUEST_ID_LENGTH = 64
_REQUEST_ID_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.:\-]{0,63}$")


# Keys already found valid, by kind: a batch names the same few keys over and over, so the
# regex and path checks run once per key, not once per entity. Bounded, then cleared.
_VALID_KEYS: dict[tuple[str, str], None] = {}
_MAX_VALID_KEYS = 100_000


def validate_key(key: object, kind: str = "key") -> str:
    """A metric, param or tag key: MLflow's character set, and no path tricks."""
    if type(key) is str and (key, kind) in _VALID_KEYS:
        return key
    _check_key(key, kind)
    if type(key) is str:
        if len(_VALID_KEYS) >= _MAX_VALID_KEYS:
            _VALID_KEYS.clear()
        _VALID_KEYS[(key, kind)] = None
    return key  # type: ignore[return-value]


def _check_key(key: object, kind: str) -> str:
    if key is None or not isinstance(key, str):
        raise invalid(f"Invalid {kind} name: {key!r}. A {kind} name must be a string.")
    if key == "" or not _KEY_RE.match(key):
        raise invalid(
            f"Invalid {kind} name: {key!r}. Names may only contain alphanumerics, underscores (_),"
            " dashes (-), periods (.), spaces ( ), colons (:) and slashes (/)."
        )
    if posixpath.normpath(key) != key or key == "." or key.startswith("..") or key.startswith("/"):
        raise invalid(
            f"Invalid {kind} name: {key!r}. Names may be treated as files in certain cases, and"
            " must not resolve to other names when treated as such."
        )
    validate_length(key, MAX_ENTITY_KEY_LENGTH, f"{kind} name")
    return key


def validate_length(value: str, limit: int, what: str) -> str:
    if len(value) > limit:
        raise invalid(
            f"'{what}' exceeds the maximum length of {limit} characters (got {len(value)})"
        )
    return value


def validate_run_id(run_id: object) -> str:
    if not isinstance(run_id, str) or not _RUN_ID_RE.match(run_id):
        raise invalid(f"Invalid run ID: {run_id!r}")
    return run_id


def validate_request_id(request_id: object) -> str | None:
    """None (no idempotency asked for) or up to 64 letters, digits and ``_.:-``."""
    if request_id is None:
        return None
    if not isinstance(request_id, str) or not _REQUEST_ID_RE.fullmatch(request_id):
        shown = repr(request_id)[:80]
        raise invalid(
            f"Invalid {REQUEST_ID_HEADER} {shown}: use up to {MAX_REQUEST_ID_LENGTH} letters, "
            "digits, '_', '.', ':' or '-' (a uuid4 is ideal)."
        )
    return request_id


def validate_experiment_id(experiment_id: object) -> str:
    if isinstance(experiment_id, int) and not isinstance(experiment_id, bool):
        experiment_id = str(experiment_id)
    if not isinstance(experiment_id, str) or not _EXPERIMENT_ID_RE.match(experiment_id):
        raise invalid(f"Invalid experiment ID: {experiment_id!r}")
    return experiment_id


def experiment_key(experiment_id: object) -> int:
    """The database key of a well-formed experiment id; ids that are not numbers cannot exist."""
    text = validate_experiment_id(experiment_id)
    if not text.isdigit() or int(text) >= 2**63:
        raise not_found(f"No Experiment with id={text} exists")
    return int(text)


def validate_experiment_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise invalid(f"Invalid experiment name: {name!r}. Give a non-empty string.")
    return validate_length(name, MAX_EXPERIMENT_NAME_LENGTH, "experiment name")


def validate_metric(metric: Metric) -> Metric:
    validate_key(metric.key, "metric")
    # The common case, checked with exact types (no ABC instance checks): a float value and
    # a nonnegative int timestamp and int step. Anything else takes the full checks below.
    if (
        type(metric.value) is float
        and type(metric.timestamp) is int
        and metric.timestamp >= 0
        and type(metric.step) is int
    ):
        return metric
    if isinstance(metric.value, bool) or not isinstance(metric.value, numbers.Number):
        raise invalid(
            f"Got invalid value {metric.value!r} for metric '{metric.key}' (timestamp="
            f"{metric.timestamp}). Please specify value as a valid double (64-bit floating point)"
        )
    if not _is_int(metric.timestamp) or metric.timestamp < 0:
        raise invalid(
            f"Got invalid timestamp {metric.timestamp!r} for metric '{metric.key}'. Timestamp must"
            " be a nonnegative long (64-bit integer)"
        )
    if not _is_int(metric.step):
        raise invalid(
            f"Got invalid step {metric.step!r} for metric '{metric.key}'. Step must be a valid long"
            " (64-bit integer)."
        )
    return metric


def _is_int(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def validate_param(param: Param) -> Param:
    validate_key(param.key, "param")
    if not isinstance(param.value, str):
        raise invalid(f"Param '{param.key}' must have a string value, got {param.value!r}")
    validate_length(param.value, MAX_PARAM_VAL_LENGTH, f"params[{param.key}].value")
    return param


def validate_tag(tag: RunTag) -> RunTag:
    validate_key(tag.key, "tag")
    if not isinstance(tag.value, str):
        raise invalid(f"Tag '{tag.key}' must have a string value, got {tag.value!r}")
    validate_length(tag.value, MAX_TAG_VAL_LENGTH, f"tags[{tag.key}].value")
    return tag


def validate_experiment_tag(key: object, value: object) -> tuple[str, str]:
    validate_key(key, "tag")
    if not isinstance(value, str):
        raise invalid(f"Experiment tag '{key}' must have a string value, got {value!r}")
    validate_length(key, MAX_EXPERIMENT_TAG_KEY_LENGTH, "experiment tag key")  # type: ignore[arg-type]
    validate_length(value, MAX_EXPERIMENT_TAG_VAL_LENGTH, f"experiment tag '{key}' value")
    return key, value  # type: ignore[return-value]


def validate_batch(
    metrics: Sequence[Metric], params: Sequence[Param], tags: Sequence[RunTag]
) -> None:
    """MLflow's log-batch limits, then every entity, before anything is written."""
    validate_batch_sizes(len(metrics), params, tags)
    for metric in metrics:
        validate_metric(metric)
    validate_params_and_tags(params, tags)


def validate_batch_sizes(
    metric_count: int, params: Sequence[Param], tags: Sequence[RunTag]
) -> None:
    """MLflow's log-batch limits on how many metrics, params and tags come at once."""
    if metric_count > MAX_METRICS_PER_BATCH:
        raise invalid(
            f"A batch logging request can contain at most {MAX_METRICS_PER_BATCH} metrics. "
            f"Got {metric_count} metrics. Please split up metrics across multiple requests and"
            " try again."
        )
    for what, items in (("params", params), ("tags", tags)):
        if len(items) > MAX_PARAMS_TAGS_PER_BATCH:
            raise invalid(
                f"A batch logging request can contain at most {MAX_PARAMS_TAGS_PER_BATCH} {what}. "
                f"Got {len(items)} {what}. Please split up {what} across multiple requests and"
                " try again."
            )
    total = metric_count + len(params) + len(tags)
    if total > MAX_ENTITIES_PER_BATCH:
        raise invalid(
            f"A batch logging request can contain at most {MAX_ENTITIES_PER_BATCH} total metrics,"
            f" params and tags. Got {total}. Please split up entities across multiple requests"
            " and try again."
        )


def validate_params_and_tags(params: Sequence[Param], tags: Sequence[RunTag]) -> None:
    """Every param and tag of a batch (the params' keys must not repeat with new values)."""
    seen: dict[str, str] = {}
    for param in params:
        validate_param(param)
        if param.key in seen and seen[param.key] != param.value:
            raise invalid(
                f"Duplicate parameter keys have been submitted: ['{param.key}']. Please ensure the"
                " request contains only one param value per param key."
            )
        seen[param.key] = param.value
    for tag in tags:
        validate_tag(tag)


def validate_max_results(max_results: object, limit: int = SEARCH_MAX_RESULTS_THRESHOLD) -> int:
    if not _is_int(max_results) or max_results <= 0:  # type: ignore[operator]
        raise invalid(f"Invalid value {max_results!r} for max_results: give a positive integer.")
    if max_results > limit:  # type: ignore[operator]
        raise invalid(
            f"Invalid value {max_results} for parameter 'max_results' supplied. It must be at most"
            f" {limit}."
        )
    return int(max_results)  # type: ignore[call-overload]


def is_finite(value: float) -> bool:
    return not (math.isnan(value) or math.isinf(value))


_TRUNCATE_ENV = ("HERON_TRUNCATE_LONG_VALUES", "MLFLOW_TRUNCATE_LONG_VALUES")


def truncate_long_value(
    key: str, value: str, limit: int, kind: str, warn: Callable[[str], None]
) -> str:
    """As MLflow does by default: a too-long param or tag value is cut, with a warning,
    instead of refused. HERON_TRUNCATE_LONG_VALUES=false makes it an error again."""
    if not isinstance(value, str) or len(value) <= limit or not _truncation_enabled():
        return value
    warn(
        f"The value of {kind} '{key}' is {len(value)} characters long; it was truncated to "
        f"{limit}. Set HERON_TRUNCATE_LONG_VALUES=false to get an error instead."
    )
    return value[:limit]


def _truncation_enabled() -> bool:
    for name in _TRUNCATE_ENV:
        if name in os.environ:
            return os.environ[name].strip().lower() not in ("0", "false", "no", "off")
    return True
