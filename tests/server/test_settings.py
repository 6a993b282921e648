"""Server settings: one table, read from the CLI, then HERON_* variables, then defaults."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from heron.cli.main import cli
from heron.exceptions import HeronException
from heron.settings import SETTINGS, Settings


def test_cli_beats_environment_beats_default() -> None:
    env = {"HERON_PORT": "6001", "HERON_WORKERS": "3", "HERON_SERVE_ARTIFACTS": "false"}
    settings = Settings.from_sources({"port": 7000}, env)
    assert (settings.port, settings.workers, settings.serve_artifacts) == (7000, 3, False)
    assert Settings.from_sources({}, {}).port == 5000


def test_every_setting_is_a_cli_option() -> None:
    help_text = CliRunner().invoke(cli, ["server", "--help"], terminal_width=200).output
    for setting in SETTINGS:
        assert setting.env in help_text
    for flag in (
        "--backend-store-uri",
        "--default-artifact-root",
        "--artifacts-destination",
        "--serve-artifacts / --no-serve-artifacts",
        "--host",
        "--port",
        "--workers",
    ):
        assert flag in help_text


def test_bad_environment_value_is_a_clear_error() -> None:
    with pytest.raises(HeronException, match="HERON_PORT must be a whole number"):
        Settings.from_sources({}, {"HERON_PORT": "eighty"})


def test_unauthenticated_server_refuses_non_loopback_addresses() -> None:
    with pytest.raises(HeronException, match="no authentication"):
        Settings.from_sources({"host": "0.0.0.0"}, {})
    opted_out = Settings.from_sources(
        {"host": "0.0.0.0", "allow_unauthenticated_network_access": True}, {}
    )
    assert opted_out.host == "0.0.0.0"
    result = CliRunner().invoke(cli, ["server", "--host", "0.0.0.0"])
    assert result.exit_code == 1
    assert "Refusing to listen on 0.0.0.0" in result.output


def test_heron_ui_serves_the_embedded_store(tmp_path: Path) -> None:
    import heron

    heron.set_tracking_uri(tmp_path / "heronruns")
    heron.create_experiment("shown-by-ui")
    from servers import free_port

    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "heron.cli.main", "ui", "--port", str(port)],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}/api/2.0/mlflow/experiments/get-by-name"
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{url}?experiment_name=shown-by-ui") as answer:
                    assert b'"name":"shown-by-ui"' in answer.read()
                    break
            except OSError:
                assert time.monotonic() < deadline, "heron ui did not start"
                time.sleep(0.1)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
