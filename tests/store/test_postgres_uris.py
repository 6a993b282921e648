"""postgresql://, postgres:// and postgresql+psycopg:// all reach PostgreSQL through psycopg 3."""

from __future__ import annotations

import pytest

from heron.backends import open_backend
from heron.backends.local import LocalBackend
from heron.client import HeronClient
from heron.tracking_uri import resolve

SCHEMES = ("postgresql://", "postgres://", "postgresql+psycopg://")


@pytest.mark.parametrize("scheme", SCHEMES)
def test_every_spelling_maps_to_psycopg(scheme: str) -> None:
    location = resolve(f"{scheme}ada:secret@db.example:5433/heron")
    assert location.db_uri == "postgresql+psycopg://ada:secret@db.example:5433/heron"
    assert not location.is_remote


@pytest.mark.parametrize("db_uri", ["postgresql"], indirect=True)
def test_every_spelling_opens_the_same_database(db_uri: str) -> None:
    rest = db_uri.split("://", 1)[1]
    written = []
    for scheme in SCHEMES:
        client = HeronClient(scheme + rest)
        backend = open_backend(scheme + rest)
        assert isinstance(backend, LocalBackend)
        assert (backend.engine.dialect.name, backend.engine.dialect.driver) == (
            "postgresql",
            "psycopg",
        )
        experiment_id = client.create_experiment(f"through-{scheme.split(':')[0]}")
        run_id = client.create_run(experiment_id).info.run_id
        client.log_metric(run_id, "m", 1.5, step=3)
        written.append(run_id)
    reader = HeronClient("postgres://" + rest)
    for run_id in written:
        assert reader.get_run(run_id).data.metrics == {"m": 1.5}
