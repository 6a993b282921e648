import os
import threading
from pathlib import Path

import pytest

from heron.artifacts import LocalArtifactRepository
from heron.artifacts.local import TEMP_PREFIX
from heron.entities import FileInfo
from heron.exceptions import INVALID_PARAMETER_VALUE, RESOURCE_DOES_NOT_EXIST, HeronException


def test_root_is_created_lazily_on_first_write(repo: LocalArtifactRepository) -> None:
    assert not repo.root.exists()
    assert repo.list_artifacts() == []
    assert repo.total_size() == 0
    assert not repo.exists("")
    repo.log_bytes(b"x", "f.txt")
    assert repo.root.is_dir()


def test_log_artifact_round_trip(repo: LocalArtifactRepository, tree: Path) -> None:
    repo.log_artifact(tree / "a.txt")
    repo.log_artifact(str(tree / "sub" / "b.bin"), "nested/deeper")
    assert repo.read_bytes("a.txt") == b"alpha"
    assert repo.read_bytes("nested/deeper/b.bin") == b"\x00\x01\x02"
    assert repo.list_artifacts() == [
        FileInfo("a.txt", False, 5),
        FileInfo("nested", True, None),
    ]


def test_file_uri_and_plain_path_name_the_same_root(tmp_path: Path) -> None:
    LocalArtifactRepository(str(tmp_path / "r")).log_bytes(b"1", "one")
    assert LocalArtifactRepository((tmp_path / "r").as_uri()).read_bytes("one") == b"1"


def test_log_artifacts_copies_the_whole_tree(repo: LocalArtifactRepository, tree: Path) -> None:
    repo.log_artifacts(tree, "model")
    assert repo.list_artifacts("model") == [
        FileInfo("model/a.txt", False, 5),
        FileInfo("model/empty", True, None),
        FileInfo("model/sub", True, None),
    ]
    assert repo.list_artifacts("model/sub/") == [
        FileInfo("model/sub/b.bin", False, 3),
        FileInfo("model/sub/deeper", True, None),
    ]
    assert repo.read_bytes("model/sub/deeper/c.txt") == b"gamma!"
    assert repo.total_size() == 5 + 3 + 6


def test_log_artifacts_into_the_root(repo: LocalArtifactRepository, tree: Path) -> None:
    repo.log_artifacts(tree)
    assert [info.path for info in repo.list_artifacts()] == ["a.txt", "empty", "sub"]


def test_listing_a_file_or_a_missing_path_is_empty(repo: LocalArtifactRepository) -> None:
    repo.log_bytes(b"abc", "a/b.txt")
    assert repo.list_artifacts("a") == [FileInfo("a/b.txt", False, 3)]
    assert repo.list_artifacts("a/b.txt") == []
    assert repo.list_artifacts("nope") == []


def test_listing_is_sorted_and_direct_children_only(repo: LocalArtifactRepository) -> None:
    for name in ["z.txt", "b/inner.txt", "a.txt", "m/x/y.txt"]:
        repo.log_bytes(b"", name)
    assert [(i.path, i.is_dir) for i in repo.list_artifacts()] == [
        ("a.txt", False),
        ("b", True),
        ("m", True),
        ("z.txt", False),
    ]


def test_download_a_file_keeps_its_relative_path(
    repo: LocalArtifactRepository, tmp_path: Path
) -> None:
    repo.log_bytes(b"weights", "model/w.bin")
    dst = tmp_path / "dst"
    dst.mkdir()
    local = repo.download_artifacts("model/w.bin", str(dst))
    assert local == str(dst / "model" / "w.bin")
    assert Path(local).read_bytes() == b"weights"


def test_download_a_folder_to_a_new_temp_dir(repo: LocalArtifactRepository, tree: Path) -> None:
    repo.log_artifacts(tree, "model")
    local = Path(repo.download_artifacts("model"))
    assert local.name == "model" and local.is_absolute()
    assert (local / "sub" / "deeper" / "c.txt").read_text() == "gamma!"
    assert (local / "empty").is_dir()
    assert sorted(p.relative_to(local).as_posix() for p in local.rglob("*")) == [
        "a.txt",
        "empty",
        "sub",
        "sub/b.bin",
        "sub/deeper",
        "sub/deeper/c.txt",
    ]


