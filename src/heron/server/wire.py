"""MLflow's wire rules: how requests are read and answers written.

GET requests carry their fields in the query string (repeated keys for lists); other methods
carry a JSON object body. Answers are JSON with snake_case fields, int64 as numbers, enums by
name; errors are ``{"error_code", "message"}`` with MLflow's HTTP status.
"""

from __future__ import annotations

import errno
import json
import math
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from heron.exceptions import BAD_REQUEST, INVALID_PARAMETER_VALUE, HeronException, invalid

Handler = Callable[[Request], Awaitable[Response]]
_INT64 = (-(2**63), 2**63 - 1)


class Message:
    """The fields of one request, with typed, validated access."""

    def __init__(
        self, data: dict[str, Any], from_query: bool, request_id: str | None = None
    ) -> None:
        self.data = data
        self.from_query = from_query
        # The client's X-Heron-Request-Id: a write carrying one is applied at most once.
        self.request_id = request_id

    def _raw(self, name: str, required: bool) -> Any:
        value = self.data.get(name)
        if required and (value is None or value == "" or value == []):
            raise invalid(f"Missing value for required parameter '{name}'.")
        if self.from_query and isinstance(value, list) and value:
            return value[-1]
        return value

    def text(self, name: str, required: bool = False, default: str | None = None) -> Any:
        value = self._raw(name, required)
        if value is None:
            return default
        if not isinstance(value, str):
            raise _wrong_type(name, value, "a string")
        return value

    def integer(self, name: str, required: bool = False, default: int | None = None) -> Any:
        value = self._raw(name, required)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            raise _wrong_type(name, value, "an integer")
        if isinstance(value, str):
            try:
                value = int(value)
            except ValueError:
                raise _wrong_type(name, value, "an integer") from None
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or not _INT64[0] <= value <= _INT64[1]:
            raise _wrong_type(name, value, "a 64-bit integer")
        return value

    def double(self, name: str, required: bool = False) -> Any:
        value = self._raw(name, required)
        return None if value is None else parse_double(name, value)

    def flag(self, name: str, default: bool = False) -> bool:
        value = self._raw(name, False)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise _wrong_type(name, value, "true or false")

    def text_list(self, name: str) -> list[str]:
        value = self.data.get(name)
        if value is None:
            return []
        items = value if isinstance(value, list) else [value]
        for item in items:
            if not isinstance(item, str):
                raise _wrong_type(name, value, "a list of strings")
        return list(items)

    def objects(self, name: str) -> list[dict[str, Any]]:
        value = self.data.get(name)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise _wrong_type(name, value, "a list of objects")
        return value

    def enum(self, name: str, names: dict[str, int], default: int) -> int:
        value = self._raw(name, False)
        if value is None:
            return default
        if isinstance(value, str) and value.upper() in names:
            return names[value.upper()]
        if isinstance(value, int) and value in names.values():
            return value
        if isinstance(value, str) and value.isdigit() and int(value) in names.values():
            return int(value)
        raise invalid(f"Invalid value {value!r} for parameter '{name}': use one of {list(names)}")


def parse_double(name: str, value: Any) -> float:
    """A double as MLflow's JSON writes one: a number, or "NaN" / "Infinity" / "-Infinity"."""
    if isinstance(value, bool):
        raise _wrong_type(name, value, "a number")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    raise _wrong_type(name, value, "a number")


def _wrong_type(name: str, value: Any, expected: str) -> HeronException:
    shown = repr(value)
    if len(shown) > 100:
        shown = shown[:100] + "..."
    return invalid(f"Invalid value {shown} for parameter '{name}' supplied: expected {expected}.")


