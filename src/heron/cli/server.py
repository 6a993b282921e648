"""``heron server`` (MLflow's option names) and ``heron ui`` (the embedded store, locally)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from heron.settings import SETTINGS, Settings

_OPTION_NAMES = {
    "serve_artifacts": "--serve-artifacts/--no-serve-artifacts",
    "allow_unauthenticated_network_access": "--allow-unauthenticated-network-access",
}


def settings_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """One click option per entry of the settings table, so they cannot drift apart."""
    for setting in reversed(SETTINGS):
        flag = _OPTION_NAMES.get(setting.name, "--" + setting.name.replace("_", "-"))
        kwargs: dict[str, Any] = {
            "default": None,
            "help": f"{setting.help} [env: {setting.env}; default: {setting.default}]",
        }
        if setting.kind is bool and "/" not in flag:
            kwargs["is_flag"] = True
        elif setting.kind is int:
            kwargs["type"] = int
        command = click.option(flag, setting.name, **kwargs)(command)
    return command


def check_schema(settings: Settings) -> None:
    """Refuse to start, in one line, on a database that needs ``heron db upgrade``.

    The app's lifespan would refuse too, but inside uvicorn that is a traceback per worker.
    An empty database gets its schema here, once, before any worker starts.
    """
    from heron.cli.db import _engine
    from heron.store.schema_version import ensure_schema
    from heron.tracking_uri import default_tracking_uri, resolve

    db_uri = resolve(settings.backend_store_uri or default_tracking_uri()).db_uri
    if db_uri is None:  # a server URL: ServerContext.open says what is wrong with it
        return
    with _engine(db_uri) as engine:
        ensure_schema(engine, db_uri)


def serve(settings: Settings) -> None:
    import uvicorn

    from heron.server.app import create_app
    from heron.store.schema_version import safe_uri

    check_schema(settings)
    store = safe_uri(settings.backend_store_uri) if settings.backend_store_uri else "embedded store"
    click.echo(
        f"Heron {store} on http://{settings.host}:{settings.port} ({settings.workers} worker(s))",
        err=True,
    )
    if settings.workers == 1:
        uvicorn.run(create_app(settings), host=settings.host, port=settings.port)
        return
    from heron.server.factory import export_settings

    export_settings(settings)
    uvicorn.run(
        "heron.server.factory:app_from_exported_settings",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
    )


@click.command()
@settings_options
def server(**options: Any) -> None:
    """Run the tracking server: MLflow's REST API, so mlflow clients work against it."""
    serve(Settings.from_sources(options))


@click.command()
@click.option("--port", type=int, default=None, help="Port to listen on. [default: 5000]")
def ui(port: int | None) -> None:
    """Serve the embedded store of this folder (./heronruns/) on 127.0.0.1."""
    serve(Settings.from_sources({"port": port, "host": "127.0.0.1"}))
