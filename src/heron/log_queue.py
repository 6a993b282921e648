"""Non-blocking logging: a bounded queue per backend, drained by one background thread.

``log_metric``, ``log_param`` and ``set_tag`` put an operation here and return. The thread
takes whatever has gathered, coalesces it per run into batches (in call order, so a run's
values are stored in the order they were logged) and sends each batch with a request id,
so a batch is stored once however often it is sent.

- **Back-pressure.** At most ``HERON_LOG_QUEUE_SIZE`` operations wait (default 100,000);
  a caller beyond that waits for room, so a burst cannot grow memory without bound.
- **Errors the caller must see** (a param changed, a deleted run) are kept and raised by
  the next logging call, ``flush()`` or ``end_run``. A refused batch is re-sent in halves
  until the refused call is found, so the other calls in it are still stored.
- **An unreachable backend** (after the HTTP client's own retries): the batch goes to the
  spool (``heron.spool``), and so does everything after it, in order. The thread replays
  the spool every ``HERON_SPOOL_RETRY_SECONDS`` (default 5) until the backend answers.
- **Draining.** ``end_run``, ``heron.flush()`` and interpreter exit wait for the queue,
  at most ``HERON_FLUSH_TIMEOUT`` seconds (default 60) at exit; what is still unsent then
  is written to the spool and the message says where and how to send it (``heron sync``).
"""

from __future__ import annotations

import atexit
import collections
import logging
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from heron import backends, spool
from heron.batches import send_batch
from heron.entities import Metric, Param, RunTag
from heron.exceptions import TEMPORARILY_UNAVAILABLE, HeronException
from heron.spool_records import log_batch_record, update_run_record
from heron.validation import MAX_PARAMS_TAGS_PER_BATCH

log = logging.getLogger("heron")

ASYNC_ENV = ("HERON_ASYNC_LOGGING", "MLFLOW_ENABLE_ASYNC_LOGGING")
QUEUE_SIZE_ENV = "HERON_LOG_QUEUE_SIZE"
FLUSH_TIMEOUT_ENV = "HERON_FLUSH_TIMEOUT"
RETRY_ENV = "HERON_SPOOL_RETRY_SECONDS"
MAX_TAKE = 100_000  # operations coalesced per round
MAX_REPORTED_ERRORS = 100

_async_override: bool | None = None
setting_generation = 0  # bumped by enable_async_logging, so clients re-read the setting


def async_enabled() -> bool:
    """Whether logging calls return before their values are stored (the default)."""
    if _async_override is not None:
        return _async_override
    for name in ASYNC_ENV:
        value = os.environ.get(name)
        if value:
            return value.strip().lower() not in ("0", "false", "no", "off")
    return True


def enable_async_logging(enable: bool = True) -> None:
    """Turn non-blocking logging on or off for this process (overrides the environment)."""
    global _async_override, setting_generation
    _async_override = bool(enable)
    setting_generation += 1


def _env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name) or default)
    except ValueError:
        return default


def flush_timeout() -> float:
    return _env_float(FLUSH_TIMEOUT_ENV, 60.0)


class Batch(NamedTuple):
    run_id: str
    metrics: Sequence[Metric]
    params: Sequence[Param]
    tags: Sequence[RunTag]


class Update(NamedTuple):
    run_id: str
    status: str | None
    end_time: int | None


Op = Batch | Update


def is_unreachable(exc: BaseException) -> bool:
    """The store did not answer (as opposed to refusing): worth keeping and sending later."""
    if isinstance(exc, HeronException):
        return exc.error_code == TEMPORARILY_UNAVAILABLE
    return isinstance(exc, ConnectionError | TimeoutError) or (
        type(exc).__name__ == "OperationalError"  # SQLAlchemy: the database went away
    )


