"""Backends: how the client reaches storage (see base.Backend)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

from heron.backends.base import Backend
from heron.exceptions import invalid
from heron.tracking_uri import StoreLocation, resolve

MODE_ENV = "HERON_MODE"
_lock = threading.Lock()
_open: dict[str, Backend] = {}


def open_backend(tracking_uri: str, offline: bool | None = None) -> Backend:
    """The backend for a tracking URI, opened once per process and URI (opening a store
    checks its schema, which is worth doing once, not per call). ``offline`` defaults to
    HERON_MODE; ``heron sync`` passes False to reach the real store."""
    location = resolve(tracking_uri)
    offline = offline_mode() if offline is None else offline
    key = f"offline:{location.tracking_uri}" if offline else location.tracking_uri
    with _lock:
        backend = _open.get(key)
        if backend is None:
            backend = _create(location, offline)
            _open[key] = backend
        return backend


def _create(location: StoreLocation, offline: bool) -> Backend:
    if offline:
        from heron.backends.offline import OfflineBackend

        return OfflineBackend(location.tracking_uri)
    if location.is_remote:
        from heron.backends.http import HttpBackend

        return HttpBackend(location.tracking_uri)
    from heron.backends.local import LocalBackend

    assert location.db_uri is not None and location.artifact_root is not None
    return LocalBackend(location.tracking_uri, location.db_uri, location.artifact_root)


def offline_mode() -> bool:
    """Whether HERON_MODE asks for offline mode (writes to the spool only)."""
    mode = (os.environ.get(MODE_ENV) or "online").strip().lower()
    if mode not in ("online", "offline"):
        raise invalid(f"{MODE_ENV} must be 'online' or 'offline', not {mode!r}")
    return mode == "offline"


_closing_hooks: list[Callable[[], object]] = []


def on_close_all(hook: Callable[[], object]) -> None:
    """Run ``hook`` before close_all closes the backends (the log queues drain there)."""
    _closing_hooks.append(hook)


def close_all() -> None:
    """Close every open backend (tests use this between databases)."""
    for hook in _closing_hooks:
        hook()
    with _lock:
        for backend in _open.values():
            close = getattr(backend, "close", None)
            if close:
                close()
        _open.clear()


__all__ = ["MODE_ENV", "Backend", "close_all", "offline_mode", "open_backend"]
