"""An in-process server for the tests of this folder: the whole app over Starlette's
TestClient, no sockets (tests/servers.py starts real ones)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from heron.server.app import create_app
from heron.settings import Settings


@pytest.fixture
def api(tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(Settings(backend_store_uri=str(tmp_path / "store")))
    with TestClient(app) as client:
        yield client
