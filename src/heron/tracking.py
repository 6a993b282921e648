"""``heron.tracking.MlflowClient``, for scripts written against ``mlflow.tracking``."""

from heron.client import HeronClient, MlflowClient

__all__ = ["HeronClient", "MlflowClient"]
