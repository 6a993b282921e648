"""MLflow's wire rules over HTTP: one pooled ``httpx.Client``, retries, auth, error answers.

Connection errors, 429 and 5xx answers are retried with exponential backoff and jitter
(honouring ``Retry-After``); 4xx answers never are. A write marked idempotent carries an
``X-Heron-Request-Id`` (the same on each attempt) that the server applies once, so it is
retried after a read timeout too and never stored twice.

Environment: ``HERON_HTTP_TIMEOUT`` (seconds to wait for an answer, default 120),
``HERON_HTTP_MAX_RETRIES`` (default 4, so at most 5 attempts) and
``HERON_HTTP_BACKOFF_FACTOR`` (default 1 s), with MLflow's ``MLFLOW_HTTP_REQUEST_*`` names as
fallbacks. Credentials: ``HERON_TRACKING_TOKEN`` or ``MLFLOW_TRACKING_TOKEN`` (a bearer
token), else ``MLFLOW_TRACKING_USERNAME`` / ``MLFLOW_TRACKING_PASSWORD`` (basic auth).
"""

from __future__ import annotations

import email.utils
import json
import logging
import os
import random
import time
import uuid
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import httpx

from heron.exceptions import (
    INTERNAL_ERROR,
    TEMPORARILY_UNAVAILABLE,
    HeronException,
    invalid,
)
from heron.validation import REQUEST_ID_HEADER
from heron.version import VERSION

log = logging.getLogger(__name__)

API = "/api/2.0/mlflow"
HERON_API = "/api/2.0/heron"
PROXY_SCHEME = "mlflow-artifacts:"
TIMEOUT_ENV = ("HERON_HTTP_TIMEOUT", "MLFLOW_HTTP_REQUEST_TIMEOUT")
MAX_RETRIES_ENV = ("HERON_HTTP_MAX_RETRIES", "MLFLOW_HTTP_REQUEST_MAX_RETRIES")
BACKOFF_ENV = ("HERON_HTTP_BACKOFF_FACTOR", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR")
TOKEN_ENV = ("HERON_TRACKING_TOKEN", "MLFLOW_TRACKING_TOKEN")
USERNAME_ENV = "MLFLOW_TRACKING_USERNAME"
PASSWORD_ENV = "MLFLOW_TRACKING_PASSWORD"
CHUNK_BYTES = 1024 * 1024

# Failures where the request may not have reached the server, or the connection broke:
# worth another attempt. A read timeout is not among them: the server got the request and
# is slow, and asking again only adds load, and may repeat a write; only writes that carry a
# request id (which the server applies once) are retried after one.
_RETRYABLE_ERRORS = (
    httpx.NetworkError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.RemoteProtocolError,
)

# What a status means when the answer is not MLflow's {"error_code", "message"} JSON.
_STATUS_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "ENDPOINT_NOT_FOUND",
    409: "RESOURCE_CONFLICT",
    413: "REQUEST_LIMIT_EXCEEDED",
    429: "RESOURCE_EXHAUSTED",
    501: "NOT_IMPLEMENTED",
    503: TEMPORARILY_UNAVAILABLE,
}

T = TypeVar("T")
Content = bytes | Callable[[], Iterator[bytes]]


