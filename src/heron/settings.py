"""Server settings: one table feeds the CLI options, the environment, the docs and /health.

Each setting is read from the CLI, else its ``HERON_*`` environment variable, else its default,
in exactly one place (``Settings.from_sources``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from typing import Any

from heron.exceptions import invalid


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str
    kind: type = str

    @property
    def env(self) -> str:
        return f"HERON_{self.name.upper()}"


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "backend_store_uri",
        None,
        "Database for runs and experiments: a folder, sqlite:///file.db or postgresql://... "
        "Default: the embedded store in ./heronruns/.",
    ),
    Setting(
        "default_artifact_root",
        None,
        "Artifact location given to new experiments. Default: mlflow-artifacts:/ (served by "
        "this server) when artifacts are served, else the store's artifact folder.",
    ),
    Setting(
        "artifacts_destination",
        None,
        "Where the server keeps artifacts it serves (mlflow-artifacts:/ URIs). Default: the "
        "store's artifact folder.",
    ),
    Setting(
        "serve_artifacts", True, "Serve the artifact proxy (/api/2.0/mlflow-artifacts/).", bool
    ),
    Setting("host", "127.0.0.1", "Address to listen on. Without auth only loopback is allowed."),
    Setting("port", 5000, "Port to listen on.", int),
    Setting("workers", 1, "Number of server processes.", int),
    Setting(
        "allow_unauthenticated_network_access",
        False,
        "Listen on a non-loopback address although the server has no authentication. Anyone "
        "who can reach the port can read and change every run.",
        bool,
    ),
    Setting(
        "max_request_bytes",
        64 * 1024 * 1024,
        "Largest JSON request body accepted, in bytes (artifact uploads are streamed and not "
        "limited by this).",
        int,
    ),
    Setting(
        "db_pool_size",
        5,
        "Database connections each worker keeps open (PostgreSQL, MySQL; not SQLite). At most "
        "workers x (db-pool-size + db-max-overflow) connections are opened.",
        int,
    ),
    Setting(
        "db_max_overflow",
        10,
        "Further connections each worker may open under load beyond --db-pool-size; they are "
        "closed when returned.",
        int,
    ),
    Setting(
        "db_pool_timeout",
        30,
        "Seconds a request waits for a free database connection before it is answered "
        "503 TEMPORARILY_UNAVAILABLE (clients retry).",
        int,
    ),
)

_LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class Settings:
    backend_store_uri: str | None = None
    default_artifact_root: str | None = None
    artifacts_destination: str | None = None
    serve_artifacts: bool = True
    host: str = "127.0.0.1"
    port: int = 5000
    workers: int = 1
    allow_unauthenticated_network_access: bool = False
    max_request_bytes: int = 64 * 1024 * 1024
    db_pool_size: int = 5
    db_max_overflow: int = 10
    db_pool_timeout: int = 30

    @classmethod
    def from_sources(cls, cli: dict[str, Any], environ: dict[str, str] | None = None) -> Settings:
        """CLI value (when given), else ``HERON_<NAME>``, else the default."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for setting in SETTINGS:
            if cli.get(setting.name) is not None:
                values[setting.name] = cli[setting.name]
            elif setting.env in env:
                values[setting.name] = _parse(setting, env[setting.env])
            else:
                values[setting.name] = setting.default
        result = cls(**values)
        result.check()
        return result

    def check(self) -> None:
        if self.host not in _LOOPBACK and not self.allow_unauthenticated_network_access:
            raise invalid(
                f"Refusing to listen on {self.host}: this server has no authentication, so "
                "anyone who reaches it could read and change every run. Listen on 127.0.0.1, "
                "or pass --allow-unauthenticated-network-access if that is really what you want."
            )
        if self.workers < 1:
            raise invalid("--workers must be at least 1")
        if self.db_pool_size < 1:
            raise invalid("--db-pool-size must be at least 1")
        if self.db_max_overflow < 0:
            raise invalid("--db-max-overflow must not be negative")
        if self.db_pool_timeout < 1:
            raise invalid("--db-pool-timeout must be at least 1 second")

    def public(self) -> dict[str, Any]:
        """What /health may show: every setting (none of them is a secret)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _parse(setting: Setting, raw: str) -> Any:
    if setting.kind is bool:
        return raw.strip().lower() in ("1", "true", "yes", "on")
    if setting.kind is int:
        try:
            return int(raw)
        except ValueError:
            raise invalid(f"{setting.env} must be a whole number, got {raw!r}") from None
    return raw
