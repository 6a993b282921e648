"""Backends: how the client reaches storage (see base.Backend)."""

from __future__ import annotations

import threading

from heron.backends.base import Backend
from heron.tracking_uri import StoreLocation, resolve

_lock = threading.Lock()
_open: dict[str, Backend] = {}


def open_backend(tracking_uri: str) -> Backend:
    """The backend for a tracking URI, opened once per process and URI (opening a store
    checks its schema, which is worth doing once, not per call)."""
    location = resolve(tracking_uri)
    with _lock:
        backend = _open.get(location.tracking_uri)
        if backend is None:
            backend = _create(location)
            _open[location.tracking_uri] = backend
        return backend


def _create(location: StoreLocation) -> Backend:
    if location.is_remote:
        from heron.backends.http import HttpBackend

        return HttpBackend(location.tracking_uri)
    from heron.backends.local import LocalBackend

    assert location.db_uri is not None and location.artifact_root is not None
    return LocalBackend(location.tracking_uri, location.db_uri, location.artifact_root)


def close_all() -> None:
    """Close every open backend (tests use this between databases)."""
    with _lock:
        for backend in _open.values():
            close = getattr(backend, "close", None)
            if close:
                close()
        _open.clear()


__all__ = ["Backend", "close_all", "open_backend"]
