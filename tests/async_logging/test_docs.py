"""docs/logging.md names every setting the queue, the spool and offline mode read."""

from __future__ import annotations

from pathlib import Path

from heron import backends, log_queue, spool

DOCS = Path(__file__).parents[2] / "docs" / "logging.md"


def test_every_client_setting_is_documented() -> None:
    text = DOCS.read_text(encoding="utf-8")
    names = [
        *log_queue.ASYNC_ENV[:1],
        log_queue.QUEUE_SIZE_ENV,
        log_queue.FLUSH_TIMEOUT_ENV,
        log_queue.RETRY_ENV,
        spool.SPOOL_DIR_ENV,
        backends.MODE_ENV,
    ]
    for name in names:
        assert f"| `{name}` |" in text, f"{name} is missing from the settings table"


def test_mlflow_config_names() -> None:
    import heron

    heron.config.enable_async_logging(False)
    try:
        assert not heron.config.is_async_logging_enabled()
        heron.config.enable_async_logging(True)
        assert heron.config.is_async_logging_enabled()
    finally:
        heron.log_queue._async_override = None
