from pathlib import Path

import pytest

from heron.artifacts import LocalArtifactRepository


@pytest.fixture
def repo(tmp_path: Path) -> LocalArtifactRepository:
    """A repository whose root does not exist yet (it is created on first write)."""
    return LocalArtifactRepository(str(tmp_path / "artifacts"))


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A local folder to upload: files at two depths and one empty folder."""
    top = tmp_path / "upload"
    (top / "sub" / "deeper").mkdir(parents=True)
    (top / "empty").mkdir()
    (top / "a.txt").write_text("alpha")
    (top / "sub" / "b.bin").write_bytes(b"\x00\x01\x02")
    (top / "sub" / "deeper" / "c.txt").write_text("gamma!")
    return top
