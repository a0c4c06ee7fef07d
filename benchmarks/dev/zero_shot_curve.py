"""Development aid: the zero-shot first suggestion's trade curve, rules compared offline.

NOT a benchmark of record (that is ``benchmarks/zero_shot.py`` and ZERO_SHOT.md). Issue 26,
item 4: find a first-suggestion rule that moves the curve (mean gain against the tail of losses
to the library default), not a point on it.

``--collect`` runs the leave-generator-group-out of ``zero_shot.py`` once and keeps, for every
(dataset, family) task: the meta-learner's top-``K`` candidates as design indices (the bundle
evaluated the same 129-point design, the default at index 0, on every task), the distances and
similarity weights to every training task, the family's score matrix, meta-features and
encoded design. Rules that need only these (the shipped-before one included, which this
reproduces exactly) are then scored in seconds with ``--load``. The gain model (a calibrated
predicted gain over the default with a lower 10 % quantile: gradient-boosted trees on
meta-features and configuration, pooled over the family's training tasks) is refitted per fold
of 10 generator-group folds (``--gain-model``, minutes; ``--trees`` picks its size), a stricter
protocol than the record's leave-one-group-out.

    python benchmarks/dev/zero_shot_curve.py --collect /tmp/zs_curve.npz   # minutes
    python benchmarks/dev/zero_shot_curve.py --load /tmp/zs_curve.npz --gain-model --trees cheap

Results and the decision: ``benchmarks/dev/results/2026-12-06-zero-shot-curve.md``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from metahpo_bench._live_protocol import group_key
from sklearn.ensemble import HistGradientBoostingRegressor

from metahpo.knowledge import load_bundled
from metahpo.metalearners import get_strategy, with_metafeatures
from metahpo.spaces import get_space

FAMILIES = ("hgb", "knn", "lgbm", "linear", "mlp", "rf", "svm", "xgb")
TYPES = ("classification", "regression")
K = 30  # candidates collected per task
#: The gain model's trees: ``cheap`` (about 1 s a fit on a busy core, what a ``tune`` call
#: could afford) and ``full`` (about four times that).
TREES: dict[str, dict[str, Any]] = {
    "cheap": {"max_iter": 50, "learning_rate": 0.2, "max_bins": 63},
    "full": {"max_iter": 200, "learning_rate": 0.05, "max_bins": 255},
}
QUANTILE = 0.1
Task = dict[str, Any]
Rule = Callable[[Task], float]  # the chosen configuration's true gain over the default


def _design_row(X: np.ndarray, x: np.ndarray) -> int:
    hit = np.flatnonzero(np.abs(X - x[None, :]).max(axis=1) < 1e-7)
    return int(hit[0]) if len(hit) else -1


def collect(strategy: str, path: str, k: int = K) -> None:
    exp = load_bundled()
    arrays: dict[str, np.ndarray] = {}
    for family in FAMILIES:
        for tt in TYPES:
            own = with_metafeatures(exp.select(family=family, task=tt))
            space = get_space(family, tt)
            X = own.tasks[0].X
            assert all(np.array_equal(t.X, X) for t in own.tasks)
            assert _design_row(X, space.encode(space.default_config())) == 0
            n = len(own.tasks)
            groups = [group_key(t.dataset) for t in own.tasks]
            cands = np.full((n, k), -1, dtype=int)
            dist = np.full((n, n), np.inf)
            wts = np.zeros((n, n))
            for j, t in enumerate(own.tasks):
                keep = [i for i in range(n) if groups[i] != groups[j]]
                rest = replace(own, tasks=tuple(own.tasks[i] for i in keep))
                learner = get_strategy(strategy)().fit(rest)
                assert learner.task_space_ is not None
                mf = np.asarray(t.metafeatures, dtype=float)
                d = learner.task_space_.distances(mf)
                dist[j, keep] = d
                wts[j, keep] = learner.task_space_.weights(d)
                for c, s in enumerate(learner.suggest(mf, k=k, loss_aversion=None)):
                    cands[j, c] = _design_row(X, space.encode(space.transfer(s.params)[0]))
            key = f"{family}.{tt}"
            arrays[f"{key}.y"] = np.vstack([t.y for t in own.tasks])
            arrays[f"{key}.cands"] = cands
            arrays[f"{key}.dist"] = dist
            arrays[f"{key}.w"] = wts
            arrays[f"{key}.datasets"] = np.asarray([t.dataset for t in own.tasks])
            arrays[f"{key}.groups"] = np.asarray(groups)
            arrays[f"{key}.mf"] = own.metafeature_matrix()
            arrays[f"{key}.X"] = X
            print(key, n, flush=True)
    np.savez_compressed(path, **arrays)  # type: ignore[arg-type]


def load(path: str) -> list[Task]:
    """One record per task: true gains of every design configuration over the default
    (a failure -1), the candidates, and the paired gains on its training tasks by distance."""
    z = np.load(path)
    tasks: list[Task] = []
    for family in FAMILIES:
        for tt in TYPES:
            key = f"{family}.{tt}"
            Y = z[f"{key}.y"]
            D = np.clip(np.where(np.isfinite(Y), Y - Y[:, :1], -1.0), -1.0, 1.0)
            D[~np.isfinite(Y[:, 0])] = np.nan
            for j in range(len(Y)):
                train = np.flatnonzero(np.isfinite(z[f"{key}.dist"][j]))
                d = z[f"{key}.dist"][j, train]
                true = np.where(np.isfinite(Y[j]), Y[j] - Y[j, 0], -1.0)
                tasks.append(
                    {
                        "family": family,
                        "task": tt,
                        "dataset": str(z[f"{key}.datasets"][j]),
                        "true": np.maximum(true, -1.0),
                        "cands": z[f"{key}.cands"][j],
                        "order": train[np.argsort(d, kind="stable")],
                        "D": D,
                        "w": z[f"{key}.w"][j],
                        "dmin": float(d.min()),
                    }
                )
    return tasks


def evidence(t: Task, S: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Paired gains of the configurations ``S`` on the ``k`` nearest training tasks, weights."""
    o = t["order"][:k]
    d = t["D"][o][:, S]
    ok = np.isfinite(d[:, 0])
    w = t["w"][o][ok]
    return d[ok], w / max(float(w.sum()), 1e-300)


