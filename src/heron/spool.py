"""The spool: writes that have not reached their tracking store yet, kept on local disk.

Two things write here. The log queue, when its backend stops answering (a server restart,
a network cut): it appends each batch it could not send, and everything after it for
order's sake, and replays them when the backend answers again. And offline mode
(``HERON_MODE=offline``), which writes nothing else. ``heron sync`` replays what is left.

Layout: ``<spool dir>/<16 hex of the tracking URI's hash>/`` holds ``target.json`` (the URI)
and one journal per writer, ``<UTC time>-<pid>-<random>.jsonl``, one JSON record a line,
each with an ``id``. Replaying sends each record with that id as its request id, so a
record sent twice (a crash between the store's commit and the ack) is stored once. Acks
go to ``<journal>.acks``; a journal whose records are all acked is deleted. A writer holds
an exclusive lock on its journal while it lives, so ``heron sync`` skips journals in use.

Settings: ``HERON_SPOOL_DIR`` (default ``~/.local/share/heron/spool``, or under
``$XDG_DATA_HOME``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from heron.exceptions import invalid

try:  # journals are locked where the platform can (POSIX); elsewhere they are not
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

SPOOL_DIR_ENV = "HERON_SPOOL_DIR"
JOURNAL_SUFFIX = ".jsonl"
ACK_SUFFIX = ".acks"
TARGET_FILE = "target.json"
Record = dict[str, Any]


def spool_root(environ: dict[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    if env.get(SPOOL_DIR_ENV):
        return Path(env[SPOOL_DIR_ENV]).expanduser()
    data_home = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "heron" / "spool"


def target_folder(tracking_uri: str, root: Path | None = None) -> Path:
    """The folder of one tracking URI's journals (created, with its target.json)."""
    digest = hashlib.sha256(tracking_uri.encode()).hexdigest()[:16]
    folder = (root or spool_root()) / digest
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / TARGET_FILE
    if not target.exists():
        _write_atomically(target, json.dumps({"tracking_uri": tracking_uri}))
    return folder


def new_id() -> str:
    return uuid.uuid4().hex


