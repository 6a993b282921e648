"""The README's commands and examples work as written."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text()


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.DOTALL)


def test_ci_runs_the_readme_test_command() -> None:
    assert blocks("bash")[1].strip() == "make test"
    assert "\nmake test\n" in (ROOT / ".ci" / "run").read_text()


def test_quickstart_command_runs(tmp_path: Path) -> None:
    install_and_run = blocks("bash")[0].strip()
    assert install_and_run.startswith("pip install . && ")
    run = install_and_run.removeprefix("pip install . && ").replace(
        "python examples/", f"{sys.executable} {ROOT}/examples/"
    )
    out = subprocess.run(
        run, shell=True, cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False
    )
    assert out.returncode == 0, out.stderr
    assert "first-run" in out.stdout and "FINISHED" in out.stdout
    assert (tmp_path / "heronruns" / "heron.db").exists()


def test_tour_runs(tmp_path: Path) -> None:
    (tour,) = blocks("python")
    out = subprocess.run(
        [sys.executable, "-c", tour],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["['baseline', 'fine-tune']", "10 points of loss"]
