"""docs/api.md lists exactly the server's routes; docs/server.md documents every setting."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from heron.cli.server import server
from heron.server.app import api_routes, meta_routes
from heron.server.routing import routes_table
from heron.settings import SETTINGS, Setting

DOCS = Path(__file__).resolve().parents[2] / "docs"
ROW = re.compile(r"^\|\s*([A-Z]+)\s*\|\s*`([^`]+)`\s*\|\s*(yes|no)\s*\|\s*(.*?)\s*\|\s*$")


def served() -> set[tuple[str, str]]:
    # "{artifact_path:path}" is Starlette's converter; the docs write "{artifact_path}".
    table = routes_table(api_routes() + meta_routes())
    return {(method, re.sub(r"\{(\w+):\w+\}", r"{\1}", path)) for method, path in table}


def documented() -> tuple[set[tuple[str, str]], list[str]]:
    routes, problems = set(), []
    for line in (DOCS / "api.md").read_text(encoding="utf-8").splitlines():
        match = ROW.match(line)
        if not match:
            continue
        method, path, twin, what = match.groups()
        if not what:
            problems.append(f"{method} {path} has no description")
        routes.add((method, path))
        if twin == "yes":
            if not path.startswith("/api/"):
                problems.append(f"{method} {path} cannot have an /ajax-api/ twin")
            routes.add((method, "/ajax-api/" + path.removeprefix("/api/")))
    return routes, problems


def test_every_route_is_documented() -> None:
    missing = served() - documented()[0]
    assert not missing, f"routes missing from docs/api.md: {sorted(missing)}"


def test_every_documented_route_exists() -> None:
    extra = documented()[0] - served()
    assert not extra, f"docs/api.md lists routes the server does not have: {sorted(extra)}"


def test_every_documented_route_says_what_it_does() -> None:
    routes, problems = documented()
    assert routes and not problems, problems


def _flags(setting: Setting) -> list[str]:
    for param in server.params:
        if isinstance(param, click.Option) and param.name == setting.name:
            return [*param.opts, *param.secondary_opts]
    raise AssertionError(f"setting {setting.name} is not an option of heron server")


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_every_setting_is_in_the_server_docs(setting: Setting) -> None:
    text = (DOCS / "server.md").read_text(encoding="utf-8")
    for flag in _flags(setting):
        assert f"`{flag}`" in text, f"docs/server.md does not mention {flag}"
    assert f"`{setting.env}`" in text, f"docs/server.md does not mention {setting.env}"
    assert re.search(rf"^### .*`{re.escape(_flags(setting)[0])}`", text, re.M), (
        f"docs/server.md has no section explaining {_flags(setting)[0]}"
    )


def test_the_docs_link_each_other() -> None:
    assert "(api.md)" in (DOCS / "server.md").read_text(encoding="utf-8")
    assert "(server.md)" in (DOCS / "api.md").read_text(encoding="utf-8")
