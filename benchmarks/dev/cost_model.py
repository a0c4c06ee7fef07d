"""Development aid: how well the meta-learned cost model predicts what a configuration costs.

NOT a benchmark of record. For every family and task type of the bundled experience, grouped
5-fold cross-validation over datasets (a generator family, :func:`metahpo_bench.group_key`,
is never split between training and test) fits :class:`metahpo.metalearners.CostModel` on the
training datasets' timings and predicts the test datasets' ones. Reported per family and task:

* ``rho in`` — Spearman rank correlation of predicted and true cost of the configurations
  within one test dataset (median over datasets): what a low-cost start needs;
* ``spread`` — the true cost ratio of the dearest to the cheapest decile of configurations
  within a dataset (median): how much ordering by cost can matter at all;
* ``abs err log10`` — median absolute error of log10 seconds of a whole 3-fold evaluation;
* ``rho across`` — Spearman over test datasets of their mean predicted vs true log cost;
* low-cost start: the 10 warm starts (the configurations with the best mean normalised score
  on the training datasets); ``median/pick`` is the geometric mean over test datasets of the
  true cost of their median one over the true cost of the one the model predicts cheapest
  (``median/oracle`` the same for the truly cheapest); ``pick in 3`` the share of datasets
  where the predicted cheapest is among the 3 truly cheapest of the 10.

Alternatives (``--variants``) are scored with the same folds: ``loglin`` (least squares on
configuration, size, configuration x log rows), ``rf`` (a random forest on configuration and
size), ``hgb-raw`` (the shipped trees without the monotone row envelope).

    python benchmarks/dev/cost_model.py [--families hgb rf] [--variants] [--out FILE.md]
    python benchmarks/dev/cost_model.py --rows-check ../shared/datasets/adult  # minutes
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from metahpo_bench import group_key
from scipy.stats import spearmanr
from sklearn.ensemble import HistGradientBoostingRegressor, RandomForestRegressor
from sklearn.model_selection import GroupKFold

from metahpo.datasets import load_dataset
from metahpo.evaluation import BUILD_METRICS, DEFAULT_METRIC, evaluate
from metahpo.knowledge import load_bundled
from metahpo.metalearners import CostModel, CostTable, DataSize, cost_tables
from metahpo.spaces import get_space

FAMILIES = ("hgb", "rf", "svm", "linear", "knn", "mlp", "lgbm", "xgb")
WARM = 10
Predict = Callable[[CostTable, CostTable], np.ndarray]  # (train, test) -> log10 s per test row


def _size(t: CostTable) -> np.ndarray:
    k = t.folds
    return np.column_stack(
        [np.log(t.n_rows * (k - 1) / k), np.log(t.n_features), np.log1p(t.n_classes)]
    )


def shipped(train: CostTable, test: CostTable) -> np.ndarray:
    model = CostModel.fit(train)
    out = np.empty(len(test))
    for d in sorted(set(test.datasets)):
        m = np.array([x == d for x in test.datasets])
        i = int(np.flatnonzero(m)[0])
        size = DataSize(int(test.n_rows[i]), int(test.n_features[i]), int(test.n_classes[i]))
        out[m] = model.predict_log_seconds(test.X[m], test.task, size)
    return np.asarray(out / np.log(10))


def _sklearn(make: Callable[[int], Any], lin: bool = False) -> Predict:
    def feats(t: CostTable) -> np.ndarray:
        s = _size(t)
        parts = [t.X, s] + ([t.X * s[:, :1]] if lin else [])
        return np.hstack(parts)

    def predict(train: CostTable, test: CostTable) -> np.ndarray:
        y = np.log10(train.seconds)
        if lin:
            A = np.column_stack([np.ones(len(train)), feats(train)])
            coef, *_ = np.linalg.lstsq(A, y, rcond=None)
            return np.asarray(np.column_stack([np.ones(len(test)), feats(test)]) @ coef)
        F = feats(train)
        reg = make(F.shape[1]).fit(F, y)
        return np.asarray(reg.predict(feats(test)))

    return predict


VARIANTS: dict[str, Predict] = {
    "shipped": shipped,
    "loglin": _sklearn(lambda w: None, lin=True),
    "rf": _sklearn(
        lambda w: RandomForestRegressor(
            n_estimators=100, min_samples_leaf=3, max_features=0.5, random_state=0
        )
    ),
    "hgb-raw": _sklearn(
        lambda w: HistGradientBoostingRegressor(
            max_iter=300, learning_rate=0.1, min_samples_leaf=20, random_state=0
        )
    ),
    "hgb-mono": _sklearn(
        lambda w: HistGradientBoostingRegressor(
            max_iter=300,
            learning_rate=0.1,
            min_samples_leaf=20,
            random_state=0,
            monotonic_cst=[0] * (w - 3) + [1, 0, 0],
        )
    ),
}


def warm_starts(family: str, task: str, train_datasets: set[str]) -> np.ndarray:
    """Design indices of the ``WARM`` best configurations by mean normalised score."""
    exp = load_bundled().select(family=family, task=task, datasets=train_datasets)
    score = np.mean([t.normalized() for t in exp.tasks], axis=0)
    return np.argsort(-score, kind="stable")[:WARM]


def _dataset_scores(t: CostTable, pred: np.ndarray, warm: dict[str, np.ndarray]) -> dict[str, Any]:
    truth = np.log10(t.seconds)
    names = np.asarray(t.datasets)
    rho, spread, means, picks, oracle, in3 = [], [], [], [], [], []
    for d in sorted(set(t.datasets)):
        m = names == d
        if np.ptp(truth[m]) > 0:
            rho.append(spearmanr(pred[m], truth[m])[0])
        q = np.quantile(truth[m], [0.1, 0.9])
        spread.append(10 ** (q[1] - q[0]))
        means.append((pred[m].mean(), truth[m].mean()))
        w = m & np.isin(t.index, warm[d])
        if w.sum() >= 3:
            tw, pw = truth[w], pred[w]
            med = np.median(tw)
            picks.append(med - tw[np.argmin(pw)])
            oracle.append(med - tw.min())
            in3.append(tw[np.argmin(pw)] <= np.sort(tw)[2])
    mp = np.asarray(means)
    return {
        "datasets": len(means),
        "rho in": float(np.median(rho)),
        "spread": float(np.median(spread)),
        "abs err log10": float(np.median(np.abs(pred - truth))),
        "rho across": float(spearmanr(mp[:, 0], mp[:, 1])[0]),
        "median/pick": float(10 ** np.mean(picks)),
        "median/oracle": float(10 ** np.mean(oracle)),
        "pick in 3": float(np.mean(in3)),
    }


def run(family: str, task: str, table: CostTable, variants: list[str]) -> dict[str, Any]:
    groups = np.array([group_key(d) for d in table.datasets])
    preds = {v: np.empty(len(table)) for v in variants}
    warm: dict[str, np.ndarray] = {}
    seconds = dict.fromkeys(variants, 0.0)
    for tr, te in GroupKFold(5).split(table.X, groups=groups):
        train, test = table.subset(np.isin(np.arange(len(table)), tr)), None
        mask = np.zeros(len(table), dtype=bool)
        mask[te] = True
        test = table.subset(mask)
        w = warm_starts(family, task, set(train.datasets))
        warm.update(dict.fromkeys(test.datasets, w))
        for v in variants:
            start = time.process_time()
            preds[v][te] = VARIANTS[v](train, test)
            seconds[v] += time.process_time() - start
    return {v: _dataset_scores(table, preds[v], warm) | {"cpu s": seconds[v]} for v in variants}


COLUMNS = (
    "datasets",
    "rho in",
    "spread",
    "abs err log10",
    "rho across",
    "median/pick",
    "median/oracle",
    "pick in 3",
)


def _cell(key: str, v: float) -> str:
    if key == "datasets":
        return str(int(v))
    if key in ("spread", "median/pick", "median/oracle"):
        return f"{v:.2f}x"
    if key == "pick in 3":
        return f"{100 * v:.0f}%"
    return f"{v:.2f}"


def table_md(rows: list[tuple[str, str, str, dict[str, Any]]]) -> str:
    head = "| family | task | variant | " + " | ".join(COLUMNS) + " |"
    sep = "| --- | --- | --- | " + " | ".join("--:" for _ in COLUMNS) + " |"
    body = [
        f"| {f} | {t[:3]} | {v} | " + " | ".join(_cell(c, r[c]) for c in COLUMNS) + " |"
        for f, t, v, r in rows
    ]
    return "\n".join([head, sep, *body])


def rows_check(path: str, rows: tuple[int, int], limit: float) -> str:
    """Time each family's default configuration (3-fold, as the build does) on two seeded
    subsamples of a large dataset and compare the growth with the model's: a check of the
    row scaling beyond the bundle's 2,000-row cap."""
    ds = load_dataset(path)
    lines = [
        f"rows check on {ds.name} ({ds.task}, {ds.n_rows} rows, {ds.n_features} features), "
        f"default configuration, 3 folds, time limit {limit:g} s",
        "",
        f"| family | s at {rows[0]} | s at {rows[1]} | true ratio | predicted ratio "
        f"| true exponent | model exponent | predicted s at {rows[1]} |",
        "| --- | --: | --: | --: | --: | --: | --: | --: |",
    ]
    for fam in FAMILIES:
        model = CostModel.from_bundle(fam)
        cfg = [get_space(fam, ds.task).default_config()]
        got, pred = [], []
        for n in rows:
            sub = ds.subsample(n, seed=0)
            ev = evaluate(
                sub,
                fam,
                cfg[0],
                metric=DEFAULT_METRIC[ds.task],
                extra_metrics=BUILD_METRICS[ds.task],
                folds=3,
                seed=0,
                time_limit=limit,
            )
            got.append(ev.fit_time if ev.ok else float("nan"))
            pred.append(float(model.predict_seconds(cfg, ds.task, DataSize.of(sub))[0]))
        span = np.log(rows[1] / rows[0])
        true_r, pred_r = got[1] / got[0], pred[1] / pred[0]
        lines.append(
            f"| {fam} | {got[0]:.2f} | {got[1]:.2f} | {true_r:.1f} | {pred_r:.1f} | "
            f"{np.log(true_r) / span:.2f} | {np.log(pred_r) / span:.2f} | {pred[1]:.2f} |"
        )
        print(lines[-1], flush=True)
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--families", nargs="+", default=list(FAMILIES))
    ap.add_argument("--variants", action="store_true", help="also score the alternatives")
    ap.add_argument("--out", help="write the table (markdown) here")
    ap.add_argument("--rows-check", metavar="DATASET", help="time defaults on a large dataset")
    ap.add_argument("--rows", nargs=2, type=int, default=[2000, 16000])
    ap.add_argument("--limit", type=float, default=60.0, help="rows check: seconds per run")
    args = ap.parse_args()
    if args.rows_check:
        print(rows_check(args.rows_check, tuple(args.rows), args.limit))
        return
    variants = list(VARIANTS) if args.variants else ["shipped"]
    start = time.time()
    rows: list[tuple[str, str, str, dict[str, Any]]] = []
    notes: list[str] = []
    for fam in args.families:
        for task, table in sorted(cost_tables(fam).items()):
            for v, r in run(fam, task, table, variants).items():
                rows.append((fam, task, v, r))
            ex = CostModel.from_bundle(fam).describe()["tasks"][task]
            notes.append(
                f"| {fam} | {task[:3]} | {ex['max_train_rows']} | "
                f"{ex['local_rows_exponent']:.2f} | {ex['rows_exponent_beyond']:.2f} |"
            )
            print(table_md(rows[-len(variants) :]).splitlines()[-len(variants) :], flush=True)
    text = table_md(rows)
    text += "\n\n| family | task | max train rows | local rows exponent | exponent beyond |\n"
    text += "| --- | --- | --: | --: | --: |\n" + "\n".join(notes)
    text += f"\n\nwall {time.time() - start:.0f} s\n"
    print(text)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text)


if __name__ == "__main__":
    main()
