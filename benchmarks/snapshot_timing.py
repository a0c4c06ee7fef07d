"""Time reading experience from an SQLite store: 150 tasks x 200 trials.

Usage: python benchmarks/snapshot_timing.py [DB_PATH]

Builds the store once (about 30,000 trials through Optuna's API; minutes), then times
``metahpo.knowledge.from_store`` (the columnar SQL path) three times and prints the best.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import optuna

from metahpo.knowledge import KnowledgeStore, TaskRecord, from_store
from metahpo.spaces import get_space, sobol_design

N_TASKS, N_TRIALS = 150, 200


def build(url: str) -> None:
    store = KnowledgeStore(url)
    space = get_space("hgb", "classification")
    rng = np.random.default_rng(0)
    configs = sobol_design(space, N_TRIALS, seed=0)
    for i in range(N_TASKS):
        record = TaskRecord(
            dataset=f"d{i}",
            fingerprint=f"f{i}",
            family="hgb",
            task="classification",
            metric="balanced_accuracy",
            direction="maximize",
            space=space.to_dict(),
            space_signature=space.signature,
            n_rows=1000,
            n_features=10,
            metafeatures={f"m{j}": float(rng.normal()) for j in range(37)},
            source="tune",
        )
        study = store.create_task(f"task-{i}", record)
        study.add_trials(
            [
                optuna.trial.create_trial(
                    params=c, distributions=space.distributions(), value=float(rng.random())
                )
                for c in configs
            ]
        )


def main() -> None:
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/metahpo-snapshot-bench.db")
    url = f"sqlite:///{path}"
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if not path.exists():
        t = time.perf_counter()
        build(url)
        print(f"built {N_TASKS} x {N_TRIALS} trials in {time.perf_counter() - t:.0f} s")
    names = tuple(f"m{j}" for j in range(37))
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        experience = from_store(KnowledgeStore(url), names)
        best = min(best, time.perf_counter() - t)
    n = sum(t.n for t in experience.tasks)
    print(f"from_store: {len(experience)} tasks, {n} trials in {best:.3f} s (best of 3)")


if __name__ == "__main__":
    main()
