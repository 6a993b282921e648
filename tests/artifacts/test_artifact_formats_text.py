import json
from pathlib import Path

import pytest
import yaml

from heron.artifacts.formats import write_dict, write_text
from heron.exceptions import INVALID_PARAMETER_VALUE, HeronException

DOC = {"b": 1, "a": {"nested": [1, 2.5, "three", None, True]}, "ünï": "cødé"}


def test_write_text_is_utf8_and_byte_exact(tmp_path: Path) -> None:
    write_text("line 1\r\nline 2 ✓\n", tmp_path / "notes.txt")
    assert (tmp_path / "notes.txt").read_bytes() == "line 1\r\nline 2 ✓\n".encode()


def test_write_text_refuses_non_text(tmp_path: Path) -> None:
    with pytest.raises(HeronException, match="needs a str"):
        write_text(b"bytes", tmp_path / "x.txt")  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["d.json", "d.txt", "noext"])
def test_write_dict_json_with_indent_2(tmp_path: Path, name: str) -> None:
    write_dict(DOC, tmp_path / name)
    content = (tmp_path / name).read_text()
    assert json.loads(content) == DOC
    assert content == json.dumps(DOC, indent=2)


@pytest.mark.parametrize("name", ["d.yaml", "d.yml", "D.YAML"])
def test_write_dict_yaml(tmp_path: Path, name: str) -> None:
    write_dict(DOC, tmp_path / name)
    content = (tmp_path / name).read_text(encoding="utf-8")
    assert yaml.safe_load(content) == DOC
    assert content.startswith("b: 1\n")  # block style, keys in the caller's order


@pytest.mark.parametrize("name", ["d.json", "d.yaml"])
def test_write_dict_refuses_unserialisable_values(tmp_path: Path, name: str) -> None:
    with pytest.raises(HeronException) as caught:
        write_dict({"when": object()}, tmp_path / name)
    assert caught.value.error_code == INVALID_PARAMETER_VALUE
    assert not (tmp_path / name).exists()
