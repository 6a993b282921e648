"""An MLflow user's script gives the results MLflow gives, with ``import heron as mlflow``.

The expected output was recorded by running the same script with mlflow 3.17.2 on its SQLite
store. One deliberate difference: MLflow clamps an infinite metric to the largest double;
Heron keeps infinity (the recorded file says "inf" there).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent / "parity"


@pytest.mark.local_only
def test_mlflow_script_runs_unchanged_with_heron(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, str(HERE / "mlflow_user_script.py"), "heron"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    expected = json.loads((HERE / "expected_from_mlflow_3_17_2.json").read_text())
    assert got == expected
