"""Leave-one-dataset-out check of zero-shot suggestions on the bundled experience.

For every model family and task type, each bundled dataset in turn is held out: every strategy
is fitted on the other datasets and its first suggestion for the held-out dataset is scored by
its normalised regret there,

    regret = (best - score) / (best - p10), clipped to [0, 1],

where ``best`` and ``p10`` are the best and the 10th-percentile score of the shared design on
that dataset (0 = as good as the best design configuration, 1 = no better than the 10th
percentile). Baselines: the library default (design index 0), a random design configuration
(its expected regret: the mean over the design) and the single configuration that is best on
average over the training datasets (``static``: a portfolio of one, not conditioned on
meta-features).

A suggestion that is not a design configuration (the surrogate's extra candidates, the
mapping's decoded output) has no stored score: with ``--datasets`` it is evaluated exactly like
the build evaluated the design (same subsample, folds, seed and metric); without, it is scored
as its nearest design configuration (and counted in the ``snapped`` column).

Datasets whose meta-features the bundle does not hold yet (``kb build --no-metafeatures``) get
them computed from ``--datasets`` on the build's subsample; without that folder they are left
out.

Run:
    python benchmarks/zero_shot_check.py --datasets ../shared/datasets
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from metahpo.datasets import load_dataset
from metahpo.evaluation import evaluate, make_folds
from metahpo.knowledge import DEFAULT_BUNDLE, Bundle, Experience, TaskExperience, load_bundled
from metahpo.metafeatures import compute_metafeatures
from metahpo.metalearners import (
    STRATEGIES,
    GreedyPortfolio,
    MetaLearner,
    metafeature_array,
    with_metafeatures,
)


def regret(task: TaskExperience, score: float) -> float:
    g = task.gain()
    ok = np.isfinite(g)
    best, p10 = float(g[ok].max()), float(np.percentile(g[ok], 10))
    s = score if task.direction == "maximize" else -score
    if not np.isfinite(s):
        return 1.0
    if best <= p10:
        return 0.0
    return float(np.clip((best - s) / (best - p10), 0.0, 1.0))


def fill_metafeatures(
    experience: Experience, datasets: Path | None, max_rows: int, seed: int
) -> tuple[Experience, list[str]]:
    """Compute missing meta-features (all-zero vectors) on the build's subsample."""
    computed: dict[str, np.ndarray] = {}
    tasks = []
    for t in experience.tasks:
        if np.any(t.metafeatures != 0):
            tasks.append(t)
            continue
        if datasets is None or not (datasets / t.dataset).exists():
            continue
        if t.dataset not in computed:
            ds = load_dataset(datasets / t.dataset).subsample(max_rows, seed=seed)
            values = compute_metafeatures(ds, seed=seed)
            computed[t.dataset] = metafeature_array(values, experience.metafeature_names)
        tasks.append(replace(t, metafeatures=computed[t.dataset]))
    return replace(experience, tasks=tuple(tasks)), sorted(computed)