class Journal:
    """One writer's append-only file of records, locked while this object is open."""

    def __init__(self, folder: Path) -> None:
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        self.path = folder / f"{stamp}-{os.getpid()}-{os.urandom(3).hex()}{JOURNAL_SUFFIX}"
        self._handle: IO[str] | None = open(self.path, "a", encoding="utf-8")  # noqa: SIM115
        if fcntl is not None:
            fcntl.flock(self._handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        self.records_written = 0

    def append(self, records: list[Record], durable: bool = True) -> None:
        """Write records as whole lines; ``durable`` waits until they are on disk."""
        if self._handle is None:
            raise ValueError(f"journal {self.path} is closed")
        self._handle.write("".join(_line(r) for r in records))
        self._handle.flush()
        if durable:
            os.fsync(self._handle.fileno())
        self.records_written += len(records)

    def sync(self) -> None:
        if self._handle is not None:
            self._handle.flush()
            os.fsync(self._handle.fileno())

    def close(self) -> None:
        """Unlock; an empty journal (nothing was ever spooled) is removed."""
        if self._handle is None:
            return
        self.sync()
        self._handle.close()
        self._handle = None
        if self.records_written == 0 or not pending_records(self.path):
            remove_journal(self.path)


def _line(record: Record) -> str:
    # The standard library writes NaN and Infinity as JSON tokens and reads them back.
    return json.dumps(record, separators=(",", ":")) + "\n"


def read_records(path: Path) -> list[Record]:
    """Every whole record of a journal; a torn last line (a crash mid-write) is ignored."""
    records: list[Record] = []
    with open(path, encoding="utf-8") as handle:
        lines = handle.read().split("\n")
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            if number >= len(lines) - 1:
                break  # the torn tail of an interrupted write
            raise invalid(
                f"The spool journal {path} is damaged at line {number} (not a record); "
                "move it aside to sync the others."
            ) from None
        if isinstance(record, dict) and "op" in record and "id" in record:
            records.append(record)
    return records


def read_acks(path: Path) -> dict[str, Record]:
    ack_path = path.with_name(path.name + ACK_SUFFIX)
    acks: dict[str, Record] = {}
    if ack_path.exists():
        for line in ack_path.read_text(encoding="utf-8").splitlines():
            with contextlib.suppress(json.JSONDecodeError):
                ack = json.loads(line)
                acks[ack["id"]] = ack
    return acks


def pending_records(path: Path) -> list[Record]:
    acks = read_acks(path)
    return [r for r in read_records(path) if r["id"] not in acks]


def remove_journal(path: Path) -> None:
    path.unlink(missing_ok=True)
    path.with_name(path.name + ACK_SUFFIX).unlink(missing_ok=True)


@contextlib.contextmanager
def claimed(path: Path) -> Iterator[bool]:
    """Lock a journal for replay; yields False when its writer still holds it."""
    with open(path, "a", encoding="utf-8") as handle:
        if fcntl is not None:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
        yield True


@dataclass
class JournalInfo:
    path: Path
    tracking_uri: str
    pending: int
    in_use: bool


def list_journals(root: Path | None = None) -> list[JournalInfo]:
    """Every journal with records left, oldest first."""
    found: list[JournalInfo] = []
    base = root or spool_root()
    if not base.exists():
        return found
    for folder in sorted(p for p in base.iterdir() if p.is_dir()):
        target = folder / TARGET_FILE
        if not target.exists():
            continue
        uri = json.loads(target.read_text(encoding="utf-8"))["tracking_uri"]
        for path in sorted(folder.glob(f"*{JOURNAL_SUFFIX}")):
            with claimed(path) as free:
                pending = len(pending_records(path))
            if pending == 0 and free:
                remove_journal(path)
                continue
            found.append(JournalInfo(path, uri, pending, in_use=not free))
    return found


@dataclass
class ReplayReport:
    sent: int = 0
    failed: list[str] = field(default_factory=list)
    runs_created: int = 0
    artifact_files: int = 0
    unreachable: str | None = None

    @property
    def complete(self) -> bool:
        return self.unreachable is None


class _Acks:
    def __init__(self, journal: Path) -> None:
        self.path = journal.with_name(journal.name + ACK_SUFFIX)
        self.handle = open(self.path, "a", encoding="utf-8")  # noqa: SIM115

    def add(self, record_id: str, **extra: Any) -> None:
        self.handle.write(_line({"id": record_id, **extra}))
        self.handle.flush()

    def close(self) -> None:
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self.handle.close()


def replay(
    path: Path,
    backend: Any,
    progress: Callable[[int], None] | None = None,
    is_unreachable: Callable[[BaseException], bool] | None = None,
    remove_when_done: bool = True,
) -> ReplayReport:
    """Send a journal's unacked records in order; stop at the first unreachable answer.

    Records the store refuses (a run deleted meanwhile) are acked with the reason in
    ``failed``: sending them again would fail the same way. The writer replaying its own
    journal passes ``remove_when_done=False``: it still appends to the file.
    """
    from heron.spool_records import Replayer

    report = ReplayReport()
    acks = read_acks(path)
    replayer = Replayer(backend, path.parent, acks)
    ack_file = _Acks(path)
    try:
        for record in read_records(path):
            if record["id"] in acks:
                continue
            try:
                extra = replayer.apply(record)
            except Exception as exc:
                if is_unreachable is not None and is_unreachable(exc):
                    report.unreachable = str(exc)
                    break
                report.failed.append(f"{record['op']} ({record['id']}): {exc}")
                extra = {}
            ack_file.add(record["id"], **extra)
            report.sent += 1
            if progress is not None:
                progress(1)
        if report.complete:
            report.artifact_files = replayer.upload_artifacts()
    finally:
        ack_file.close()
    report.runs_created = replayer.runs_created
    if remove_when_done and report.complete and not pending_records(path):
        remove_journal(path)
    return report


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.urandom(4).hex()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


__all__ = [
    "Journal",
    "JournalInfo",
    "ReplayReport",
    "list_journals",
    "pending_records",
    "replay",
    "spool_root",
    "target_folder",
]
