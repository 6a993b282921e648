"""Offline mode writes to the spool only; ``heron sync`` sends it, once."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

import heron
from heron import spool
from heron.cli.main import cli
from heron.exceptions import HeronException

OFFLINE_SCRIPT = textwrap.dedent(
    """
    import sys
    import heron
    heron.set_experiment("offline-exp")
    with heron.start_run(run_name="night-run") as run:
        heron.log_params({"lr": 0.1, "layers": 4})
        for step in range(3000):
            heron.log_metric("loss", 1.0 / (step + 1), step=step)
        heron.set_tag("team", "vision")
        heron.log_text("hello", "notes/a.txt")
        with heron.start_run(run_name="child", nested=True):
            heron.log_metric("acc", 0.5)
    print(run.info.run_id)
    """
)


def _log_offline(folder: Path, tracking_uri: str) -> str:
    env = {
        **__import__("os").environ,
        "HERON_MODE": "offline",
        "HERON_TRACKING_URI": tracking_uri,
    }
    out = subprocess.run(
        [sys.executable, "-c", OFFLINE_SCRIPT],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def _runs(tracking_uri: str) -> list[heron.entities.Run]:  # type: ignore[name-defined]
    heron.set_tracking_uri(tracking_uri)
    return heron.search_runs(experiment_names=["offline-exp"], output_format="list")


def test_offline_runs_reach_the_server_once(live_server: str, tmp_path: Path) -> None:
    offline_id = _log_offline(tmp_path, live_server)
    runner = CliRunner()
    waiting = runner.invoke(cli, ["sync", "--dry-run", "--json"])
    assert waiting.exit_code == 0, waiting.output
    [journal] = json.loads(waiting.output)["journals"]
    assert journal["tracking_uri"] == live_server and journal["pending"] > 0
    assert _runs(live_server) == []  # nothing was sent while offline

    result = runner.invoke(cli, ["sync"])
    assert result.exit_code == 0, result.output
    assert "2 run(s) created, 1 artifact file(s)" in result.output
    runs = {r.info.run_name: r for r in _runs(live_server)}
    parent, child = runs["night-run"], runs["child"]
    assert parent.data.tags["heron.offlineRunId"] == offline_id
    assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id
    assert parent.info.status == child.info.status == "FINISHED"
    assert parent.data.params == {"lr": "0.1", "layers": "4"}
    history = heron.MlflowClient().get_metric_history(parent.info.run_id, "loss")
    assert [m.step for m in history] == list(range(3000))
    assert heron.artifacts.load_text(f"runs:/{parent.info.run_id}/notes/a.txt") == "hello"

    again = runner.invoke(cli, ["sync"])
    assert again.exit_code == 0 and "Nothing to sync" in again.output
    assert len(_runs(live_server)) == 2


def test_an_interrupted_sync_resumes_without_duplicates(live_server: str, tmp_path: Path) -> None:
    _log_offline(tmp_path, live_server)
    [journal] = spool.list_journals()
    records = spool.read_records(journal.path)
    # Pretend a sync sent the first half and crashed before writing any ack.
    from heron.backends import open_backend
    from heron.spool_records import Replayer

    replayer = Replayer(open_backend(live_server, offline=False), journal.path.parent, {})
    for record in records[: len(records) // 2]:
        replayer.apply(record)
    result = CliRunner().invoke(cli, ["sync"])
    assert result.exit_code == 0, result.output
    runs = {r.info.run_name: r for r in _runs(live_server)}
    assert sorted(runs) == ["child", "night-run"]
    history = heron.MlflowClient().get_metric_history(runs["night-run"].info.run_id, "loss")
    assert len(history) == 3000 and len({m.step for m in history}) == 3000


def test_sync_to_an_unreachable_store_keeps_the_spool(tmp_path: Path) -> None:
    from servers import free_port

    uri = f"http://127.0.0.1:{free_port()}"
    _log_offline(tmp_path, uri)
    env = {"HERON_HTTP_MAX_RETRIES": "0"}
    result = CliRunner(env=env).invoke(cli, ["sync"])
    assert result.exit_code == 1
    assert "stay in the spool" in result.output
    assert spool.list_journals()[0].pending > 0


def test_sync_to_another_store_and_reads_refused_offline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _log_offline(tmp_path, "http://127.0.0.1:9")
    target = str(tmp_path / "local-store")
    result = CliRunner().invoke(cli, ["sync", "--to", target])
    assert result.exit_code == 0, result.output
    assert {r.info.run_name for r in _runs(target)} == {"night-run", "child"}

    monkeypatch.setenv("HERON_MODE", "offline")
    heron.set_tracking_uri("http://127.0.0.1:9")
    with pytest.raises(HeronException, match="offline mode"):
        heron.search_runs(output_format="list")
    monkeypatch.setenv("HERON_MODE", "sometimes")
    heron.set_tracking_uri("http://127.0.0.1:10")
    with pytest.raises(HeronException, match="HERON_MODE must be"):
        heron.search_runs(output_format="list")


def test_a_journal_in_use_is_skipped(tmp_path: Path) -> None:
    folder = spool.target_folder("http://127.0.0.1:9")
    journal = spool.Journal(folder)
    journal.append([{"op": "delete_tag", "id": "x1", "run_id": "r", "key": "k"}])
    try:
        result = CliRunner().invoke(cli, ["sync"])
        assert result.exit_code == 0, result.output
        assert "still writing it" in result.output
    finally:
        journal.close()


def test_a_torn_last_line_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    path.write_text('{"op":"delete_tag","id":"a","run_id":"r","key":"k"}\n{"op":"log_ba')
    assert [r["id"] for r in spool.read_records(path)] == ["a"]


def test_a_damaged_journal_is_a_clear_error(tmp_path: Path) -> None:
    folder = spool.target_folder("http://127.0.0.1:9")
    (folder / "20260101T000000-1-aaaaaa.jsonl").write_text(
        'garbage\n{"op":"delete_tag","id":"a","run_id":"r","key":"k"}\n'
    )
    result = CliRunner().invoke(cli, ["sync"])
    assert result.exit_code == 1
    assert "damaged at line 1" in result.output
