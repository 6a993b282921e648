"""A tracking server killed in the middle of a run: nothing acknowledged is lost and nothing
is stored twice. The client spools while the server is away and replays when it is back."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import heron
from servers import free_port, start_server

TRAINING = textwrap.dedent(
    """
    import sys
    import heron
    heron.set_tracking_uri(sys.argv[1])
    with heron.start_run() as run:
        print(run.info.run_id, flush=True)
        step = 0
        for phase in ("before", "away"):
            for _ in range(10000):
                heron.log_metric("loss", float(step), step=step)
                step += 1
            print(phase, flush=True)
            sys.stdin.readline()
        for _ in range(10000):
            heron.log_metric("loss", float(step), step=step)
            step += 1
        heron.log_param("final_step", step)
    """
)


def _start_server(folder: Path, port: int) -> subprocess.Popen[bytes]:
    """The same store and port each time, so the client finds it again after a restart."""
    return start_server(
        folder,
        port,
        "--default-artifact-root",
        str(folder / "artifacts"),
        store_uri=f"sqlite:///{folder / 'store.db'}",
    )


@pytest.mark.slow
def test_a_server_killed_mid_run_loses_nothing_and_stores_nothing_twice(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = _start_server(tmp_path, port)
    env = {
        **os.environ,
        "HERON_HTTP_MAX_RETRIES": "1",
        "HERON_HTTP_BACKOFF_FACTOR": "0.05",
        "HERON_SPOOL_RETRY_SECONDS": "0.2",
    }
    client = subprocess.Popen(
        [sys.executable, "-c", TRAINING, url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert client.stdin is not None and client.stdout is not None
    try:
        run_id = client.stdout.readline().strip()
        assert client.stdout.readline().strip() == "before"
        os.killpg(server.pid, signal.SIGKILL)  # mid-stream: batches are in flight
        server.wait(10)
        client.stdin.write("\n")
        client.stdin.flush()
        assert client.stdout.readline().strip() == "away"
        server = _start_server(tmp_path, port)
        client.stdin.write("\n")
        client.stdin.flush()
        _, stderr = client.communicate(timeout=120)
        assert client.returncode == 0, stderr
        assert "cannot reach" in stderr  # the user was told where the values went

        heron.set_tracking_uri(url)
        run = heron.get_run(run_id)
        assert run.info.status == "FINISHED"
        assert run.data.params == {"final_step": "30000"}
        steps = [m.step for m in heron.MlflowClient().get_metric_history(run_id, "loss")]
        assert len(steps) == 30000, "a value was lost or stored twice"
        assert sorted(steps) == list(range(30000))
    finally:
        client.kill()
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(10)


EXITS_WHILE_AWAY = textwrap.dedent(
    """
    import sys
    import heron
    heron.set_tracking_uri(sys.argv[1])
    run = heron.start_run()
    print(run.info.run_id, flush=True)
    sys.stdin.readline()  # the server is stopped now
    for step in range(5000):
        heron.log_metric("loss", float(step), step=step)
    heron.set_tag("phase", "done")
    """
)


@pytest.mark.slow
def test_values_left_by_a_process_that_exits_while_the_server_is_away_are_synced(
    tmp_path: Path,
) -> None:
    from click.testing import CliRunner

    from heron.cli.main import cli

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = _start_server(tmp_path, port)
    env = {**os.environ, "HERON_HTTP_MAX_RETRIES": "0", "HERON_FLUSH_TIMEOUT": "10"}
    client = subprocess.Popen(
        [sys.executable, "-c", EXITS_WHILE_AWAY, url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert client.stdin is not None and client.stdout is not None
    try:
        run_id = client.stdout.readline().strip()
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(10)
        _, stderr = client.communicate("\n", timeout=120)
        assert client.returncode == 0, stderr
        assert "heron sync" in stderr

        server = _start_server(tmp_path, port)
        result = CliRunner().invoke(cli, ["sync"])
        assert result.exit_code == 0, result.output
        heron.set_tracking_uri(url)
        run = heron.get_run(run_id)
        assert run.info.status == "FINISHED" and run.data.tags["phase"] == "done"
        steps = [m.step for m in heron.MlflowClient().get_metric_history(run_id, "loss")]
        assert sorted(steps) == list(range(5000))
    finally:
        client.kill()
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(10)
