"""MLflow-compatible REST handlers, one module per resource."""
