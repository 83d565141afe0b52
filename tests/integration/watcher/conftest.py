"""Fixtures of the watcher's integration tests (defined in `support.py` with the helpers)."""

from tests.integration.watcher.support import bus, secrets, sink, store, watcher

__all__ = ["bus", "secrets", "sink", "store", "watcher"]
