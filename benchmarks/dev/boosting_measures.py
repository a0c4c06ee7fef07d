"""The measures behind ``boosting_diagnosis.py`` (issue 26, item 2), per family and task type.

The bundled experience as one :class:`Group` per family and task type (tasks × distinct
configurations), and per task: the spread between configurations and the noise of the best
(sections 1, 2), the leave-group-out predictions of the nearest / all / random other tasks and
how similar the nearest are (3, 4), the box of past tasks' best configurations and the past
tasks chosen by the task's own first results (5, 6), and whether the best region moves with
the number of rows (5). ``boosting_report.py`` renders them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from metahpo_bench._live_protocol import group_key
from scipy.stats import rankdata

from metahpo.knowledge import Experience
from metahpo.metalearners import TaskSpace, normalized_scores, with_metafeatures
from metahpo.spaces import get_space

FAMILIES = ("hgb", "lgbm", "xgb", "rf", "svm", "mlp", "knn", "linear")
BOOSTING = ("hgb", "lgbm", "xgb")
TASKS = ("classification", "regression")
K = 10  # nearest tasks, as NearestTasks(n_tasks=10)
DRAWS = 20  # random draws per held-out task (k random tasks; m observed configurations)
OBSERVED = (5, 10)  # configurations evaluated before past tasks are chosen by agreement


@dataclass(frozen=True)
class Group:
    """One family and task type: tasks × distinct configurations."""

    family: str
    task: str
    datasets: list[str]
    groups: np.ndarray  # generator family of each task
    M: np.ndarray  # meta-features
    Y: np.ndarray  # raw scores (higher better, nan = failed)
    S: np.ndarray  # normalised scores (normalized_scores: 1 best, 0 at the 10th pct or worse)
    U: np.ndarray  # unit-cube coordinates of the configurations, (n_configs, dim)
    names: list[str]  # parameter names of U's columns
    n_rows: np.ndarray  # rows the task was evaluated on


def load_groups(exp: Experience) -> list[Group]:
    out = []
    for family in FAMILIES:
        for task in TASKS:
            own = with_metafeatures(exp.select(family=family, task=task))
            if not own.tasks:
                continue
            X = own.tasks[0].X
            assert all(np.array_equal(t.X, X) for t in own.tasks), "design differs"
            _, first = np.unique(np.round(X, 7), axis=0, return_index=True)
            keep = np.sort(first)  # distinct configurations, the default (row 0) first
            assert keep[0] == 0
            space = get_space(family, task)
            assert np.allclose(X[0], space.encode(space.default_config()))
            i_rows = own.metafeature_names.index("log_n_rows")
            out.append(
                Group(
                    family=family,
                    task=task,
                    datasets=[t.dataset for t in own.tasks],
                    groups=np.asarray([group_key(t.dataset) for t in own.tasks]),
                    M=own.metafeature_matrix(),
                    Y=np.vstack([t.gain()[keep] for t in own.tasks]),
                    S=np.vstack([normalized_scores(t)[keep] for t in own.tasks]),
                    U=space.units_of_encoded(X[keep]),
                    names=list(space.names),
                    n_rows=np.exp(own.metafeature_matrix()[:, i_rows]),
                )
            )
    return out


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 3:
        return float("nan")
    ra, rb = rankdata(a[ok]), rankdata(b[ok])
    if ra.std() == 0 or rb.std() == 0:
        return float("nan")
    return float(np.corrcoef(ra, rb)[0, 1])


# -- 1, 2: spread and noise --------------------------------------------------------------------


def noise_se(g: Group) -> np.ndarray:
    """A binomial-style standard error of each task's best score on ``n`` evaluated rows.

    Classification (balanced accuracy b): ``sqrt(b (1 - b) / n)``, exact for balanced classes
    and a lower bound otherwise. Regression (R²): ``(1 - R²) sqrt(2 / n)``, the standard error
    of a mean squared error with Gaussian residuals, relative to the variance. Both ignore the
    variance between CV splits and the winner's curse of a best of 129, so they understate the
    noise of the best; they are the scale at which two configurations cannot be told apart.
    """
    best = np.nanmax(g.Y, axis=1)
    if g.task == "classification":
        b = np.clip(best, 0.0, 1.0)
        return np.asarray(np.sqrt(b * (1 - b) / g.n_rows))
    return np.asarray((1 - np.clip(best, 0.0, 1.0)) * np.sqrt(2.0 / g.n_rows))


def spread_rows(g: Group) -> dict[str, np.ndarray]:
    Y = g.Y
    best, worst = np.nanmax(Y, axis=1), np.nanmin(Y, axis=1)
    med = np.nanmedian(Y, axis=1)
    d = Y[:, 0]
    fail = ~np.isfinite(Y)
    ok = np.isfinite(d)
    gap = np.where(ok, best - d, np.nan)
    se = noise_se(g)
    better = np.where(fail, False, d[:, None] + 1e-12 < Y).sum(1)
    return {
        "best-default": gap,
        "best-median": best - med,
        "default regret (norm.)": np.where(best > worst, gap / (best - worst), 0.0),
        "share better than default": np.where(ok, better / Y.shape[1], np.nan),
        "share within 0.005": (np.where(fail, -np.inf, Y) >= best[:, None] - 0.005).mean(1),
        "share within 0.01": (np.where(fail, -np.inf, Y) >= best[:, None] - 0.01).mean(1),
        "default within 0.005": np.where(ok, gap <= 0.005, np.nan),
        "default within 0.01": np.where(ok, gap <= 0.01, np.nan),
        "default within 1 SE": np.where(ok, gap <= se, np.nan),
        "default within 2 SE": np.where(ok, gap <= 2 * se, np.nan),
        "default is best": np.where(ok, gap <= 1e-12, np.nan),
        "SE": se,
        "top quarter width / SE": (best - np.nanpercentile(Y, 75, axis=1)) / se,
        "top 10 width / SE": (best - np.sort(np.where(fail, -np.inf, Y), axis=1)[:, -10]) / se,
    }


# -- 3, 4: leave-group-out prediction and similarity -------------------------------------------


def _weighted(S: np.ndarray, w: np.ndarray) -> np.ndarray:
    return np.asarray((w[:, None] * S).sum(0) / max(float(w.sum()), 1e-300))


def _scores(pred: np.ndarray, y: np.ndarray) -> tuple[float, ...]:
    """Spearman, top-quartile Spearman, top-1 regret, best-of-top-5 regret (raw units)."""
    best = np.nanmax(y)
    yf = np.where(np.isfinite(y), y, np.nanmin(y))
    top = np.isfinite(y) & (y >= np.nanpercentile(y, 75))
    order = np.argsort(-pred, kind="stable")
    return (
        spearman(pred, y),
        spearman(pred[top], y[top]),
        best - yf[order[0]],
        best - yf[order[:5]].max(),
    )


def _r2(pred: np.ndarray, s: np.ndarray) -> float:
    """Share of the task's within-task variance of normalised scores the prediction explains."""
    p, t = pred - pred.mean(), s - s.mean()
    beta = (p @ t) / max(float(p @ p), 1e-300)  # best linear rescaling, as a ranker would
    return 1.0 - float(((t - beta * p) ** 2).sum()) / max(float((t**2).sum()), 1e-300)


