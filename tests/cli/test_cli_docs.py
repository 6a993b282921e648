"""docs/cli.md is generated from the click tree; these tests keep it, and the help, honest."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import click
import pytest

from heron.cli.main import cli

ROOT = Path(__file__).resolve().parents[2]


def load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_cli_docs", ROOT / "scripts/gen_cli_docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GEN = load_generator()
CONTEXTS = list(GEN.walk(cli))


def test_docs_match_the_commands() -> None:
    expected = GEN.generate()
    actual = GEN.DOCS_PATH.read_text(encoding="utf-8")
    assert actual == expected, "docs/cli.md is out of date; run `python scripts/gen_cli_docs.py`"


def test_docs_cover_every_command() -> None:
    text = GEN.DOCS_PATH.read_text(encoding="utf-8")
    for ctx in CONTEXTS:
        assert f"`{ctx.command_path}`" in text


@pytest.mark.parametrize("ctx", CONTEXTS, ids=lambda c: c.command_path)
def test_every_command_has_help(ctx: click.Context) -> None:
    assert (ctx.command.help or "").strip(), f"{ctx.command_path} has no help text"


@pytest.mark.parametrize("ctx", CONTEXTS, ids=lambda c: c.command_path)
def test_every_option_has_help(ctx: click.Context) -> None:
    missing = [
        p.opts[0]
        for p in ctx.command.get_params(ctx)
        if isinstance(p, click.Option) and not (p.help or "").strip()
    ]
    assert not missing, f"{ctx.command_path}: options without help: {missing}"


def test_the_tree_has_the_expected_commands() -> None:
    paths = {ctx.command_path for ctx in CONTEXTS}
    assert {
        "heron experiments create",
        "heron experiments delete",
        "heron runs describe",
        "heron artifacts download",
        "heron db upgrade",
    } <= paths
