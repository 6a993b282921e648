"""Processes, servers, databases and timing for the benchmark.

Every measurement runs a driver script (bench/drivers/) in a fresh interpreter and reads one
JSON object back from its last line of output. Servers run in their own process group and
are always stopped, whatever happens.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

DRIVERS = Path(__file__).parent / "drivers"


class DriverError(RuntimeError):
    """A driver exited non-zero; the message ends with the tail of its stderr."""


class FeatureMissing(RuntimeError):
    """The driver found the feature it measures absent (AttributeError, 404, ...)."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_driver(
    python: str,
    name: str,
    args: dict[str, Any],
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 900,
) -> dict[str, Any]:
    """Run ``bench/drivers/<name>.py`` with ``args`` (JSON) and return its JSON answer."""
    proc = subprocess.run(
        [python, str(DRIVERS / f"{name}.py"), json.dumps(args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        timeout=timeout,
    )
    return parse_answer(name, proc.returncode, proc.stdout, proc.stderr)


def parse_answer(name: str, returncode: int, stdout: str, stderr: str) -> dict[str, Any]:
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    if returncode != 0 or not lines:
        tail = "\n".join(stderr.strip().splitlines()[-8:])
        raise DriverError(f"driver {name} exited {returncode}: {tail}")
    answer: dict[str, Any] = json.loads(lines[-1])
    if "missing" in answer:
        raise FeatureMissing(answer["missing"])
    return answer


def start_driver(python: str, name: str, args: dict[str, Any], **kwargs: Any) -> subprocess.Popen:
    """A driver started in the background (its own process group), for concurrent runs."""
    return subprocess.Popen(
        [python, str(DRIVERS / f"{name}.py"), json.dumps(args)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        **kwargs,
    )


def stop_group(proc: subprocess.Popen, grace: float = 10.0) -> None:
    """SIGTERM the process group of ``proc``, then SIGKILL what is left after ``grace``."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(grace)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(5)


# ---- servers -------------------------------------------------------------------------------


def server_command(project: str, python: str, db_uri: str, artifacts: Path, port: int) -> list[str]:
    common = ["--backend-store-uri", db_uri, "--default-artifact-root", str(artifacts)]
    common += ["--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    if project == "heron":
        return [python, "-c", "from heron.cli.main import cli; cli()", "server", *common]
    return [python, "-m", "mlflow", "server", *common]


@dataclass
class Server:
    project: str
    url: str
    proc: subprocess.Popen

    started_s: float = 0.0  # until /health answered
    settled_s: float = 0.0  # until its process tree went quiet after that

    def rss_mb(self) -> float:
        return tree_rss_mb(self.proc.pid)


@contextlib.contextmanager
def server(
    project: str, python: str, db_uri: str, folder: Path, timeout: float = 120
) -> Iterator[Server]:
    """A server on a free loopback port, ready (``/health`` answers 200), stopped on exit."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = (folder / f"{project}-server.log").open("w")
    command = server_command(project, python, db_uri, folder / "artifacts", port)
    proc = subprocess.Popen(
        command, stdout=log, stderr=subprocess.STDOUT, cwd=folder, start_new_session=True
    )
    try:
        url = f"http://127.0.0.1:{port}"
        start = time.perf_counter()
        wait_healthy(url, proc, timeout, folder / f"{project}-server.log")
        healthy = time.perf_counter() - start
        # MLflow keeps starting helper processes (its job runner) after /health answers:
        # measuring while they load would charge their start-up to the first requests.
        wait_quiet(proc.pid)
        yield Server(project, url, proc, healthy, time.perf_counter() - start - healthy)
    finally:
        stop_group(proc)
        log.close()


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = "\n".join(log.read_text().splitlines()[-8:])
            raise DriverError(f"server exited {proc.returncode}: {tail}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise DriverError(f"server at {url} not healthy after {timeout:.0f} s")


def process_tree(root: int) -> dict[int, list[str]]:
    """``root`` and all its descendants: pid -> the fields of /proc/<pid>/stat after comm."""
    stats: dict[int, list[str]] = {}
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                stats[int(entry.name)] = fields
                children.setdefault(int(fields[1]), []).append(int(entry.name))
    tree, todo = {}, [root]
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, []))
        if pid in stats:
            tree[pid] = stats[pid]
    return tree


def tree_rss_mb(root: int) -> float:
    """Resident memory of ``root`` and all its descendants, from /proc, in MB."""
    total_kb = 0
    for pid in process_tree(root):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kb += int(line.split()[1])
    return total_kb / 1024


def tree_cpu_seconds(root: int) -> float:
    ticks = sum(int(f[11]) + int(f[12]) for f in process_tree(root).values())
    return ticks / os.sysconf("SC_CLK_TCK")


def wait_quiet(root: int, timeout: float = 60.0, window: float = 1.0) -> None:
    """Wait until a process tree uses under 5% of a core over ``window`` seconds."""
    deadline = time.monotonic() + timeout
    before = tree_cpu_seconds(root)
    while time.monotonic() < deadline:
        time.sleep(window)
        now = tree_cpu_seconds(root)
        if now - before < 0.05 * window:
            return
        before = now


# ---- databases -----------------------------------------------------------------------------

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"


def postgres_url() -> str | None:
    """The PostgreSQL admin URL to use, or None when no server answers there."""
    url = (
        os.environ.get("HERON_BENCH_POSTGRES_URL")
        or os.environ.get("HERON_TEST_POSTGRES_URL")
        or DEFAULT_POSTGRES
    )
    try:
        import psycopg

        with psycopg.connect(url, connect_timeout=3):
            return url
    except Exception:
        return None


def fresh_database(admin_url: str, name: str) -> str:
    """Drop and recreate database ``name``; return its plain ``postgresql://`` URL."""
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = admin_url.rpartition("/")
    return f"{base}/{name}"


def drop_database(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def sqlalchemy_url(project: str, url: str) -> str:
    """The URL a project's store takes: MLflow needs the driver named for psycopg 3."""
    if project == "mlflow" and url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def count_rows(url: str, table: str) -> int:
    """``SELECT count(*)`` from a table of a SQLite file URL or a PostgreSQL URL."""
    if url.startswith("sqlite:///"):
        import sqlite3

        conn = sqlite3.connect(url[len("sqlite:///") :], timeout=60)
        try:
            return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
        finally:
            conn.close()
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
        return int(row[0]) if row else 0


def timed(fn: Any, *args: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    value = fn(*args)
    return value, time.perf_counter() - start
