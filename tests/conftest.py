"""Shared test set-up: a private template cache, and repositories built from case data."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

import pytest

# Compiled templates go to a folder of the test run's own, never the user's cache.
_CACHE = tempfile.mkdtemp(prefix="calltmpl-test-cache-")
os.environ["CALLTMPL_CACHE_DIR"] = _CACHE
atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)

PROJECT = Path(__file__).resolve().parents[1]


def write_tree(root: Path, files: Mapping[str, str]) -> Path:
    """Create ``files`` (relative path -> text) under ``root``; return ``root``."""
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run the test with the current folder set to a fresh temporary folder."""
    monkeypatch.chdir(tmp_path)
    return tmp_path
