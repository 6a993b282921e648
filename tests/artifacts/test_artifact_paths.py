from pathlib import Path

import pytest

from heron.artifacts.paths import local_path_from_uri, safe_relative_path
from heron.exceptions import INVALID_PARAMETER_VALUE, HeronException


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        (None, ""),
        ("", ""),
        (".", ""),
        ("./", ""),
        ("a", "a"),
        ("./a/b.txt", "a/b.txt"),
        ("a/b/", "a/b"),
        ("a//b/./c", "a/b/c"),
        ("dir with space/%2e%2e", "dir with space/%2e%2e"),  # percent signs are just characters
        ("..data/x..", "..data/x.."),  # dots inside a name are not a parent reference
    ],
)
def test_safe_paths_are_normalised(raw: str | None, normal: str) -> None:
    assert safe_relative_path(raw) == normal


@pytest.mark.parametrize(
    "raw",
    [
        "..",
        "../x",
        "a/../../x",
        "a/..",
        "a/../b",
        "/etc/passwd",
        "//server/share",
        "C:\\x",
        "C:/x",
        "c:x",
        "a\\b",
        "..\\x",
        "a\x00b",
    ],
)
def test_unsafe_paths_are_refused(raw: str) -> None:
    with pytest.raises(HeronException) as caught:
        safe_relative_path(raw)
    assert caught.value.error_code == INVALID_PARAMETER_VALUE


def test_non_string_path_is_refused() -> None:
    with pytest.raises(HeronException, match="must be a string"):
        safe_relative_path(3)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("uri", "path"),
    [
        ("file:///tmp/runs/a", "/tmp/runs/a"),
        ("file:/tmp/runs/a", "/tmp/runs/a"),
        ("file://localhost/tmp/x", "/tmp/x"),
        ("file:///tmp/with%20space/100%25", "/tmp/with space/100%"),
        ("/tmp/plain%20path", "/tmp/plain%20path"),  # a plain path is not a URI: no decoding
        ("relative/dir", "relative/dir"),
    ],
)
def test_local_path_from_uri(uri: str, path: str) -> None:
    assert local_path_from_uri(uri) == Path(path)


@pytest.mark.parametrize("uri", ["file://otherhost/tmp/x", "file:///tmp/a%00b", "file://"])
def test_unusable_file_uris_are_refused(uri: str) -> None:
    with pytest.raises(HeronException) as caught:
        local_path_from_uri(uri)
    assert caught.value.error_code == INVALID_PARAMETER_VALUE