def json_loads(body: bytes | str) -> Any:
    """orjson where it reads JSON as the stdlib does, else ``json.loads``: what orjson
    refuses (NaN literals, other encodings, malformed bodies) is read, or refused with the
    usual error, by the stdlib. One difference remains, so this parser is for routes whose
    fields are strings and 64-bit numbers: orjson reads an integer past 64 bits as a float,
    which such a field refuses all the same (its error shows the float's digits)."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return json.loads(body)


async def read_message(
    request: Request,
    max_bytes: int,
    too_large: Callable[[int], HeronException] | None = None,
    loads: Callable[[bytes | str], Any] = json.loads,
) -> Message:
    """The request's fields; ``loads`` parses a JSON body (a faster one for large bodies)."""
    if request.method == "GET":
        query = request.query_params
        if query:
            return Message({k: query.getlist(k) for k in query}, from_query=True)
    body = await _read_limited(request, max_bytes, too_large or _too_large)
    if not body.strip():
        return Message({}, from_query=False)
    content_type = request.headers.get("content-type", "")
    if request.method in ("POST", "PUT", "PATCH") and "json" not in content_type.lower():
        raise invalid(
            f"Bad Request. Content-Type must be 'application/json', got {content_type!r}."
        )
    try:
        data = loads(body)
        if isinstance(data, str):  # MLflow's clients sometimes double-encode
            data = loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise HeronException(f"Malformed JSON request body: {exc}", BAD_REQUEST) from None
    except RecursionError:
        raise HeronException("The JSON request body is nested too deeply.", BAD_REQUEST) from None
    if not isinstance(data, dict):
        raise HeronException("The JSON request body must be an object.", BAD_REQUEST)
    return Message(data, from_query=False)


async def _read_limited(
    request: Request, max_bytes: int, too_large: Callable[[int], HeronException]
) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise too_large(max_bytes)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise too_large(max_bytes)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(max_bytes: int) -> HeronException:
    return HeronException(
        f"The request body is larger than the server's limit of {max_bytes} bytes.",
        "REQUEST_LIMIT_EXCEEDED",
    )


_BAD_PATH_ERRNOS = {errno.ENAMETOOLONG, errno.ENOTDIR, errno.EISDIR, errno.EINVAL, errno.EEXIST}


def bad_path(exc: OSError) -> HeronException:
    """A path the file system refuses is the caller's error; anything else (a full disk, a
    permission problem) is the server's and is raised again."""
    if exc.errno not in _BAD_PATH_ERRNOS:
        raise exc
    return invalid(f"The artifact path cannot be used: {exc.strerror or exc}")


def json_response(payload: dict[str, Any], status: int = 200) -> Response:
    safe = _json_safe(payload)
    try:
        body = orjson.dumps(safe)
    except TypeError:  # what orjson refuses and json writes (integers past 64 bits)
        body = json.dumps(safe, separators=(",", ":"), allow_nan=False).encode()
    return Response(body, status_code=status, media_type="application/json")


def wire_doubles(values: list[float]) -> list[float | str]:
    """Doubles as JSON can carry them: NaN and infinities spelled as MLflow spells them.

    Fast for the common case, a list of finite numbers, which is returned as it is."""
    if all(-math.inf < v < math.inf for v in values):
        return values  # type: ignore[return-value]
    return [v if -math.inf < v < math.inf else _json_safe(v) for v in values]


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


STATUS = {
    INVALID_PARAMETER_VALUE: 400,
    BAD_REQUEST: 400,
    "RESOURCE_ALREADY_EXISTS": 400,
    "INVALID_STATE": 400,
    "RESOURCE_DOES_NOT_EXIST": 404,
    "NOT_FOUND": 404,
    "ENDPOINT_NOT_FOUND": 404,
    "PERMISSION_DENIED": 403,
    "UNAUTHENTICATED": 401,
    "ALREADY_EXISTS": 409,
    "ABORTED": 409,
    "RESOURCE_CONFLICT": 409,
    "REQUEST_LIMIT_EXCEEDED": 429,
    "RESOURCE_EXHAUSTED": 429,
    "NOT_IMPLEMENTED": 501,
    "TEMPORARILY_UNAVAILABLE": 503,
    "INTERNAL_ERROR": 500,
}


def error_response(exc: HeronException) -> Response:
    status = STATUS.get(exc.error_code, 500)
    if exc.error_code == "REQUEST_LIMIT_EXCEEDED":
        status = 413  # a body too large is not a rate limit; clients must not retry it
    return JSONResponse({"error_code": exc.error_code, "message": exc.message}, status)
