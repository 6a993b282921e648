"""Throwaway databases on the PostgreSQL and MySQL servers tests are given; importable by any
test module as ``databases`` (conftest files cannot be imported by name)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator


@contextlib.contextmanager
def scratch_database(server_url: str, prefix: str = "heron_test") -> Iterator[str]:
    """A new, empty database on the server ``server_url`` names; dropped afterwards, even
    while connections to it remain."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from heron.tracking_uri import resolve

    admin_url = make_url(resolve(server_url).db_uri or server_url)
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    if admin_url.get_backend_name() == "postgresql":
        create, drop = f'CREATE DATABASE "{name}"', f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
    else:
        create = f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"
        drop = f"DROP DATABASE IF EXISTS `{name}`"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(create))
        try:
            yield admin_url.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(text(drop))
    finally:
        admin.dispose()