@dataclass
class _Send:
    """What one round sends for one run: one batch (possibly many requests) or one update."""

    run_id: str
    ops: list[Op] = field(default_factory=list)
    metrics: list[Metric] = field(default_factory=list)
    params: dict[str, Param] = field(default_factory=dict)
    tags: dict[str, RunTag] = field(default_factory=dict)
    update: Update | None = None
    request_id: str = field(default_factory=spool.new_id)
    parts_done: int = 0

    def accepts(self, op: Batch) -> bool:
        if self.update is not None:
            return False
        if len(self.params) + len(op.params) > MAX_PARAMS_TAGS_PER_BATCH:
            return False
        if len(self.tags) + len(op.tags) > MAX_PARAMS_TAGS_PER_BATCH:
            return False
        # A second value for a param must fail as its own call, not hide in a batch.
        return all(self.params.get(p.key, p).value == p.value for p in op.params)

    def add(self, op: Batch) -> None:
        self.ops.append(op)
        self.metrics.extend(op.metrics)
        for p in op.params:
            self.params[p.key] = p
        for t in op.tags:
            self.tags.pop(t.key, None)  # the last value wins, as if set one after another
            self.tags[t.key] = t

    def deliver(self, backend: Any) -> None:
        if self.update is not None:
            backend.update_run_info(
                self.run_id, status=self.update.status, end_time=self.update.end_time
            )
            return
        send_batch(
            backend,
            self.run_id,
            self.metrics,
            list(self.params.values()),
            list(self.tags.values()),
            request_id=self.request_id,
            done=self._part_done,
        )

    def _part_done(self) -> None:
        self.parts_done += 1

    def records(self) -> list[spool.Record]:
        if self.update is not None:
            u = self.update
            return [update_run_record(self.request_id, u.run_id, u.status, u.end_time)]
        return [
            log_batch_record(
                self.request_id,
                self.run_id,
                self.metrics,
                list(self.params.values()),
                list(self.tags.values()),
            )
        ]


def coalesce(ops: Sequence[Op]) -> list[_Send]:
    """Group operations per run into as few sends as the limits allow, keeping order."""
    sends: list[_Send] = []
    open_sends: dict[str, _Send] = {}
    for op in ops:
        if isinstance(op, Update):
            open_sends.pop(op.run_id, None)  # what came before it goes first
            sends.append(_Send(op.run_id, ops=[op], update=op))
            continue
        send = open_sends.get(op.run_id)
        if send is None or not send.accepts(op):
            send = open_sends[op.run_id] = _Send(op.run_id)
            sends.append(send)
        send.add(op)
    return sends