def test_download_everything(repo: LocalArtifactRepository, tree: Path, tmp_path: Path) -> None:
    empty = Path(repo.download_artifacts(""))  # nothing logged yet: an empty folder
    assert empty.is_dir() and not any(empty.iterdir())
    repo.log_artifacts(tree)
    local = Path(repo.download_artifacts("", tmp_path))
    assert local == tmp_path
    assert (local / "sub" / "b.bin").read_bytes() == b"\x00\x01\x02"


def test_download_errors(repo: LocalArtifactRepository, tmp_path: Path) -> None:
    repo.log_bytes(b"x", "f")
    with pytest.raises(HeronException) as caught:
        repo.download_artifacts("missing.txt")
    assert caught.value.error_code == RESOURCE_DOES_NOT_EXIST
    with pytest.raises(HeronException) as caught:
        repo.download_artifacts("f", tmp_path / "no-such-dir")
    assert caught.value.error_code == RESOURCE_DOES_NOT_EXIST
    (tmp_path / "plain-file").write_text("")
    with pytest.raises(HeronException) as caught:
        repo.download_artifacts("f", tmp_path / "plain-file")
    assert caught.value.error_code == INVALID_PARAMETER_VALUE


def test_read_bytes_and_exists(repo: LocalArtifactRepository) -> None:
    repo.log_bytes(b"data", "d/f.bin")
    assert repo.exists("d") and repo.exists("d/f.bin") and repo.exists("")
    assert not repo.exists("d/g.bin")
    for missing in ["d/g.bin", "d", ""]:
        with pytest.raises(HeronException) as caught:
            repo.read_bytes(missing)
        assert caught.value.error_code == RESOURCE_DOES_NOT_EXIST


def test_overwrite_replaces_content(repo: LocalArtifactRepository) -> None:
    repo.log_bytes(b"first version", "f.txt")
    repo.log_bytes(b"second", "f.txt")
    assert repo.read_bytes("f.txt") == b"second"
    assert repo.list_artifacts() == [FileInfo("f.txt", False, 6)]


def test_delete_file_folder_and_everything(repo: LocalArtifactRepository, tree: Path) -> None:
    repo.log_artifacts(tree)
    repo.delete_artifacts("a.txt")
    repo.delete_artifacts("sub/deeper")
    repo.delete_artifacts("never-existed")
    assert [i.path for i in repo.list_artifacts()] == ["empty", "sub"]
    assert [i.path for i in repo.list_artifacts("sub")] == ["sub/b.bin"]
    repo.delete_artifacts()
    assert not repo.root.exists() and repo.total_size() == 0
    repo.log_bytes(b"again", "f")  # the root comes back on the next write
    assert repo.read_bytes("f") == b"again"


def test_bad_writes_are_refused(repo: LocalArtifactRepository, tree: Path) -> None:
    repo.log_bytes(b"x", "file")
    repo.log_bytes(b"x", "folder/inner")
    cases = [
        lambda: repo.log_bytes(b"x", ""),  # no file name
        lambda: repo.log_bytes("text", "t.txt"),  # type: ignore[arg-type]
        lambda: repo.log_bytes(b"x", "file/below"),  # a file is in the way
        lambda: repo.log_bytes(b"x", "folder"),  # a folder is in the way
        lambda: repo.log_artifact(tree),  # a folder, not a file
        lambda: repo.log_artifact(tree / "missing.txt"),
        lambda: repo.log_artifacts(tree / "a.txt"),  # a file, not a folder
    ]
    for case in cases:
        with pytest.raises(HeronException) as caught:
            case()
        assert caught.value.error_code == INVALID_PARAMETER_VALUE
    assert repo.read_bytes("file") == b"x"


def test_log_artifacts_checks_every_name_before_writing(
    repo: LocalArtifactRepository, tree: Path
) -> None:
    (tree / "sub" / "bad\\name.txt").write_text("")  # legal on posix, refused as an artifact
    with pytest.raises(HeronException, match="backslash"):
        repo.log_artifacts(tree)
    assert repo.list_artifacts() == []


def test_log_artifacts_survives_a_symlink_cycle(repo: LocalArtifactRepository, tree: Path) -> None:
    (tree / "sub" / "loop").symlink_to(tree, target_is_directory=True)
    repo.log_artifacts(tree)
    assert repo.read_bytes("sub/deeper/c.txt") == b"gamma!"


