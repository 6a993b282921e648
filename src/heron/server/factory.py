"""How ``heron server --workers N`` hands its settings to worker processes.

uvicorn starts each worker as a fresh interpreter that imports an app factory by name, so
the settings, resolved once by the CLI, travel as one JSON environment variable and are
read here, in exactly one place.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict

from starlette.applications import Starlette

from heron.server.app import create_app
from heron.settings import Settings

SETTINGS_ENV = "HERON_SERVER_SETTINGS_JSON"


def export_settings(settings: Settings) -> None:
    os.environ[SETTINGS_ENV] = json.dumps(asdict(settings))


def app_from_exported_settings() -> Starlette:
    return create_app(Settings(**json.loads(os.environ[SETTINGS_ENV])))