def prior(t: Task, S: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The family's unweighted mean gain and mean loss over all the training tasks."""
    d = t["D"][t["order"]][:, S]
    d = d[np.isfinite(d[:, 0])]
    return d.mean(axis=0), np.maximum(-d, 0.0).mean(axis=0)


Score = Callable[[Task, np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def choose(score: Score, m: int = 10, k: int = 25) -> Rule:
    """The shipped-before protocol: the learner's top-1 when it is the default or has no paired
    evidence; else among the top ``m`` (the default left out) the best ``score`` if above
    zero (``-inf`` rules a candidate out), else the default."""

    def rule(t: Task) -> float:
        c = t["cands"]
        if c[0] == 0:
            return float(t["true"][0])
        pool = c[:m] if m < 129 else np.arange(129)
        S = np.asarray([x for x in pool if x > 0])
        d, w = evidence(t, S, k)
        if len(w) < 2:
            return float(t["true"][S[0]])
        s = score(t, S, d, w)
        i = int(np.argmax(s))
        return float(t["true"][S[i]]) if s[i] > 0 else 0.0

    return rule


def utility(lam: float, shrink: float = 0.0) -> Score:
    """Weighted mean gain minus ``lam`` times the weighted mean loss; with ``shrink`` > 0 both
    shrunk to the family's prior by ``n_eff / (n_eff + shrink)``."""

    def f(t: Task, S: np.ndarray, d: np.ndarray, w: np.ndarray) -> np.ndarray:
        mean, loss = w @ d, w @ np.maximum(-d, 0.0)
        if shrink > 0:
            n_eff = 1.0 / float(np.sum(w**2))
            a = n_eff / (n_eff + shrink)
            gm, gl = prior(t, S)
            mean, loss = a * mean + (1 - a) * gm, a * loss + (1 - a) * gl
        return np.asarray(mean - lam * loss)

    return f


def win_rate(p: float) -> Score:
    """The weighted mean gain, among the candidates that lost > 0.01 on at most ``p`` of the
    neighbours' weight."""
    return lambda t, S, d, w: np.where(w @ (d < -0.01) <= p, w @ d, -np.inf)


def minimax(tol: float) -> Score:
    """The weighted mean gain, among the candidates that never lost more than ``tol``."""
    return lambda t, S, d, w: np.where(d.min(axis=0) >= -tol, w @ d, -np.inf)


def lower_bound(z: float) -> Score:
    """Mean minus ``z`` spreads across the neighbours (a predictive, not a mean's, bound)."""
    return lambda t, S, d, w: w @ d - z * np.sqrt(w @ (d - w @ d) ** 2)


def relative(lam: float) -> Score:
    """The utility on paired gains divided by each neighbour's 10-90 % design spread."""

    def f(t: Task, S: np.ndarray, d: np.ndarray, w: np.ndarray) -> np.ndarray:
        o = t["order"][: len(d)]
        full = t["D"][o]
        full = full[np.isfinite(full[:, 0])]
        spread = np.percentile(full, 90, axis=1) - np.percentile(full, 10, axis=1) + 1e-3
        r = d / spread[:, None]
        return np.asarray(w @ r - lam * (w @ np.maximum(-r, 0.0)))

    return f


def near_only(rule: Rule, ratio: float) -> Rule:
    """``rule`` where the nearest training task is within ``ratio`` times the median nearest
    distance of the family, else the default (is a far task a riskier bet?)."""

    def r(t: Task) -> float:
        return rule(t) if t["dmin"] <= ratio * t["dmin_median"] else 0.0

    return r


def with_gain_model(lam: float, low: float = 0.0, rank: str = "predicted") -> Score:
    """The utility's bets that the gain model calls safe (predicted lower quantile at least
    ``low``, predicted gain above zero), ranked by the ``"predicted"`` gain or the
    ``"utility"`` (the model a veto only)."""

    def f(t: Task, S: np.ndarray, d: np.ndarray, w: np.ndarray) -> np.ndarray:
        u = w @ d - lam * (w @ np.maximum(-d, 0.0))
        ok = (u > 0) & (t["pred_low"][S] >= low) & (t["pred"][S] > 0)
        return np.where(ok, t["pred"][S] if rank == "predicted" else u, -np.inf)

    return f


def _trees(trees: str, **kw: Any) -> HistGradientBoostingRegressor:
    return HistGradientBoostingRegressor(
        min_samples_leaf=40, early_stopping=False, random_state=0, **TREES[trees], **kw
    )


def predict_gains(path: str, tasks: list[Task], trees: str, folds: int = 10) -> None:
    """Adds ``pred`` and ``pred_low`` (every design configuration) to each task: the gain
    model fitted on the other folds of generator groups (kept in ``<path>.<trees>.npz``).

    Its rows: (task meta-features, encoded configuration) -> the paired gain over the default
    on that task, clipped to [-1, 1], a failure -1."""
    cached = Path(f"{path}.{trees}.npz")
    if cached.exists():
        with np.load(cached) as c:
            for t, pm, pl in zip(tasks, c["pred"], c["pred_low"], strict=True):
                t["pred"], t["pred_low"] = pm, pl
        return
    z = np.load(path)
    i = 0
    for family in FAMILIES:
        for tt in TYPES:
            key = f"{family}.{tt}"
            Y, M, X = z[f"{key}.y"], z[f"{key}.mf"], z[f"{key}.X"]
            n = len(Y)
            D = np.clip(np.where(np.isfinite(Y), Y - Y[:, :1], -1.0), -1.0, 1.0)
            rows = np.hstack([np.repeat(M, len(X), axis=0), np.tile(X, (n, 1))])
            task_of = np.repeat(np.arange(n), len(X))
            groups = sorted(set(z[f"{key}.groups"].tolist()))
            fold = np.asarray([groups.index(g) % folds for g in z[f"{key}.groups"]])
            for f in range(folds):
                train = np.isin(task_of, np.flatnonzero(fold != f))
                mean = _trees(trees).fit(rows[train], D.ravel()[train])
                low = _trees(trees, loss="quantile", quantile=QUANTILE)
                low.fit(rows[train], D.ravel()[train])
                for j in np.flatnonzero(fold == f):
                    x = rows[task_of == j]
                    tasks[i + j]["pred"], tasks[i + j]["pred_low"] = mean.predict(x), low.predict(x)
            i += n
    pred = np.vstack([t["pred"] for t in tasks])
    np.savez(cached, pred=pred, pred_low=np.vstack([t["pred_low"] for t in tasks]))


def stats(tasks: list[Task], gains: np.ndarray, tt: str) -> tuple[float, float, float, float]:
    m = np.asarray([t["task"] == tt for t in tasks])
    g = gains[m]
    return float(g.mean()), float(np.mean(g < -0.01)), float(np.mean(g < -0.02)), float(g.min())


def table(tasks: list[Task], rules: dict[str, Rule], frontier: dict[str, Rule]) -> str:
    """Per rule and task type: mean gain, shares losing > 0.01 and > 0.02, worst, and the mean
    gain beyond the ``frontier`` rules' best at the same or a smaller share losing > 0.01."""
    ref = {n: np.asarray([r(t) for t in tasks]) for n, r in frontier.items()}
    lines = [
        "| rule | cls mean | >0.01 | >0.02 | worst | vs curve "
        "| reg mean | >0.01 | >0.02 | worst | vs curve |",
        "| --- |" + " --: |" * 10,
    ]
    for name, rule in rules.items():
        g = np.asarray([rule(t) for t in tasks])
        cells = [name]
        for tt in TYPES:
            mean, s1, s2, worst = stats(tasks, g, tt)
            best = max(
                [stats(tasks, r, tt)[0] for r in ref.values() if stats(tasks, r, tt)[1] <= s1]
                or [0.0]
            )
            cells += [
                f"{mean:+.4f}",
                f"{s1:.1%}",
                f"{s2:.1%}",
                f"{worst:+.3f}",
                f"{mean - best:+.4f}",
            ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def per_family(tasks: list[Task], rules: dict[str, Rule]) -> str:
    lines = ["| family / task | " + " | ".join(rules) + " |", "| --- |" + " --: |" * len(rules)]
    gains = {n: np.asarray([r(t) for t in tasks]) for n, r in rules.items()}
    for family in FAMILIES:
        for tt in TYPES:
            m = np.asarray([t["family"] == family and t["task"] == tt for t in tasks])
            cells = [
                f"{g[m].mean():+.4f} / {int(np.sum(g[m] < -0.01))} / {g[m].min():+.3f}"
                for g in gains.values()
            ]
            lines.append(f"| {family} / {tt} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def rules_of_record(model: bool) -> tuple[dict[str, Rule], dict[str, Rule]]:
    curve = {
        f"evidence alone, aversion {lam:g}": choose(utility(lam))
        for lam in (0, 1, 3, 5, 7, 10, 15, 20, 30, 60, 100)
    }
    rules: dict[str, Rule] = dict(curve)
    for sh in (2.0, 5.0):
        for lam in (7.0, 10.0, 15.0):
            rules[f"shrunk to the family's prior ({sh:g}), aversion {lam:g}"] = choose(
                utility(lam, sh)
            )
    for p in (0.02, 0.05, 0.1):
        rules[f"win rate: loses > 0.01 on <= {p:.0%}"] = choose(win_rate(p))
    for k in (5, 8):
        rules[f"minimax on the {k} nearest, tol 0.005"] = choose(minimax(0.005), k=k)
    for z in (1.0, 2.0):
        rules[f"mean - {z:g} spreads, 10 nearest"] = choose(lower_bound(z), k=10)
    for lam in (10.0, 30.0):
        rules[f"relative gains, aversion {lam:g}"] = choose(relative(lam))
        rules[f"all 129 design configurations, aversion {lam:g}"] = choose(utility(lam), m=129)
    for ratio in (1.0, 1.5):
        rules[f"aversion 10, only within {ratio:g} x median nearest distance"] = near_only(
            choose(utility(10.0)), ratio
        )
    if model:
        for lam in (0.0, 1.0, 3.0, 5.0, 10.0):
            for low in (-0.005, 0.0, 0.005):
                rules[f"gain model (low >= {low:+.3f}), aversion {lam:g}"] = choose(
                    with_gain_model(lam, low)
                )
            rules[f"gain model a veto only, aversion {lam:g}"] = choose(
                with_gain_model(lam, 0.0, "utility")
            )
    return rules, curve


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--collect", default=None)
    ap.add_argument("--load", default=None)
    ap.add_argument("--strategy", default="portfolio")
    ap.add_argument("--gain-model", action="store_true", help="also the gain model (minutes)")
    ap.add_argument("--trees", choices=sorted(TREES), default="cheap")
    args = ap.parse_args()
    if args.collect:
        collect(args.strategy, args.collect)
        return
    tasks = load(args.load)
    for family in FAMILIES:
        for tt in TYPES:
            own = [t for t in tasks if t["family"] == family and t["task"] == tt]
            med = float(np.median([t["dmin"] for t in own]))
            for t in own:
                t["dmin_median"] = med
    if args.gain_model:
        predict_gains(args.load, tasks, args.trees)
    rules, curve = rules_of_record(args.gain_model)
    print(table(tasks, rules, curve))
    print()
    shown = {"evidence alone, aversion 10": rules["evidence alone, aversion 10"]}
    if args.gain_model:
        shown["gain model, aversion 3"] = rules["gain model (low >= +0.000), aversion 3"]
        shown["gain model a veto only, aversion 3"] = rules["gain model a veto only, aversion 3"]
        shown["gain model a veto only, aversion 10"] = rules["gain model a veto only, aversion 10"]
    print("Per family: mean gain / tasks losing > 0.01 / worst\n")
    print(per_family(tasks, shown))


if __name__ == "__main__":
    main()
