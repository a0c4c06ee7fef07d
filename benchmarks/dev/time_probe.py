"""Probe one `metahpo.tune(timeout=...)` run on a shared dataset: every trial's state, seconds,
main parameters, the fidelities it reported and its value (issue 25's diagnosis, 2026-12-06).

    OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/dev/time_probe.py 537_houses 60 auto

The table is a seeded 75 % row subsample of the dataset (not the TIME benchmark's split), one
core, in-memory storage, lgbm unless a fourth argument names another family.
"""

from __future__ import annotations

import sys
import time

import optuna

import metahpo
from metahpo.datasets import load_dataset

SHOWN = ("n_estimators", "num_leaves", "learning_rate", "min_child_samples", "max_iter")


def main(argv: list[str]) -> None:
    name, seconds, fidelity = argv[0], float(argv[1]), argv[2]
    family = argv[3] if len(argv) > 3 else "lgbm"
    data = load_dataset(f"../shared/datasets/{name}")
    train = data.subsample(int(data.n_rows * 0.75), seed=0)
    storage = optuna.storages.InMemoryStorage()
    start = time.time()
    result = metahpo.tune(
        train, family, budget=None, timeout=seconds, storage=storage, fidelity=fidelity,
        study_name="probe",
    )  # fmt: skip
    print(
        f"wall {time.time() - start:.1f} s, best {result.best_value:.4f}, "
        f"complete {result.n_trials}, stopped early {result.n_pruned} {result.pruned_at}"
    )
    study = optuna.load_study(study_name="probe", storage=storage)
    for t in study.get_trials():
        took = (
            (t.datetime_complete - t.datetime_start).total_seconds()
            if t.datetime_complete and t.datetime_start
            else float("nan")
        )
        shown = {
            k: round(v, 3) if isinstance(v, float) else v for k, v in t.params.items() if k in SHOWN
        }
        value = "-" if t.value is None else f"{t.value:.4f}"
        print(t.number, t.state.name, f"{took:.1f} s", shown, sorted(t.intermediate_values), value)


if __name__ == "__main__":
    main(sys.argv[1:])
