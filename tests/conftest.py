"""Shared pytest fixtures."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

# `pytest` run as a console script does not put the repository root on sys.path.
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The shared real-data folder: $COSIM_DATA_DIR, else <repo root>/../shared/data.

    Skips the test when the folder is absent (a user's fresh machine has none).
    """
    env = os.environ.get("COSIM_DATA_DIR", "").strip()
    path = Path(env).expanduser() if env else REPO_ROOT.parent / "shared" / "data"
    if not path.is_dir():
        pytest.skip("shared data folder not found: set COSIM_DATA_DIR")
    return path