# -- atomic writes -----------------------------------------------------------------------


def test_readers_never_see_a_partial_file(repo: LocalArtifactRepository) -> None:
    size = 1 << 20
    versions = [b"a" * size, b"b" * size]
    repo.log_bytes(versions[0], "big.bin")
    seen: list[bytes] = []
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            seen.append(repo.read_bytes("big.bin"))

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for i in range(30):
            repo.log_bytes(versions[i % 2], "big.bin")
    finally:
        done.set()
        reader.join()
    assert seen and all(content in versions for content in seen)


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temp(
    repo: LocalArtifactRepository, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo.log_bytes(b"old", "f.txt")

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        repo.log_bytes(b"new", "f.txt")
    monkeypatch.undo()
    assert repo.read_bytes("f.txt") == b"old"
    assert [p.name for p in repo.root.iterdir()] == ["f.txt"]


def test_in_flight_temp_files_are_invisible(repo: LocalArtifactRepository) -> None:
    repo.log_bytes(b"done", "ok.txt")
    (repo.root / f"{TEMP_PREFIX}0123").write_bytes(b"half-writ")
    assert repo.list_artifacts() == [FileInfo("ok.txt", False, 4)]
    assert repo.total_size() == 4
    assert not repo.exists(f"{TEMP_PREFIX}0123")
    assert sorted(p.name for p in Path(repo.download_artifacts("")).iterdir()) == ["ok.txt"]


# -- containment -------------------------------------------------------------------------

UNSAFE = ["..", "../x", "a/../../x", "/etc/passwd", "C:\\x", "a\\b", "a\x00b"]


@pytest.mark.parametrize("bad", UNSAFE)
def test_every_method_refuses_unsafe_paths(
    repo: LocalArtifactRepository, tree: Path, bad: str
) -> None:
    calls = [
        lambda: repo.log_artifact(tree / "a.txt", bad),
        lambda: repo.log_artifacts(tree, bad),
        lambda: repo.log_bytes(b"x", bad),
        lambda: repo.list_artifacts(bad),
        lambda: repo.download_artifacts(bad),
        lambda: repo.read_bytes(bad),
        lambda: repo.exists(bad),
        lambda: repo.delete_artifacts(bad),
    ]
    for call in calls:
        with pytest.raises(HeronException) as caught:
            call()
        assert caught.value.error_code == INVALID_PARAMETER_VALUE
    assert not (repo.root.parent / "x").exists()


def test_a_symlink_out_of_the_root_is_refused(
    repo: LocalArtifactRepository, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("top secret")
    repo.log_bytes(b"fine", "ok.txt")
    (repo.root / "link").symlink_to(outside, target_is_directory=True)
    (repo.root / "file-link").symlink_to(outside / "secret.txt")
    calls = [
        lambda: repo.read_bytes("link/secret.txt"),
        lambda: repo.read_bytes("file-link"),
        lambda: repo.log_bytes(b"x", "link/planted.txt"),
        lambda: repo.list_artifacts("link"),
        lambda: repo.download_artifacts("link"),
        lambda: repo.exists("link/secret.txt"),
        lambda: repo.delete_artifacts("link/secret.txt"),
    ]
    for call in calls:
        with pytest.raises(HeronException) as caught:
            call()
        assert caught.value.error_code == INVALID_PARAMETER_VALUE
    assert repo.list_artifacts() == [FileInfo("ok.txt", False, 4)]
    assert repo.total_size() == 4
    everything = Path(repo.download_artifacts(""))
    assert sorted(p.name for p in everything.rglob("*")) == ["ok.txt"]
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]


def test_a_symlink_within_the_root_is_followed(repo: LocalArtifactRepository) -> None:
    repo.log_bytes(b"v1", "versions/1/model.bin")
    (repo.root / "latest").symlink_to(repo.root / "versions" / "1", target_is_directory=True)
    assert repo.read_bytes("latest/model.bin") == b"v1"
    assert repo.list_artifacts("latest") == [FileInfo("latest/model.bin", False, 2)]


def test_a_relative_root_is_fixed_at_construction(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    repo = LocalArtifactRepository("mlruns/0/abc/artifacts")
    monkeypatch.chdir("/")
    repo.log_bytes(b"x", "f")
    assert (tmp_path / "mlruns" / "0" / "abc" / "artifacts" / "f").read_bytes() == b"x"
