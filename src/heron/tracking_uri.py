"""Where data goes: resolving a tracking URI into a database URL and an artifact root.

With nothing configured Heron keeps everything in ``./heronruns/`` in the working directory:
``heronruns/heron.db`` (SQLite) and ``heronruns/artifacts/``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from heron.exceptions import invalid

DEFAULT_FOLDER = "heronruns"
DB_FILE = "heron.db"
ARTIFACTS_FOLDER = "artifacts"
TRACKING_URI_ENV = ("HERON_TRACKING_URI", "MLFLOW_TRACKING_URI")
ARTIFACT_ROOT_ENV = "HERON_ARTIFACT_ROOT"
_DB_SCHEMES = ("sqlite", "postgresql", "postgres", "mysql", "mariadb")


@dataclass(frozen=True)
class StoreLocation:
    """A resolved tracking URI: either a server URL or a database plus an artifact root."""

    tracking_uri: str
    db_uri: str | None = None
    artifact_root: str | None = None

    @property
    def is_remote(self) -> bool:
        return self.db_uri is None


def default_tracking_uri() -> str:
    return str(Path.cwd() / DEFAULT_FOLDER)


def tracking_uri_from_env() -> str | None:
    for name in TRACKING_URI_ENV:
        value = os.environ.get(name)
        if value:
            return value
    return None


def resolve(uri: str) -> StoreLocation:
    """Map any accepted tracking URI to where its data lives."""
    scheme = urlparse(uri).scheme.lower()
    base_scheme = scheme.split("+")[0]
    if scheme in ("http", "https"):
        return StoreLocation(tracking_uri=uri)
    if base_scheme in _DB_SCHEMES:
        return StoreLocation(uri, _normalise_db_uri(uri), _artifact_root_for_db(uri, base_scheme))
    if scheme in ("", "file") or (len(scheme) == 1 and os.name == "nt"):
        folder = _folder_from_uri(uri)
        return StoreLocation(
            tracking_uri=str(folder),
            db_uri=f"sqlite:///{folder / DB_FILE}",
            artifact_root=os.environ.get(ARTIFACT_ROOT_ENV) or str(folder / ARTIFACTS_FOLDER),
        )
    raise invalid(
        f"Unsupported tracking URI {uri!r}. Use a folder path, sqlite:///file.db, "
        "postgresql://..., mysql://... or http(s)://server."
    )


def _folder_from_uri(uri: str) -> Path:
    path = unquote(urlparse(uri).path) if uri.startswith("file:") else uri
    return Path(path).expanduser().resolve()


def _normalise_db_uri(uri: str) -> str:
    if uri.startswith("postgres://"):
        uri = "postgresql://" + uri[len("postgres://") :]
    if uri.startswith("postgresql://"):
        return "postgresql+psycopg://" + uri[len("postgresql://") :]
    if uri.startswith("mysql://"):
        return "mysql+pymysql://" + uri[len("mysql://") :]
    return uri


def _artifact_root_for_db(uri: str, scheme: str) -> str:
    configured = os.environ.get(ARTIFACT_ROOT_ENV)
    if configured:
        return configured
    if scheme == "sqlite":
        database = uri.split(":///", 1)[1] if ":///" in uri else ""
        if database and database != ":memory:":
            return str(Path(database).expanduser().resolve().parent / ARTIFACTS_FOLDER)
    return str(Path.cwd() / DEFAULT_FOLDER / ARTIFACTS_FOLDER)
