"""Runs left open when the program ends are ended, with the status the ending deserves."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import heron

SCRIPT = """
import heron, sys
run = heron.start_run()
print(run.info.run_id, flush=True)
if sys.argv[1] == "crash":
    raise RuntimeError("training blew up")
"""


def _run(tmp_path: Path, mode: str) -> str:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, mode],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    run_id = out.stdout.split()[0]
    heron.set_tracking_uri(tmp_path / "heronruns")
    return heron.get_run(run_id).info.status


@pytest.mark.local_only
def test_open_run_finishes_at_normal_exit(tmp_path: Path) -> None:
    assert _run(tmp_path, "ok") == "FINISHED"


@pytest.mark.local_only
def test_open_run_fails_on_uncaught_exception(tmp_path: Path) -> None:
    assert _run(tmp_path, "crash") == "FAILED"
