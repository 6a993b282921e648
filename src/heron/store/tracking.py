"""The tracking store: every experiment and run operation over one SQLAlchemy engine."""

from __future__ import annotations

from heron.store.run_data import RunDataStore


class SqlTrackingStore(RunDataStore):
    """Experiments (experiments.py), runs (runs.py) and what runs log (run_data.py)."""
