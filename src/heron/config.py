"""Process-wide switches, under MLflow's names (``mlflow.config``)."""

from __future__ import annotations

from heron.log_queue import async_enabled, enable_async_logging


def is_async_logging_enabled() -> bool:
    """Whether logging calls return before their values are stored (Heron's default)."""
    return async_enabled()


__all__ = ["enable_async_logging", "is_async_logging_enabled"]
