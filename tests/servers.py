"""Starting real servers for tests; importable by any test module as ``servers``.

(Conftest files outside packages all load as the module "conftest", so helpers that tests
import by name live here instead.)
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def running_server(folder: Path, *extra: str, store_uri: str | None = None) -> Iterator[str]:
    """A real ``heron server`` subprocess on loopback; yields its URL, stops it afterwards.

    Its store is ``folder/store`` unless ``store_uri`` names another (a database URL); its
    log, uvicorn's access log included, is ``folder/server.log``.
    """
    import subprocess
    import sys
    import time
    import urllib.request

    port = free_port()
    log = open(folder / "server.log", "wb")  # noqa: SIM115 - closed below
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
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=1) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((folder / "server.log").read_text()) from None
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
