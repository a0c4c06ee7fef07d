"""Shared fixtures: tiny real datasets shipped in tests/data and throw-away stores."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

# One thread per process keeps the suite fast and deterministic on small machines.
os.environ.setdefault("OMP_NUM_THREADS", "1")

from metahpo.datasets import Dataset, load_dataset

DATA = Path(__file__).parent / "data"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


@pytest.fixture(scope="session")
def tiny_clf() -> Dataset:
    """120 rows of the real 'vehicle' dataset (4 classes, 18 features)."""
    return load_dataset(DATA / "vehicle").subsample(120, seed=1)


@pytest.fixture(scope="session")
def tiny_reg() -> Dataset:
    """100 rows of the real '1027_ESL' dataset (regression, 4 features)."""
    return load_dataset(DATA / "1027_ESL").subsample(100, seed=1)


@pytest.fixture()
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"


def dataset_folder(root: Path, *names: str) -> Path:
    """A folder in the shared datasets layout holding copies of the named test datasets."""
    root.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copytree(DATA / name, root / name)
    return root


def shared_datasets() -> Path:
    """The shared meta-training collection (only slow tests use it)."""
    if not SHARED.exists():
        pytest.skip("../shared/datasets is not available")
    return SHARED