def predict_rows(g: Group, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Per held-out task: the predictors' scores, and how similar the nearest tasks are."""
    rows: dict[str, list[float]] = {}

    def put(key: str, value: float) -> None:
        rows.setdefault(key, []).append(value)

    for i in range(len(g.datasets)):
        pool = np.flatnonzero(g.groups != g.groups[i])
        space = TaskSpace.fit(g.M[pool])
        d = space.distances(g.M[i])
        near = np.argsort(d, kind="stable")[:K]
        preds = {
            "nearest": _weighted(g.S[pool[near]], space.weights(d)[near]),
            "global": g.S[pool].mean(0),
        }
        y, s = g.Y[i], g.S[i]
        for name, pred in preds.items():
            for key, v in zip(_KEYS, _scores(pred, y), strict=True):
                put(f"{name} {key}", v)
            put(f"{name} R2", _r2(pred, s))
        draws = [
            _scores(g.S[pool[rng.choice(len(pool), K, replace=False)]].mean(0), y)
            for _ in range(DRAWS)
        ]
        for key, v in zip(_KEYS, np.nanmean(np.asarray(draws), axis=0), strict=True):
            put(f"random {key}", float(v))
        put("default regret", float(np.nanmax(y) - y[0]) if np.isfinite(y[0]) else np.nan)
        yf = np.where(np.isfinite(y), y, np.nanmin(y))
        put("random config regret", float(yf.max() - yf.mean()))
        rho = np.asarray([spearman(g.Y[j], y) for j in pool])
        med_d = float(np.median(d))
        put("d1/median", float(d[near[0]]) / med_d)
        put("d5/median", float(d[near[:5]].mean()) / med_d)
        put("d1/typical", float(d[near[0]]) / space.typical)
        put("rho nearest", float(rho[near[0]]))
        put("rho 5 nearest", float(np.nanmean(rho[near[:5]])))
        put("rho random", float(np.nanmean(rho)))
        put("rho best other", float(np.nanmax(rho)))
        put("rank of nearest by rho", float((rho > rho[near[0]]).mean()))
        _box(g, i, pool, near, rng, put)
        _observed(g, i, pool, d, preds, rng, put)
    return {k: np.asarray(v, dtype=float) for k, v in rows.items()}


_KEYS = ("rho", "rho top25%", "top1 regret", "top5 regret")


def _box(
    g: Group,
    i: int,
    pool: np.ndarray,
    near: np.ndarray,
    rng: np.random.Generator,
    put: Callable[[str, float], None],
) -> None:
    """Perrone et al. (2019): the box spanned by past tasks' best configurations."""
    y = g.Y[i]
    best = np.nanmax(y)
    yf = np.where(np.isfinite(y), y, -np.inf)
    pick = rng.choice(pool, K, replace=False)
    for label, tasks in (("near", pool[near]), ("random", pick), ("all", pool)):
        tops = np.nanargmax(np.where(np.isfinite(g.Y[tasks]), g.Y[tasks], -np.inf), axis=1)
        lo, hi = g.U[tops].min(0), g.U[tops].max(0)
        inside = np.all((lo - 1e-9 <= g.U) & (hi + 1e-9 >= g.U), axis=1)
        put(f"box {label} share of design", float(inside.mean()))
        put(f"box {label} regret", float(best - yf[inside].max()))


def _row_spearman(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Spearman of every row of ``A`` with ``b`` (failures rank lowest; constant rows: nan)."""
    ra = rankdata(np.where(np.isfinite(A), A, -np.inf), axis=1)
    rb = rankdata(np.where(np.isfinite(b), b, -np.inf))
    ra, rb = ra - ra.mean(1, keepdims=True), rb - rb.mean()
    den = np.sqrt((ra**2).sum(1) * (rb**2).sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(np.where(den > 0, ra @ rb / den, np.nan))


def _observed(
    g: Group,
    i: int,
    pool: np.ndarray,
    d: np.ndarray,
    preds: dict[str, np.ndarray],
    rng: np.random.Generator,
    put: Callable[[str, float], None],
) -> None:
    """After ``m`` random evaluations of the task, pick the ``K`` past tasks whose scores on
    them agree best (Spearman; ties by meta-feature distance) and rank the rest by their mean;
    against the meta-feature neighbours and the global prior, on the same unevaluated rest."""
    y = g.Y[i]
    yf = np.where(np.isfinite(y), y, np.nanmin(y))
    best, n = yf.max(), len(y)
    for m in OBSERVED:
        acc: dict[str, list[tuple[float, float]]] = {}
        for _ in range(DRAWS):
            seen = rng.choice(n, m, replace=False)
            rest = np.setdiff1d(np.arange(n), seen)
            agree = np.nan_to_num(_row_spearman(g.Y[pool][:, seen], y[seen]), nan=-2.0)
            chosen = np.lexsort((d, -agree))[:K]
            own = {**preds, "observed": g.S[pool[chosen]].mean(0)}
            for name, pred in own.items():
                nxt = rest[np.argmax(pred[rest])]
                regret = best - max(yf[seen].max(), yf[nxt])
                acc.setdefault(name, []).append((spearman(pred[rest], y[rest]), regret))
            acc.setdefault("none", []).append((np.nan, best - yf[seen].max()))
        for name, vals in acc.items():
            rho, regret = np.nanmean(np.asarray(vals, dtype=float), axis=0)
            put(f"obs{m} {name} rho", float(rho))
            put(f"obs{m} {name} regret", float(regret))


# -- 5: does the best region move with the number of rows? -------------------------------------


def rows_dependence(g: Group) -> tuple[str, float]:
    """The parameter whose top-5 mean coordinate correlates most with log rows (Spearman)."""
    Yf = np.where(np.isfinite(g.Y), g.Y, -np.inf)
    top = np.argsort(-Yf, axis=1, kind="stable")[:, :5]
    loc = g.U[top].mean(1)  # (tasks, dim)
    rho = [spearman(loc[:, j], np.log(g.n_rows)) for j in range(loc.shape[1])]
    j = int(np.nanargmax(np.abs(rho)))
    return g.names[j], rho[j]


# -- pooled: boosting vs the other families ----------------------------------------------------


Row = tuple[str, dict[str, np.ndarray]]


def pooled(rows: list[tuple[Group, dict[str, np.ndarray]]]) -> list[Row]:
    """Per family and task type, then pooled: boosting vs the other families, per task type."""
    out: list[Row] = [(f"{g.family} {g.task[:3]}", r) for g, r in rows]
    for task in TASKS:
        for label, fams in (("boosting", BOOSTING), ("others", None)):
            sel = [
                r
                for g, r in rows
                if g.task == task and ((g.family in fams) if fams else g.family not in BOOSTING)
            ]
            out.append(
                (
                    f"**{label} {task[:3]}**",
                    {k: np.concatenate([r[k] for r in sel]) for k in sel[0]},
                )
            )
    return out
