"""Starting real servers for tests; importable by any test module as ``servers``.

(Conftest files outside packages all load as the module "conftest", so helpers that tests
import by name live here instead.)
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def new_run(api: Any) -> str:
    """Create a run in the Default experiment through an in-process API client."""
    answer = api.post("/api/2.0/mlflow/runs/create", json={"experiment_id": "0"})
    run_id: str = answer.json()["run"]["info"]["run_id"]
    return run_id


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(
    folder: Path, port: int, *extra: str, store_uri: str | None = None
) -> subprocess.Popen[bytes]:
    """Start ``heron server`` on ``port`` in a session of its own and wait until /health
    answers. Its store is ``folder/store`` unless ``store_uri`` names another (a database
    URL); its log, uvicorn's access log included, is appended to ``folder/server.log``."""
    import sys
    import time
    import urllib.request

    with open(folder / "server.log", "ab") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "heron.cli.main",
                "server",
                "--port",
                str(port),
                "--backend-store-uri",
                store_uri or str(folder / "store"),
                *extra,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as answer:
                if answer.status == 200:
                    return proc
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                stop_server(proc)
                raise RuntimeError((folder / "server.log").read_text()) from None
            time.sleep(0.1)


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


@contextlib.contextmanager
def running_server(folder: Path, *extra: str, store_uri: str | None = None) -> Iterator[str]:
    """A real ``heron server`` subprocess on loopback; yields its URL, stops it afterwards."""
    port = free_port()
    proc = start_server(folder, port, *extra, store_uri=store_uri)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_server(proc)
