import subprocess
import sys
from pathlib import Path

import pytest

from heron.artifacts import ArtifactRepository, LocalArtifactRepository, get_artifact_repository
from heron.exceptions import INVALID_PARAMETER_VALUE, HeronException


@pytest.mark.parametrize("form", ["plain", "file:///", "file:/", "FILE:///"])
def test_local_uris_give_a_local_repository(tmp_path: Path, form: str) -> None:
    uri = str(tmp_path) if form == "plain" else form + str(tmp_path).lstrip("/")
    repo = get_artifact_repository(uri)
    assert isinstance(repo, LocalArtifactRepository)
    assert isinstance(repo, ArtifactRepository)  # satisfies the protocol
    assert repo.artifact_uri == uri
    repo.log_bytes(b"x", "f")
    assert (tmp_path / "f").read_bytes() == b"x"


def test_a_windows_drive_is_not_a_scheme() -> None:
    assert isinstance(get_artifact_repository("C:\\runs\\1"), LocalArtifactRepository)


@pytest.mark.parametrize("uri", ["s3://bucket/runs/1", "gs://b/x", "mlflow-artifacts:/1/a"])
def test_unknown_schemes_are_refused(uri: str) -> None:
    with pytest.raises(HeronException, match="is not supported yet") as caught:
        get_artifact_repository(uri)
    assert caught.value.error_code == INVALID_PARAMETER_VALUE


def test_importing_artifacts_pulls_in_no_optional_library() -> None:
    code = (
        "import sys, heron.artifacts, heron.artifacts.formats\n"
        "heavy = {'numpy', 'PIL', 'pandas', 'matplotlib', 'plotly', 'yaml'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
