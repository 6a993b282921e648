"""The client's suite runs on both backends (architecture decision 3): in-process ("local")
and over MLflow's REST API to a real ``heron server`` on loopback ("http").

Markers: ``local_only`` tests are about the embedded store itself (its folder, its SQLite
file, subprocesses logging to it) and run on "local" alone. Over HTTP the tests of a module
share one server (``live_server``); a ``fresh_server`` test looks at everything on the
server, so it gets a server of its own.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from servers import running_server

BACKENDS = ("local", "http")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        local_only = metafunc.definition.get_closest_marker("local_only") is not None
        metafunc.parametrize("backend", ["local"] if local_only else BACKENDS, indirect=True)


@pytest.fixture(autouse=True)
def backend(
    request: pytest.FixtureRequest,
    _isolated_tracking: None,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> Iterator[str]:
    """Which backend this test runs on; for "http" the tracking URI names a live server."""
    import heron.fluent

    kind: str = request.param
    with contextlib.ExitStack() as stack:
        if kind == "http":
            if request.node.get_closest_marker("fresh_server"):
                url = stack.enter_context(running_server(_folder(tmp_path / "fresh-server")))
            else:
                url = request.getfixturevalue("live_server")
            monkeypatch.setenv("HERON_TRACKING_URI", url)
            heron.fluent._session.__init__()  # type: ignore[misc]
        yield kind
        # Runs left open are ended while their server is still there to hear it.
        while heron.fluent.active_run() is not None:
            heron.fluent.end_run()


def _folder(path: Path) -> Path:
    path.mkdir()
    return path
