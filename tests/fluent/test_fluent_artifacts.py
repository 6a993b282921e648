"""Artifact calls of the fluent API and client, end to end on the embedded store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import heron
from heron.exceptions import HeronException


def test_log_files_folders_and_objects(tmp_path: Path) -> None:
    source = tmp_path / "src"
    (source / "sub").mkdir(parents=True)
    (source / "a.txt").write_text("alpha")
    (source / "sub" / "b.txt").write_text("beta")
    with heron.start_run() as run:
        heron.log_artifact(source / "a.txt")
        heron.log_artifacts(source, artifact_path="tree")
        heron.log_text("hello", "notes/hello.txt")
        heron.log_dict({"a": 1}, "config.yaml")
        heron.log_dict({"a": 1}, "config.json")
        heron.log_table({"x": [1, 2], "y": ["a", "b"]}, "table.json")
        heron.log_table({"x": [3], "y": ["c"]}, "table.json")
    client = heron.MlflowClient()
    run_id = run.info.run_id
    top = {f.path: f for f in client.list_artifacts(run_id)}
    assert set(top) == {"a.txt", "tree", "notes", "config.yaml", "config.json", "table.json"}
    assert top["tree"].is_dir and top["a.txt"].file_size == 5
    assert [f.path for f in client.list_artifacts(run_id, "tree")] == ["tree/a.txt", "tree/sub"]
    local = heron.artifacts.download_artifacts(run_id=run_id, artifact_path="notes/hello.txt")
    assert Path(local).read_text() == "hello"
    assert heron.artifacts.load_dict(f"runs:/{run_id}/config.yaml") == {"a": 1}
    assert heron.artifacts.load_text(f"runs:/{run_id}/notes/hello.txt") == "hello"
    table = json.loads(Path(client.download_artifacts(run_id, "table.json")).read_text())
    assert table["data"] == [[1, "a"], [2, "b"], [3, "c"]]
    whole = heron.artifacts.download_artifacts(f"runs:/{run_id}/tree", dst_path=str(tmp_path))
    assert (Path(whole) / "sub" / "b.txt").read_text() == "beta"
    pd = pytest.importorskip("pandas")
    frame = heron.load_table("table.json", run_ids=[run_id], extra_columns=["run_id"])
    assert isinstance(frame, pd.DataFrame) and len(frame) == 3


def test_images_and_figures() -> None:
    np = pytest.importorskip("numpy")
    plt = pytest.importorskip("matplotlib.pyplot")
    with heron.start_run() as run:
        heron.log_image(np.zeros((8, 8, 3), dtype=np.uint8), "img.png")
        heron.log_image(np.ones((4, 4)), key="sample", step=3)
        figure, axis = plt.subplots()
        axis.plot([1, 2, 3])
        heron.log_figure(figure, "plot.png")
        plt.close(figure)
    paths = {f.path for f in heron.MlflowClient().list_artifacts(run.info.run_id)}
    assert {"img.png", "plot.png", "images"} <= paths
    series = heron.MlflowClient().list_artifacts(run.info.run_id, "images")
    names = [f.path for f in series]
    assert all(n.startswith("images/sample+step+3+timestamp+") for n in names)
    assert len(names) == 2
    assert sum(n.endswith("+compressed.webp") for n in names) == 1
    assert sum(n.endswith(".png") for n in names) == 1


@pytest.mark.parametrize("bad", ["../escape.txt", "/etc/passwd", "a/../../b.txt"])
def test_paths_that_escape_the_run_are_refused(bad: str, tmp_path: Path) -> None:
    (tmp_path / "f.txt").write_text("x")
    with heron.start_run(), pytest.raises(HeronException) as excinfo:
        heron.log_text("x", bad)
    assert excinfo.value.error_code == "INVALID_PARAMETER_VALUE"
    with heron.start_run(), pytest.raises(HeronException):
        heron.log_artifact(tmp_path / "f.txt", artifact_path=bad)


def test_artifact_uri() -> None:
    with heron.start_run() as run:
        assert heron.get_artifact_uri() == run.info.artifact_uri
        assert heron.get_artifact_uri("model/x") == run.info.artifact_uri + "/model/x"


@pytest.mark.local_only
def test_purge_removes_artifacts(tmp_path: Path) -> None:
    client = heron.HeronClient()
    exp_id = client.create_experiment("purge-me")
    run = client.create_run(exp_id)
    client.log_text(run.info.run_id, "x" * 100, "big.txt")
    artifact_dir = Path(run.info.artifact_uri)
    assert (artifact_dir / "big.txt").exists()
    client.delete_experiment(exp_id)
    report = client.purge_experiment(exp_id)
    counts = {k: report[k] for k in ("experiments", "runs", "artifact_bytes", "errors")}
    assert counts == {"experiments": 1, "runs": 1, "artifact_bytes": 100, "errors": []}
    assert not artifact_dir.exists()


def test_download_by_artifact_uri(tmp_path: Path) -> None:
    with heron.start_run() as run:
        heron.log_text("by uri", "deep/f.txt")
    folder = heron.artifacts.download_artifacts(
        artifact_uri=run.info.artifact_uri, dst_path=str(tmp_path)
    )
    assert (Path(folder) / "deep" / "f.txt").read_text() == "by uri"
    listed = heron.artifacts.list_artifacts(artifact_uri=run.info.artifact_uri)
    assert [f.path for f in listed] == ["deep"]
