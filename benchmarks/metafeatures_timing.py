"""Micro-benchmark: time ``compute_metafeatures`` on a synthetic 10,000 x 100 table.

The table mixes 90 numeric columns (some skewed, some with missing values) and 10 categorical
columns, with a 3-class target, and the same table with a numeric target for regression.

Run:
    python benchmarks/metafeatures_timing.py [--rows 10000] [--features 100] [--repeat 5]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from metahpo.datasets import Dataset, TaskType
from metahpo.metafeatures import compute_metafeatures


def synthetic(rows: int, features: int, task: TaskType, seed: int = 0) -> Dataset:
    """A mixed-type table whose target depends on a few columns."""
    rng = np.random.default_rng(seed)
    n_cat = max(1, features // 10)
    n_num = features - n_cat
    num = rng.normal(size=(rows, n_num))
    num[:, ::3] = np.exp(num[:, ::3])  # skewed columns
    num[rng.random((rows, n_num)) < 0.02] = np.nan
    cat = rng.choice(np.array(["a", "b", "c", "d", "e"], dtype=object), size=(rows, n_cat))
    X = pd.DataFrame(num, columns=[f"x{i}" for i in range(n_num)])
    for j in range(n_cat):
        X[f"c{j}"] = cat[:, j]
    signal = np.nan_to_num(num[:, 1]) + np.nan_to_num(num[:, 2]) + (cat[:, 0] == "a")
    if task == "classification":
        y: np.ndarray = np.array(["low", "mid", "high"], dtype=object)[
            np.digitize(signal, np.quantile(signal, [0.33, 0.66]))
        ]
    else:
        y = signal + rng.normal(scale=0.5, size=rows)
    return Dataset(name=f"synthetic_{task}", X=X, y=y, task=task)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--features", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    tasks: tuple[TaskType, ...] = ("classification", "regression")
    for task in tasks:
        ds = synthetic(args.rows, args.features, task)
        compute_metafeatures(ds)  # warm-up: imports and caches
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            compute_metafeatures(ds)
            times.append(time.perf_counter() - start)
        print(
            f"{task:>14}: {args.rows} x {args.features}: "
            f"median {np.median(times):.3f} s, best {min(times):.3f} s over {args.repeat} runs"
        )


if __name__ == "__main__":
    main()
