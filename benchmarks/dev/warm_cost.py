"""What `tune --timeout` would evaluate first on each TIME grid cell, and what it costs.

For every dataset of the TIME grid and family: the run's training split, the experience
without the dataset's generator family (as the grid holds it out), the meta-learner's warm
starts in order with their predicted score and the cost model's predicted seconds of one
full-fidelity evaluation under tune's validation rule at T (k-fold CV or the holdout split).

    OMP_NUM_THREADS=1 PYTHONPATH=src:benchmarks python benchmarks/dev/warm_cost.py 60 > out.txt

Issue 25's diagnosis (2026-12-07): how often the first full-fidelity trial is a large share of
T, and whether a cheaper credible warm start was on the list.
"""

from __future__ import annotations

import sys

import numpy as np
from metahpo_bench._live import _experience, _without_group
from metahpo_bench._time import grid_datasets
from metahpo_bench._time_protocol import rows_of, split_rows, split_seed
from metahpo_bench._time_runner import load_full

from metahpo.metafeatures import compute_metafeatures
from metahpo.metalearners import CostModel, DataSize
from metahpo.optimizers import make_meta_sampler, time_cost
from metahpo.spaces import get_space

FOLDER = "../shared/datasets"
#: tune's validation rule (metahpo.tuning._fidelity): a holdout split of this share from
#: 100,000 rows or above 2,500 cells (rows x columns) per second of the timeout.
HOLDOUT_FRACTION = 0.2


def validation_folds(rows: int, columns: int, timeout: float) -> int:
    """1 (the holdout split) or 5 (CV), as tune decides for a new study."""
    return 1 if rows >= 100_000 or rows * columns > 2_500 * timeout else 5


SHOWN = ("n_estimators", "num_leaves", "learning_rate", "max_iter", "max_leaf_nodes")


def seconds(model: CostModel, configs: list[dict], task: str, size: DataSize, folds: int) -> list:
    """Predicted seconds of one full-fidelity evaluation of each configuration."""
    if folds == 1:
        rows = size.n_rows * (1 - HOLDOUT_FRACTION)
        log = model.fold_log_seconds(configs, task, rows, size.n_features, size.n_classes)
    else:
        log = model.predict_log_seconds(configs, task, size, folds=folds)
    return [float(s) for s in np.exp(log)]


def main(argv: list[str]) -> None:
    budget = float(argv[0]) if argv else 60.0
    experience = _experience(None)
    for name in grid_datasets(FOLDER):
        full = load_full(FOLDER, name)
        train = rows_of(full, split_rows(full, split_seed(0, name))[0])
        mf = compute_metafeatures(train, seed=0)
        own = _without_group(experience, train.name)
        names = own.metafeature_names
        vector = np.asarray([mf.get(k, 0.0) for k in names], dtype=float)
        folds = validation_folds(*train.X.shape, budget)
        size = DataSize.of(train)
        for family in ("lgbm", "hgb"):
            plan = make_meta_sampler(vector, family, train.task, experience=own)
            warm = list(plan.sampler.warm_start)
            n = train.n_rows
            fits, rows = (
                (1, n * (1 - HOLDOUT_FRACTION)) if folds == 1 else (folds, n * (folds - 1) / folds)
            )
            priced = time_cost(train, family, budget, evaluation=(fits, rows))
            timed = make_meta_sampler(vector, family, train.task, experience=own, cost=priced)
            first = timed.sampler.warm_start[0]
            if first != warm[0]:
                [s] = seconds(CostModel.from_bundle(family, task=train.task), [first], train.task,
                              DataSize.of(train), folds)  # fmt: skip
                print(f"{name} {family}: low-cost start {s:.1f} s {first}")
            model = CostModel.from_bundle(family, task=train.task)
            cost = seconds(model, warm, train.task, size, folds)
            default = get_space(family, train.task).default_config()
            print(f"{name} {family} rows={train.n_rows} folds={folds} conf={plan.confidence:.2f}")
            for c, s in zip(warm, cost, strict=True):
                tag = "default" if c == default else "       "
                shown = {k: round(v, 3) if isinstance(v, float) else v for k, v in c.items()
                         if k in SHOWN}  # fmt: skip
                print(f"   {tag} {s:8.1f} s {100 * s / budget:6.1f} % of T  {shown}")
            sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1:])
