"""The tracking store: every experiment and run operation over one SQLAlchemy engine."""

from __future__ import annotations

from heron.store.gc import GcStore


class SqlTrackingStore(GcStore):
    """Experiments (experiments.py), runs (runs.py), what runs log (run_data.py) and the
    permanent removal of deleted ones (gc.py)."""
