"""File-system helpers for tests; importable by any test module as ``filesystem``."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


@contextlib.contextmanager
def undeletable(folder: Path) -> Iterator[None]:
    """Make deleting ``folder``'s files fail for real: a read-only folder for a normal user;
    root ignores permissions, so there an immutable file (chattr +i)."""
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        target = next(p for p in folder.iterdir() if p.is_file())
        chattr = shutil.which("chattr")
        if chattr is None or subprocess.run([chattr, "+i", str(target)]).returncode != 0:
            pytest.skip("running as root, and chattr +i does not work here")
        try:
            yield
        finally:
            subprocess.run([chattr, "-i", str(target)], check=True)
        return
    folder.chmod(0o500)
    try:
        yield
    finally:
        folder.chmod(0o700)