class Scorer:
    """Scores of configurations on a held-out task: the design's, or a fresh evaluation."""

    def __init__(self, datasets: Path | None, max_rows: int, folds: int, seed: int) -> None:
        self.datasets = datasets
        self.max_rows, self.folds, self.seed = max_rows, folds, seed
        self.evaluated = 0
        self.snapped = 0

    def score(self, task: TaskExperience, learner: MetaLearner, params: dict) -> float:
        assert learner.space_ is not None
        x = learner.space_.encode(params)
        gap = np.abs(task.X - x).max(axis=1)
        j = int(np.argmin(gap))
        if gap[j] < 1e-6:
            return float(task.y[j])
        if self.datasets is None:
            self.snapped += 1
            return float(task.y[int(np.argmin(((task.X - x) ** 2).sum(1)))])
        ds = load_dataset(self.datasets / task.dataset).subsample(self.max_rows, seed=self.seed)
        ev = evaluate(
            ds,
            task.family,
            params,
            metric=task.metric,
            folds=make_folds(ds, self.folds, self.seed),
            seed=self.seed,
        )
        self.evaluated += 1
        return float(ev.value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", default=str(DEFAULT_BUNDLE), help="bundle folder")
    parser.add_argument("--datasets", default=None, help="dataset folders (for evaluations)")
    parser.add_argument("--strategies", nargs="*", default=list(STRATEGIES))
    parser.add_argument("--families", nargs="*", default=None)
    parser.add_argument("--min-train", type=int, default=3, help="training datasets needed")
    parser.add_argument(
        "--snap", action="store_true", help="never evaluate: score off-design configs as snapped"
    )
    args = parser.parse_args()

    start = time.perf_counter()
    bundle = Bundle(args.bundle)
    settings = bundle.manifest()["settings"]
    datasets = Path(args.datasets) if args.datasets else None
    bundled = load_bundled(args.bundle)
    experience, filled = fill_metafeatures(
        bundled, datasets, settings["max_rows"], settings["seed"]
    )
    dropped = len(bundled) - len(with_metafeatures(experience))
    scorer = Scorer(
        None if args.snap else datasets, settings["max_rows"], settings["folds"], settings["seed"]
    )
    names = ["default", "random", "static", *args.strategies]
    rows: dict[str, list[float]] = {n: [] for n in names}
    per_family: dict[tuple[str, str], list[float]] = {}
    groups = 0
    for family in args.families or experience.families:
        for task_type in ("classification", "regression"):
            own = with_metafeatures(experience.select(family=family, task=task_type))
            if len(own) < args.min_train + 1:
                continue
            groups += 1
            for held in own.tasks:
                train = own.select(exclude=[held.dataset])
                rows["default"].append(regret(held, float(held.y[0])))
                rows["random"].append(float(np.mean([regret(held, v) for v in held.y[1:]])))
                static = GreedyPortfolio(n_tasks=None).fit(train)
                first = static.suggest(held.metafeatures, k=1)[0].params
                rows["static"].append(regret(held, scorer.score(held, static, first)))
                for name in args.strategies:
                    learner = STRATEGIES[name]().fit(train)
                    first = learner.suggest(held.metafeatures, k=1)[0].params
                    r = regret(held, scorer.score(held, learner, first))
                    rows[name].append(r)
                    per_family.setdefault((name, family), []).append(r)
    print(
        f"bundle {args.bundle}: {len(experience.datasets)} datasets, {groups} family/task groups, "
        f"{len(rows['default'])} held-out tasks; meta-features computed here for {len(filled)} "
        f"datasets, {dropped} tasks left out for lack of them"
    )
    print(
        f"off-design suggestions evaluated: {scorer.evaluated}, snapped to the design: "
        f"{scorer.snapped}; {time.perf_counter() - start:.0f} s\n"
    )
    _print_tables(rows, per_family, names, args.strategies)


def _print_tables(
    rows: dict[str, list[float]],
    per_family: dict[tuple[str, str], list[float]],
    names: list[str],
    strategies: list[str],
) -> None:
    """Each strategy's regret against the default and a random configuration, then the
    strategies' mean regret per family."""
    n = len(rows["default"])
    default = np.asarray(rows["default"])
    rand = np.asarray(rows["random"])
    header = (
        f"{'strategy':<10} {'mean regret':>11} {'median':>7} {'vs default':>11} "
        f"{'win/tie/loss vs default':>24} {'vs random':>10} {'win vs random':>14}"
    )
    print(header)
    print("-" * len(header))
    for name in names:
        r = np.asarray(rows[name])
        if len(r) == 0:
            continue
        win = int(np.sum(r < default - 1e-9))
        loss = int(np.sum(r > default + 1e-9))
        delta = r.mean() - default.mean()
        print(
            f"{name:<10} {r.mean():>11.3f} {np.median(r):>7.3f} {delta:>+11.3f} "
            f"{f'{win}/{n - win - loss}/{loss}':>24} {r.mean() - rand.mean():>+10.3f} "
            f"{np.mean(r < rand):>14.2f}"
        )
    print("\nmean regret per family (strategies):")
    families = sorted({f for _, f in per_family})
    print(f"{'strategy':<10} " + " ".join(f"{f:>7}" for f in families))
    for name in strategies:
        cells = [np.mean(per_family.get((name, f), [np.nan])) for f in families]
        print(f"{name:<10} " + " ".join(f"{c:>7.3f}" for c in cells))


if __name__ == "__main__":
    main()