class LogQueue:
    """The queue and sending thread of one backend in this process."""

    def __init__(self, backend: Any, capacity: int | None = None) -> None:
        self.backend = backend
        self.capacity = capacity or int(_env_float(QUEUE_SIZE_ENV, 100_000))
        self.retry_seconds = _env_float(RETRY_ENV, 5.0)
        self._cond = threading.Condition()
        self._ops: collections.deque[Op] = collections.deque()
        self._pending = 0  # queued plus being sent
        self._round: collections.deque[_Send] = collections.deque()
        self._current: _Send | None = None
        self._errors: list[HeronException] = []
        self._dropped_errors = 0
        self._closed = False
        self._spool_lock = threading.RLock()
        # Held while the backend is in use, so a fork never copies a half-done write
        # (SQLite's in-process lock table would leave the child waiting on itself).
        self.sending = threading.Lock()
        self._journal: spool.Journal | None = None
        self._spooled = False  # records in the journal not yet acknowledged
        self._next_replay = 0.0
        self._thread = threading.Thread(target=self._work, name="heron-log-queue", daemon=True)
        self._thread.start()

    # ---- the caller's side --------------------------------------------------------------

    def put(self, op: Op, raise_errors: bool = True) -> None:
        """Queue ``op``, waiting while the queue is full; first raise what failed before."""
        if self._errors and raise_errors:
            self.raise_errors()
        with self._cond:
            if self._closed:
                raise HeronException("Heron's log queue is closed (the process is exiting)")
            while len(self._ops) >= self.capacity:
                self._cond.wait()
            self._ops.append(op)
            self._pending += 1
            self._cond.notify_all()

    @property
    def pending(self) -> int:
        return self._pending

    def flush(self, timeout: float | None = None, raise_errors: bool = True) -> bool:
        """Wait until everything queued is stored (or spooled); True when nothing is left.

        Then raise the first error a background send met, if any.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._pending:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    break
                self._cond.wait(remaining)
            drained = self._pending == 0
        if drained and self._spooled:
            with self.sending:
                self._replay()
            if self._spooled:
                log.warning(
                    "Heron could not reach %s; %d logged batch(es) are kept in %s and are "
                    "sent when it answers again, or by `heron sync`.",
                    getattr(self.backend, "tracking_uri", "the tracking store"),
                    self._journal.records_written if self._journal else 0,
                    self._journal.path if self._journal else "the spool",
                )
        if raise_errors:
            self.raise_errors()
        return drained and not self._spooled

    def raise_errors(self) -> None:
        with self._cond:
            errors, self._errors = self._errors, []
            dropped, self._dropped_errors = self._dropped_errors, 0
        if not errors:
            return
        first = errors[0]
        more = len(errors) - 1 + dropped
        suffix = f" ({more} more background logging call(s) failed too)" if more else ""
        raise HeronException(first.message + suffix, first.error_code)

    def close(self, timeout: float | None = None) -> list[str]:
        """Drain for at most ``timeout`` s; spool what is left. Answers messages for the user."""
        messages: list[str] = []
        drained = self.flush(timeout, raise_errors=False)
        with self._cond:
            self._closed = True
            leftover = [s for s in [self._current, *self._round] if s is not None]
            leftover += coalesce(list(self._ops))
            self._ops.clear()
            self._cond.notify_all()
        if not drained and leftover:
            self._spool(leftover)
        with self._spool_lock:
            if self._spooled and self._journal is not None:
                messages.append(
                    f"Heron: {len(spool.pending_records(self._journal.path))} logged batch(es) "
                    f"could not be sent to {getattr(self.backend, 'tracking_uri', '?')}; they "
                    f"are kept in {self._journal.path}. Run `heron sync` to send them."
                )
            if self._journal is not None:
                self._journal.close()
                self._journal = None
        for error in self._errors:
            messages.append(f"Heron: a background logging call failed: {error.message}")
        return messages

    # ---- the thread's side --------------------------------------------------------------

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._ops and not self._closed:
                    self._cond.wait(self._idle_wait())
                    if self._spooled and not self._ops:
                        break
                if self._closed:
                    return
                taken = [self._ops.popleft() for _ in range(min(len(self._ops), MAX_TAKE))]
                self._round = collections.deque(coalesce(taken))
                self._cond.notify_all()  # room for callers waiting on a full queue
            if self._spooled and time.monotonic() >= self._next_replay:
                with self.sending:
                    self._replay()
            self._send_round()
            with self._cond:
                self._pending -= len(taken)
                self._cond.notify_all()

    def _idle_wait(self) -> float | None:
        return self.retry_seconds if self._spooled else None

    def _send_round(self) -> None:
        while True:
            with self._cond:
                if self._closed or not self._round:
                    self._current = None
                    return
                self._current = self._round.popleft()
            with self.sending:
                self._deliver(self._current)

    def _deliver(self, send: _Send) -> None:
        if self._spooled:
            self._spool([send])
            return
        try:
            send.deliver(self.backend)
        except Exception as exc:
            if is_unreachable(exc):
                self._spool([send])
            elif len(send.ops) > 1 and send.parts_done == 0:
                half = len(send.ops) // 2
                for part in (send.ops[:half], send.ops[half:]):
                    for piece in coalesce(part):
                        self._deliver(piece)
            else:
                self._fail(send, exc)

    def _fail(self, send: _Send, exc: Exception) -> None:
        what = _describe(send.ops[0])
        if isinstance(exc, HeronException):
            error = HeronException(f"{what} failed: {exc.message}", exc.error_code)
        else:
            error = HeronException(f"{what} failed: {type(exc).__name__}: {exc}")
        log.debug("background logging call failed", exc_info=exc)
        with self._cond:
            if len(self._errors) < MAX_REPORTED_ERRORS:
                self._errors.append(error)
            else:
                self._dropped_errors += 1

    # ---- the spool -----------------------------------------------------------------------

    def _spool(self, sends: Sequence[_Send]) -> None:
        records = [r for s in sends for r in s.records()]
        with self._spool_lock:
            if self._journal is None:
                uri = getattr(self.backend, "tracking_uri", "unknown")
                self._journal = spool.Journal(spool.target_folder(uri))
                log.warning(
                    "Heron cannot reach %s; logging goes to %s until it answers again.",
                    uri,
                    self._journal.path,
                )
            self._journal.append(records)
            if not self._spooled:
                self._next_replay = time.monotonic() + self.retry_seconds
            self._spooled = True

    def _replay(self) -> None:
        with self._spool_lock:
            if not self._spooled or self._journal is None:
                return
            self._journal.sync()
            report = spool.replay(
                self._journal.path,
                self.backend,
                is_unreachable=is_unreachable,
                remove_when_done=False,
            )
            if report.complete:
                self._spooled = False
                log.warning(
                    "Heron reached %s again; %d spooled batch(es) sent.",
                    getattr(self.backend, "tracking_uri", "the tracking store"),
                    report.sent,
                )
            else:
                self._next_replay = time.monotonic() + self.retry_seconds
        for failure in report.failed:
            with self._cond:
                self._errors.append(HeronException(f"A spooled write was refused: {failure}"))


def _describe(op: Op) -> str:
    if isinstance(op, Update):
        return f"Ending run {op.run_id} ({op.status})"
    if op.params:
        p = op.params[0]
        return f"log_param({p.key!r}, {p.value!r}) for run {op.run_id}"
    if op.tags:
        t = op.tags[0]
        return f"set_tag({t.key!r}, {t.value!r}) for run {op.run_id}"
    m = op.metrics[0] if op.metrics else None
    what = f"log_metric({m.key!r}, {m.value!r}, step={m.step})" if m else "logging"
    return f"{what} for run {op.run_id}"


# ---- one queue per backend per process ---------------------------------------------------

_lock = threading.Lock()
_queues: dict[int, LogQueue] = {}
_exit_hook_installed = False


def queue_for(backend: Any) -> LogQueue:
    queue = _queues.get(id(backend))
    if queue is not None and queue.backend is backend:
        return queue
    with _lock:
        queue = _queues.get(id(backend))
        if queue is None or queue.backend is not backend:
            queue = _queues[id(backend)] = LogQueue(backend)
        install_exit_hook()
        return queue


def existing_queue(backend: Any) -> LogQueue | None:
    queue = _queues.get(id(backend))
    return queue if queue is not None and queue.backend is backend else None


def flush_all(timeout: float | None = None) -> None:
    """Wait until every queue of this process is drained; raise the first error met."""
    for queue in list(_queues.values()):
        queue.flush(timeout)


def close_all(timeout: float | None = None) -> list[str]:
    with _lock:
        queues = list(_queues.values())
        _queues.clear()
    return [m for q in queues for m in q.close(timeout)]


def install_exit_hook() -> None:
    """Drain every queue at interpreter exit (registered once; callers that must run
    before it, such as ending active runs, register after it)."""
    global _exit_hook_installed
    if not _exit_hook_installed:
        _exit_hook_installed = True
        atexit.register(_drain_at_exit)


def _drain_at_exit() -> None:
    import sys

    for message in close_all(flush_timeout()):
        print(message, file=sys.stderr)


FORK_WAIT_SECONDS = 30.0
_held_for_fork: list[threading.Lock] = []


def _before_fork() -> None:
    """Let each queue finish the write in progress and start none until the fork is done."""
    for queue in list(_queues.values()):
        if queue.sending.acquire(timeout=FORK_WAIT_SECONDS):
            _held_for_fork.append(queue.sending)


def _after_fork_in_parent() -> None:
    while _held_for_fork:
        _held_for_fork.pop().release()


def _after_fork_in_child() -> None:
    # The child inherits the parent's queued values; they are the parent's to send.
    _held_for_fork.clear()
    _queues.clear()


backends.on_close_all(close_all)

if hasattr(os, "register_at_fork"):
    os.register_at_fork(
        before=_before_fork,
        after_in_parent=_after_fork_in_parent,
        after_in_child=_after_fork_in_child,
    )


class RunOperations:
    """What a logging call with ``synchronous=False`` answers: ``wait()`` blocks until it
    (and everything queued before it) is stored, as MLflow's RunOperations does."""

    def __init__(self, queue: LogQueue | None) -> None:
        self._queue = queue

    def wait(self) -> None:
        if self._queue is not None:
            self._queue.flush()


__all__ = [
    "LogQueue",
    "RunOperations",
    "async_enabled",
    "close_all",
    "enable_async_logging",
    "flush_all",
    "queue_for",
]
