"""``heron db``: show and upgrade the database schema (Alembic revisions).

SQLAlchemy and Alembic are imported inside the commands, so ``heron --help`` and the other
groups start without them (as ``import heron`` does).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from heron.cli import output
from heron.cli.options import json_option, tracking_uri_option
from heron.exceptions import invalid
from heron.tracking_uri import default_tracking_uri, resolve

if TYPE_CHECKING:
    from sqlalchemy import Engine

backend_store_uri_option = click.option(
    "--backend-store-uri",
    metavar="URI",
    help="The database: a URI (sqlite:///heron.db, postgresql://...) or a tracking folder "
    "(default: the database of --tracking-uri).",
)


@click.group()
def db() -> None:
    """Show and upgrade the tracking database's schema."""


@db.command()
@backend_store_uri_option
@tracking_uri_option
@json_option
def current(backend_store_uri: str | None, tracking_uri: str | None, as_json: bool) -> None:
    """Show the database's schema revision and the one this Heron needs."""
    from heron.store.schema_version import head_revision

    db_uri = database_uri(backend_store_uri, tracking_uri)
    revision = None if _missing_sqlite_file(db_uri) else _read_revision(db_uri)
    head = head_revision()
    shown = _shown(db_uri)
    if as_json:
        up_to_date = revision == head
        output.echo_json(
            {"db_uri": shown, "current": revision, "head": head, "up_to_date": up_to_date}
        )
        return
    click.echo(
        output.fields([("database", shown), ("current", revision or "none"), ("head", head)])
    )
    if revision != head:
        click.echo("Run 'heron db upgrade' to bring it to head (back up the database first).")


@db.command()
@backend_store_uri_option
@tracking_uri_option
@json_option
def upgrade(backend_store_uri: str | None, tracking_uri: str | None, as_json: bool) -> None:
    """Create the schema, or migrate it to the revision this Heron needs.

    Back up the database first: migrations change tables in place.
    """
    from heron.store.schema_version import ensure_schema

    db_uri = database_uri(backend_store_uri, tracking_uri)
    with _engine(db_uri) as engine:
        before = _revision(engine)
        ensure_schema(engine, db_uri, upgrade_existing=True)
        after = _revision(engine)
    shown = _shown(db_uri)
    if as_json:
        output.echo_json({"db_uri": shown, "from": before, "to": after})
    elif before == after:
        click.echo(f"{shown} is already at head revision {after}.")
    else:
        click.echo(f"Upgraded {shown} from {before or 'an empty database'} to {after}.")


def database_uri(backend_store_uri: str | None, tracking_uri: str | None) -> str:
    """The database behind ``--backend-store-uri``, else behind the tracking URI."""
    uri = backend_store_uri or tracking_uri or default_tracking_uri()
    db_uri = resolve(uri).db_uri
    if db_uri is None:
        raise invalid(f"{uri!r} is a server, not a database; give --backend-store-uri.")
    return db_uri


def _read_revision(db_uri: str) -> str | None:
    with _engine(db_uri) as engine:
        return _revision(engine)


def _revision(engine: Engine) -> str | None:
    from heron.store.schema_version import current_revision

    with engine.connect() as conn:
        return current_revision(conn)


@contextmanager
def _engine(db_uri: str) -> Iterator[Engine]:
    """An engine that is disposed of, with connection failures as a one-line error."""
    from sqlalchemy.exc import SQLAlchemyError

    from heron.store.engine import create_store_engine

    try:
        engine = create_store_engine(db_uri)
    except (ImportError, SQLAlchemyError) as exc:  # e.g. the database's driver is missing
        raise click.ClickException(f"Cannot open {_shown(db_uri)}: {exc}") from exc
    try:
        yield engine
    except SQLAlchemyError as exc:
        raise click.ClickException(f"Database error on {_shown(db_uri)}: {exc}") from exc
    finally:
        engine.dispose()


def _missing_sqlite_file(db_uri: str) -> bool:
    """Whether ``db_uri`` is an SQLite file that does not exist (and asking must not create)."""
    from sqlalchemy.engine import make_url

    url = make_url(db_uri)
    database = url.database or ""
    if url.get_backend_name() != "sqlite" or database in ("", ":memory:"):
        return False
    return not Path(database).expanduser().exists()


def _shown(db_uri: str) -> str:
    """The URI with any password masked."""
    from sqlalchemy.engine import make_url

    return make_url(db_uri).render_as_string(hide_password=True)