@dataclass(frozen=True)
class HttpOptions:
    """Timeouts (seconds) and the retry policy; ``max_retries`` counts attempts after the first."""

    connect_timeout: float = 10.0
    read_timeout: float = 120.0
    max_retries: int = 4
    backoff_factor: float = 1.0
    backoff_max: float = 30.0
    retry_after_max: float = 60.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> HttpOptions:
        env = os.environ if environ is None else environ
        defaults = cls()
        timeout = _env_number(env, TIMEOUT_ENV, float, defaults.read_timeout)
        if timeout <= 0:
            raise invalid(f"{TIMEOUT_ENV[0]} must be a positive number of seconds")
        return cls(
            connect_timeout=min(defaults.connect_timeout, timeout),
            read_timeout=timeout,
            max_retries=int(_env_number(env, MAX_RETRIES_ENV, int, defaults.max_retries)),
            backoff_factor=_env_number(env, BACKOFF_ENV, float, defaults.backoff_factor),
        )

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before attempt ``attempt + 1``: the server's word, else backoff."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.retry_after_max)
        ceiling = min(self.backoff_max, self.backoff_factor * 2 ** (attempt - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)  # "equal jitter"


def _env_number(env: Mapping[str, str], names: Sequence[str], kind: type, default: float) -> Any:
    """The first of ``names`` that is set, as a non-negative ``kind``; else ``default``."""
    for name in names:
        raw = env.get(name, "").strip()
        if not raw:
            continue
        try:
            value = kind(raw)
        except ValueError:
            raise invalid(f"{name}={raw!r} is not a valid {kind.__name__}") from None
        if value < 0:
            raise invalid(f"{name}={raw!r} must not be negative")
        return value
    return default


def credentials_from_env(environ: Mapping[str, str] | None = None) -> httpx.Auth | None:
    """The auth the environment asks for; the values are never logged or shown."""
    env = os.environ if environ is None else environ
    for name in TOKEN_ENV:
        if env.get(name):
            return _BearerAuth(env[name])
    username, password = env.get(USERNAME_ENV), env.get(PASSWORD_ENV)
    if username or password:
        return httpx.BasicAuth(username or "", password or "")
    return None


class _BearerAuth(httpx.Auth):
    def __init__(self, token: str) -> None:
        self._header = f"Bearer {token}"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._header
        yield request

    def __repr__(self) -> str:
        return "_BearerAuth(<hidden>)"


class _RetryableAnswer(Exception):
    def __init__(self, response: httpx.Response) -> None:
        super().__init__(response.status_code)
        self.response = response


class RestClient:
    """MLflow's wire rules over one pooled ``httpx.Client``: retries, auth, error answers."""

    def __init__(
        self,
        base_url: str,
        transport: httpx.BaseTransport | None = None,
        options: HttpOptions | None = None,
    ) -> None:
        self.options = options or HttpOptions.from_env()
        self.display_url = _without_userinfo(base_url)
        self._base_url, self._transport = base_url, transport
        self._pid = os.getpid()
        self._http = self._new_client()

    def _new_client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self._base_url,
            transport=self._transport,
            auth=credentials_from_env(),
            headers={"User-Agent": f"heron/{VERSION}"},
            timeout=httpx.Timeout(self.options.read_timeout, connect=self.options.connect_timeout),
            follow_redirects=True,
        )

    @property
    def _client(self) -> httpx.Client:
        """The pooled client; a forked child opens its own (sharing the parent's sockets
        would mix the two processes' answers)."""
        if self._pid != os.getpid():
            self._pid, self._http = os.getpid(), self._new_client()
        return self._http

    def call(
        self,
        method: str,
        endpoint: str,
        fields: Mapping[str, Any],
        idempotent: bool = False,
        request_id: str | None = None,
    ) -> dict[str, Any]:
        """One MLflow API call: GET fields go in the query string, others in a JSON body.

        An ``idempotent`` write carries a request id, the same on every attempt, so the
        server stores it once however often it is retried (read timeouts included).
        ``request_id`` names that id (a caller that may resend later, as the spool does);
        without it each call gets a fresh one.
        """
        present = {k: v for k, v in fields.items() if v is not None}
        url = f"{API}{endpoint}"
        if method == "GET":
            response = self.send(method, url, params=query_params(present))
        else:
            body = json.dumps(present, separators=(",", ":"), allow_nan=False).encode()
            headers = {"Content-Type": "application/json"}
            if idempotent:
                headers[REQUEST_ID_HEADER] = request_id or str(uuid.uuid4())
            response = self.send(method, url, content=body, headers=headers)
        return json_answer(response)

    def json(self, method: str, url: str, params: Any = None) -> dict[str, Any]:
        """A request outside MLflow's service routes (the artifact proxy), answered in JSON."""
        return json_answer(self.send(method, url, params=params))

    def send(
        self,
        method: str,
        url: str,
        *,
        params: Any = None,
        content: Content | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """The successful answer, read whole; error answers raise HeronException."""

        def once() -> httpx.Response:
            body = content() if callable(content) else content
            request = self._client.build_request(
                method, url, params=params, content=body, headers=headers
            )
            response = self._client.send(request)
            if _retryable(response.status_code):
                raise _RetryableAnswer(response)
            return check(response)

        idempotent = REQUEST_ID_HEADER in (headers or {})
        return self._retrying(method, url, once, idempotent)

    def download(self, url: str, target: Path) -> None:
        """Stream an answer body into ``target``, through a temp file renamed at the end."""
        from heron.artifacts.local import TEMP_PREFIX

        def once() -> None:
            request = self._client.build_request("GET", url)
            response = self._client.send(request, stream=True)
            try:
                if _retryable(response.status_code):
                    response.read()
                    raise _RetryableAnswer(response)
                check(response)
                target.parent.mkdir(parents=True, exist_ok=True)
                tmp = target.parent / f"{TEMP_PREFIX}{os.urandom(8).hex()}"
                try:
                    with open(tmp, "wb") as handle:
                        for chunk in response.iter_bytes(CHUNK_BYTES):
                            handle.write(chunk)
                    os.replace(tmp, target)
                finally:
                    tmp.unlink(missing_ok=True)
            finally:
                response.close()

        self._retrying("GET", url, once)

    def _retrying(
        self, method: str, url: str, once: Callable[[], T], idempotent: bool = False
    ) -> T:
        """``idempotent`` requests are retried after a read timeout too: asking again cannot
        store anything twice."""
        attempts = self.options.max_retries + 1
        for attempt in range(1, attempts + 1):
            try:
                return once()
            except _RetryableAnswer as answer:
                if attempt == attempts:
                    check(answer.response)
                retry_after = _retry_after(answer.response.headers.get("Retry-After"))
                reason = f"HTTP {answer.response.status_code}"
            except httpx.ReadTimeout as exc:
                if not idempotent or attempt == attempts:
                    raise self._timed_out(method, url) from exc
                retry_after, reason = None, type(exc).__name__
            except _RETRYABLE_ERRORS as exc:
                if attempt == attempts:
                    raise HeronException(
                        f"Could not reach the tracking server at {self.display_url} "
                        f"({method} {_path(url)}) after {attempts} attempts: {exc}",
                        TEMPORARILY_UNAVAILABLE,
                    ) from exc
                retry_after, reason = None, type(exc).__name__
            except httpx.TimeoutException as exc:
                raise self._timed_out(method, url) from exc
            except httpx.HTTPError as exc:
                raise invalid(
                    f"Cannot send {method} {_path(url)} to {self.display_url}: {exc}"
                ) from exc
            delay = self.options.delay(attempt, retry_after)
            log.info(
                "%s %s failed (%s); attempt %d of %d in %.2f s",
                method,
                _path(url),
                reason,
                attempt + 1,
                attempts,
                delay,
            )
            time.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def _timed_out(self, method: str, url: str) -> HeronException:
        return HeronException(
            f"The tracking server at {self.display_url} did not answer {method} "
            f"{_path(url)} within {self.options.read_timeout:g} s; set "
            "HERON_HTTP_TIMEOUT to wait longer.",
            TEMPORARILY_UNAVAILABLE,
        )

    def close(self) -> None:
        self._client.close()


def check(response: httpx.Response) -> httpx.Response:
    """The response if it succeeded; else MLflow's error answer as a HeronException."""
    if response.is_success:
        return response
    response.read()
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if isinstance(answer, dict) and isinstance(answer.get("error_code"), str):
        raise HeronException(str(answer.get("message", "")), answer["error_code"])
    status = response.status_code
    text = response.text.strip()[:500] or response.reason_phrase
    raise HeronException(
        f"{response.request.method} {response.request.url.path} failed with HTTP {status}: {text}",
        _STATUS_CODES.get(status, INTERNAL_ERROR if status >= 500 else "BAD_REQUEST"),
    )


def json_answer(response: httpx.Response) -> dict[str, Any]:
    if not response.content.strip():
        return {}
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        raise HeronException(
            f"{response.request.url.path} did not answer with a JSON object; is this a Heron "
            "or MLflow tracking server?",
            INTERNAL_ERROR,
        )
    return answer


def _retryable(status: int) -> bool:
    return status == 429 or (status >= 500 and status != 501)


def _retry_after(value: str | None) -> float | None:
    """Retry-After in seconds, from a number of seconds or an HTTP date."""
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return when.timestamp() - time.time()


def query_params(fields: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Query parameters as MLflow reads them: repeated keys for lists, bools as true/false."""
    pairs: list[tuple[str, str]] = []
    for key, value in fields.items():
        for item in value if isinstance(value, list | tuple) else [value]:
            pairs.append((key, str(item).lower() if isinstance(item, bool) else str(item)))
    return pairs


def _path(url: str) -> str:
    return urlsplit(url).path


def _without_userinfo(url: str) -> str:
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


__all__ = [
    "HttpOptions",
    "RestClient",
    "check",
    "credentials_from_env",
    "json_answer",
    "query_params",
]
