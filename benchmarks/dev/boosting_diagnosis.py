"""Development aid: why the boosting families gain little from experience (issue 26, item 2).

NOT a benchmark of record. Reads the bundled experience only (every task holds the same 129
configurations: row 0 the library default, then a shared Sobol design; 3-fold CV on at most
2,000 rows, one CV mean per configuration, no fold-level scores) and measures per family and
task type, with medians and quartiles:

1. the spread between configurations on a task, and where the library default sits in it;
2. how often the default is within noise of the task's best;
3. how much of a task's configuration ranking the meta-features explain, leave-group-out: the
   similarity-weighted mean of the ``K`` nearest tasks' normalised scores (``TaskSpace``
   distances and weights, as ``NearestTasks`` predicts) against the plain mean over all other
   tasks (a global prior, no meta-features) and ``K`` random tasks;
4. how similar the nearest tasks really are (distances, and rank agreement of their scores);
5. what a search region learned from past tasks' best configurations (a box, Perrone et al.
   2019) covers, and whether the best region moves with the number of rows.

"Other tasks" never share the held-out task's generator family (``group_key``, as the live
benchmark). The datasets the live benchmark holds out (``benchmarks/live/summary.json``,
``excluded_from_experience``) are left out entirely unless ``--keep-holdout``.

    python benchmarks/dev/boosting_diagnosis.py \
        --md benchmarks/dev/results/2026-12-06-boosting-diagnosis.md     # about a minute
"""

from __future__ import annotations

import argparse
import json
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from metahpo_bench._live_protocol import group_key
from scipy.stats import rankdata

from metahpo.knowledge import Experience, load_bundled
from metahpo.metalearners import TaskSpace, normalized_scores, with_metafeatures
from metahpo.spaces import get_space

FAMILIES = ("hgb", "lgbm", "xgb", "rf", "svm", "mlp", "knn", "linear")
BOOSTING = ("hgb", "lgbm", "xgb")
TASKS = ("classification", "regression")
K = 10  # nearest tasks, as NearestTasks(n_tasks=10)
DRAWS = 20  # random draws per held-out task (k random tasks; m observed configurations)
OBSERVED = (5, 10)  # configurations evaluated before past tasks are chosen by agreement
SUMMARY = Path(__file__).resolve().parents[1] / "live" / "summary.json"


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


# -- report ------------------------------------------------------------------------------------


def q(v: np.ndarray, fmt: str = "{:.3f}") -> str:
    v = v[np.isfinite(v)]
    if not len(v):
        return "–"
    a, m, b = np.percentile(v, [25, 50, 75])
    return f"{fmt.format(m)} [{fmt.format(a)}, {fmt.format(b)}]"


def pct(v: np.ndarray) -> str:
    v = v[np.isfinite(v)]
    return f"{100 * v.mean():.0f} %" if len(v) else "–"


def mean(v: np.ndarray, fmt: str = "{:.3f}") -> str:
    v = v[np.isfinite(v)]
    return fmt.format(v.mean()) if len(v) else "–"


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


def table(
    head: Sequence[str], rows: list[Row], cells: Callable[[dict[str, np.ndarray]], list[str]]
) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" + " --: |" * (len(head) - 1)]
    for name, r in rows:
        lines.append("| " + " | ".join([name, *cells(r)]) + " |")
    return "\n".join(lines)


def _paired(r: dict[str, np.ndarray], a: str, b: str) -> np.ndarray:
    return r[a] - r[b]


def _better(r: dict[str, np.ndarray], tol: float = 0.005) -> str:
    g = _gain(r)
    return f"{100 * np.mean(g > tol):.0f} / {100 * np.mean(g < -tol):.0f} %"


def _med(r: dict[str, np.ndarray], key: str) -> float:
    return float(np.nanmedian(r[key]))


def _avg(r: dict[str, np.ndarray], key: str) -> float:
    return float(np.nanmean(r[key]))


def diagnosis(sp: list[Row], pr: list[Row], groups: list[Group]) -> str:
    """The short reading of the tables; every number is taken from them."""
    S, P = dict(sp), dict(pr)
    bc, br = S["**boosting cla**"], S["**boosting reg**"]
    oc, orr = S["**others cla**"], S["**others reg**"]
    pbc, pbr, poc = P["**boosting cla**"], P["**boosting reg**"], P["**others cla**"]
    ratio = _avg(pbc, "nearest top1 regret") / _avg(pbc, "random config regret")
    ratio_o = _avg(poc, "nearest top1 regret") / _avg(poc, "random config regret")
    lift_c = _med({"d": pbc["nearest rho"] - pbc["global rho"]}, "d")
    lift_r = _med({"d": pbr["nearest rho"] - pbr["global rho"]}, "d")
    within = 100 * float(np.nanmean(bc["default within 2 SE"]))
    within_o = 100 * float(np.nanmean(oc["default within 2 SE"]))
    within_r = 100 * float(np.nanmean(br["default within 2 SE"]))
    within_ro = 100 * float(np.nanmean(orr["default within 2 SE"]))
    rows_rho = [abs(rows_dependence(g)[1]) for g in groups if g.family in BOOSTING]
    rows = [
        "## Diagnosis and levers",
        "",
        f"- **Neither a flatter problem nor a better default.** On boosting the best is "
        f"{_med(bc, 'best-median'):.3f} (classification) / {_med(br, 'best-median'):.3f} "
        f"(regression) above the median configuration, as on the other families "
        f"({_med(oc, 'best-median'):.3f} / {_med(orr, 'best-median'):.3f}; only svm is far "
        f"steeper). The default is {_med(bc, 'best-default'):.3f} / "
        f"{_med(br, 'best-default'):.3f} below the best (others {_med(oc, 'best-default'):.3f} "
        f"/ {_med(orr, 'best-default'):.3f}) and within 2 SE of it on {within:.0f} % of "
        f"boosting classification tasks (others {within_o:.0f} %), {within_r:.0f} % of "
        f"regression tasks (others {within_ro:.0f} %): a fair default, not a solved problem.",
        f"- **The experience finds the good region as well as elsewhere.** The nearest tasks' "
        f"top-1 has {ratio:.2f} × a random configuration's regret on boosting classification "
        f"(others {ratio_o:.2f}); their top 5 get within {_med(pbc, 'nearest top5 regret'):.3f}"
        f" (median), about one SE of the best ({_med(bc, 'SE'):.3f}).",
        f"- **What is left is flat and no past task orders it.** A boosting task's 10 best "
        f"configurations lie within {_med(bc, 'top 10 width / SE'):.1f} SE "
        f"(classification) / {_med(br, 'top 10 width / SE'):.1f} SE (regression) of its best. "
        f"Within its best quarter the priors barely order it: ρ "
        f"{_med(pbc, 'nearest rho top25%'):.2f} nearest, {_med(pbc, 'global rho top25%'):.2f} "
        f"global (classification; {_med(pbr, 'nearest rho top25%'):.2f} / "
        f"{_med(pbr, 'global rho top25%'):.2f} regression). Choosing past tasks by the task's "
        f"own 10 first results raises the overall ρ ({_med(pbc, 'obs10 nearest rho'):.2f} → "
        f"{_med(pbc, 'obs10 observed rho'):.2f}) but not the next pick "
        f"({_avg(pbc, 'obs10 nearest regret'):.3f} → {_avg(pbc, 'obs10 observed regret'):.3f}"
        " mean regret). Reading: once a prior has delivered the good region, only the study's "
        "own model can still gain, consistent with GPSampler catching up at 20 to 30 trials "
        "in the live grid.",
        f"- **Meta-features explain the bulk, not the top.** They add ρ {lift_c:+.2f} / "
        f"{lift_r:+.2f} over the global prior on boosting (more than on the others), yet their "
        f"top-1 is no better than the global prior's ({_avg(pbc, 'nearest top1 regret'):.3f} vs "
        f"{_avg(pbc, 'global top1 regret'):.3f} mean). The nearest task agrees ρ "
        f"{_med(pbc, 'rho nearest'):.2f} against {_med(pbc, 'rho random'):.2f} for a random one,"
        f" but the best-agreeing past task reaches {_med(pbc, 'rho best other'):.2f}, and "
        f"{100 * _med(pbc, 'rank of nearest by rho'):.0f} % of past tasks (median) agree "
        "better than the nearest one.",
        f"- **A box works, from any 10 tasks.** The box of the 10 nearest tasks' bests keeps "
        f"{_med(pbc, 'box near share of design'):.2f} of the space at a regret of "
        f"{_med(pbc, 'box near regret'):.3f} median / {_avg(pbc, 'box near regret'):.3f} mean;"
        f" 10 random tasks do as well ({_med(pbc, 'box random share of design'):.2f}, "
        f"{_avg(pbc, 'box random regret'):.3f}); all tasks' box is "
        f"{_med(pbc, 'box all share of design'):.2f} of the space. The best region moves "
        f"with the row count only modestly (|ρ| {min(rows_rho):.2f} to {max(rows_rho):.2f} "
        "over the boosting families and task types, section 5).",
        "",
        "Levers, in this order: (1) a search region learned from the family's best "
        "configurations (a box of a few tasks' bests, not of all) with the study's own GP "
        "inside it and a share of global proposals, handing over after a short warm start "
        "of configurations that cover the good region; (2) a first suggestion decided per "
        "task type: on boosting regression the nearest top-1 beats the default by more than "
        f"0.005 on {100 * np.mean(_gain(pbr) > 0.005):.0f} % of tasks and loses on "
        f"{100 * np.mean(_gain(pbr) < -0.005):.0f} %, on classification "
        f"{100 * np.mean(_gain(pbc) > 0.005):.0f} % / {100 * np.mean(_gain(pbc) < -0.005):.0f} "
        "%; (3) not better meta-features or neighbours for the later trials: past tasks "
        "chosen by the run's own results rank better but pick no better, so a negative-"
        f"transfer guard is a safety net, not a source of gain. The mean regret left after 10 "
        f"trials and one pick, {_avg(pbc, 'obs10 observed regret'):.3f} on boosting "
        f"classification, is {_avg(pbc, 'obs10 observed regret') / _med(bc, 'SE'):.1f} × the "
        "median SE of a single score: the @30 targets there can only be told from noise over "
        "many datasets and seeds.",
    ]
    return "\n".join(rows)


def _gain(r: dict[str, np.ndarray]) -> np.ndarray:
    diff = r["default regret"] - r["nearest top1 regret"]
    return np.asarray(diff[np.isfinite(diff)])


def report(exp: Experience, groups: list[Group], seed: int, note: str) -> str:
    rng = np.random.default_rng(seed)
    spread = [(g, spread_rows(g)) for g in groups]
    pred = [(g, predict_rows(g, rng)) for g in groups]
    sp, pr = pooled(spread), pooled(pred)
    n_tasks = sum(len(g.datasets) for g in groups)
    n_datasets = len({d for g in groups for d in g.datasets})
    out = [
        "# Why the boosting families gain little: the experience itself (issue 26, item 2)",
        "",
        f"Made by `python benchmarks/dev/boosting_diagnosis.py` (seed {seed}) on the bundled "
        f"experience {exp.version}: {n_tasks} tasks of {n_datasets}"
        f" datasets; {note}. Every task holds the same 129 configurations (the library default, "
        "then a shared Sobol design; duplicates of knn's small space counted once), one 3-fold "
        "CV mean each on at most 2,000 rows. Cells are `median [q1, q3]` over tasks unless "
        "said otherwise; `boosting` pools hgb, lgbm and xgb, `others` the five other families.",
        "",
        diagnosis(sp, pr, groups),
        "",
        "## 1. Spread between configurations, and where the default sits",
        "",
        "Raw score units (balanced accuracy, R²). *default regret (norm.)* = (best − default) / "
        "(best − worst); *better than default* = share of the configurations that beat it.",
        "",
        table(
            [
                "family",
                "tasks",
                "best − default",
                "best − median",
                "default regret (norm.)",
                "better than default",
                "within 0.005 of best",
                "within 0.01 of best",
            ],
            sp,
            lambda r: [
                str(len(r["SE"])),
                q(r["best-default"]),
                q(r["best-median"]),
                q(r["default regret (norm.)"]),
                q(r["share better than default"], "{:.2f}"),
                q(r["share within 0.005"], "{:.2f}"),
                q(r["share within 0.01"], "{:.2f}"),
            ],
        ),
        "",
        "## 2. Is the default within noise of the best?",
        "",
        "No fold-level scores are stored, so noise is (i) a fixed 0.005 / 0.01, and (ii) a "
        "standard error of the task's best score on its n evaluated rows: sqrt(b(1−b)/n) for "
        "balanced accuracy b (a lower bound with unbalanced classes), (1−R²)·sqrt(2/n) for R² "
        "(Gaussian residuals). Both ignore split-to-split variance and the winner's curse of a "
        "best of 129, so they understate the noise: the shares below are lower bounds. *top "
        "quarter width* = best − 75th percentile, *top 10 width* = best − 10th best, in SEs: "
        "how many standard errors separate the best from the task's good configurations.",
        "",
        table(
            [
                "family",
                "SE of best",
                "default within 0.005",
                "within 0.01",
                "within 1 SE",
                "within 2 SE",
                "default is the best",
                "top quarter width / SE",
                "top 10 width / SE",
            ],
            sp,
            lambda r: [
                q(r["SE"]),
                pct(r["default within 0.005"]),
                pct(r["default within 0.01"]),
                pct(r["default within 1 SE"]),
                pct(r["default within 2 SE"]),
                pct(r["default is best"]),
                q(r["top quarter width / SE"], "{:.1f}"),
                q(r["top 10 width / SE"], "{:.1f}"),
            ],
        ),
        "",
        "## 3. What the meta-features explain (leave-group-out)",
        "",
        f"Predicting a task's 129 scores from other tasks' normalised scores: *nearest* = "
        f"similarity-weighted mean of the {K} nearest tasks (TaskSpace distances and weights, "
        f"as NearestTasks), *global* = plain mean over all other tasks (no meta-features), "
        f"*random-10* = mean of {K} random tasks ({DRAWS} draws, averaged). ρ = Spearman with the "
        "task's true scores; *top 25 %* = Spearman among the task's best quarter only; R² = "
        "share of the task's within-task variance (normalised scores) explained after a linear "
        "rescaling. *nearest − global* is the paired per-task difference: what the "
        "meta-features add.",
        "",
        table(
            [
                "family",
                "ρ nearest",
                "ρ global",
                "ρ random-10",
                "ρ nearest − global",
                "ρ top 25 % nearest",
                "ρ top 25 % global",
                "R² nearest",
                "R² global",
            ],
            pr,
            lambda r: [
                q(r["nearest rho"], "{:.2f}"),
                q(r["global rho"], "{:.2f}"),
                q(r["random rho"], "{:.2f}"),
                q(_paired(r, "nearest rho", "global rho"), "{:+.2f}"),
                q(r["nearest rho top25%"], "{:.2f}"),
                q(r["global rho top25%"], "{:.2f}"),
                q(r["nearest R2"], "{:.2f}"),
                q(r["global R2"], "{:.2f}"),
            ],
        ),
        "",
        "Top-1 (and best-of-top-5) regret of each predictor's arg-max, raw score units, "
        "`mean / median`; *default* = the library default's regret, *random config* = best − "
        "mean over the task's configurations (a random first trial). *÷ random* = mean "
        "nearest top-1 over mean random-config regret (the live grid's metahpo ÷ GPSampler at "
        "1 evaluation is this kind of ratio). *nearest beats / loses to default* = share of "
        "tasks where nearest's top-1 is better / worse than the default by more than 0.005.",
        "",
        table(
            [
                "family",
                "default",
                "random config",
                "nearest top-1",
                "global top-1",
                "random-10 top-1",
                "÷ random",
                "nearest top-5",
                "global top-5",
                "nearest beats / loses to default",
            ],
            pr,
            lambda r: [
                *(
                    f"{mean(r[k])} / {np.nanmedian(r[k]):.3f}"
                    for k in (
                        "default regret",
                        "random config regret",
                        "nearest top1 regret",
                        "global top1 regret",
                        "random top1 regret",
                    )
                ),
                f"{_avg(r, 'nearest top1 regret') / _avg(r, 'random config regret'):.2f}",
                *(
                    f"{mean(r[k])} / {np.nanmedian(r[k]):.3f}"
                    for k in ("nearest top5 regret", "global top5 regret")
                ),
                _better(r),
            ],
        ),
        "",
        "## 4. How similar the nearest tasks are",
        "",
        "Distances in the TaskSpace of the other tasks: nearest (d1) and mean of the 5 nearest "
        "(d5) over the median distance to all; d1 in units of the space's *typical* spacing. "
        "ρ = Spearman between the task's raw scores and another task's: its nearest, mean over "
        "its 5 nearest, mean over all other tasks (a random one), and the best-agreeing other "
        "task (a ceiling). *rank of nearest* = share of other tasks that agree better than the "
        "nearest one.",
        "",
        table(
            [
                "family",
                "d1 / median",
                "d5 / median",
                "d1 / typical",
                "ρ nearest",
                "ρ 5 nearest",
                "ρ random",
                "ρ best other",
                "rank of nearest",
            ],
            pr,
            lambda r: [
                q(r["d1/median"], "{:.2f}"),
                q(r["d5/median"], "{:.2f}"),
                q(r["d1/typical"], "{:.2f}"),
                q(r["rho nearest"], "{:.2f}"),
                q(r["rho 5 nearest"], "{:.2f}"),
                q(r["rho random"], "{:.2f}"),
                q(r["rho best other"], "{:.2f}"),
                q(r["rank of nearest by rho"], "{:.2f}"),
            ],
        ),
        "",
        "## 5. A search region from past bests; does the best region move with the rows?",
        "",
        f"*box*: the smallest box (unit-cube coordinates of the space) holding the best "
        f"configuration of each of the {K} nearest / {K} random / all other tasks (Perrone et "
        "al. 2019); "
        "*share* = share of the 129 configurations inside it (its size), *regret* = best − "
        "the best configuration inside it (raw, mean / median). *rows*: the parameter whose "
        "mean unit coordinate over the task's top 5 correlates most (Spearman over tasks) with "
        "log rows.",
        "",
        _box_table(pr, groups),
        "",
        "## 6. Past tasks chosen by the task's own first results",
        "",
        f"After m random configurations of the task are evaluated ({DRAWS} draws, averaged "
        f"per task), *observed* picks the {K} other tasks whose scores on those m agree best "
        "(Spearman, ties by meta-feature distance) and ranks the unevaluated rest by their mean "
        "normalised score; *nearest* and *global* rank the same rest as in section 3, without "
        "the m results. ρ = Spearman on the rest; *regret* = best − best of the m and the "
        "predictor's top-1 of the rest (raw, mean over tasks); *m alone* = best − best of the m.",
        "",
        _observed_table(pr),
    ]
    return "\n".join(out) + "\n"


def _box_table(pr: list[Row], groups: list[Group]) -> str:
    deps = {f"{g.family} {g.task[:3]}": rows_dependence(g) for g in groups}

    def cells(name: str, r: dict[str, np.ndarray]) -> list[str]:
        cs = []
        for label in ("near", "random", "all"):
            reg = r[f"box {label} regret"]
            cs += [
                q(r[f"box {label} share of design"], "{:.2f}"),
                f"{mean(reg)} / {np.nanmedian(reg):.3f}",
            ]
        if name in deps:
            p, rho = deps[name]
            return [*cs, f"{p} ({rho:+.2f})"]
        return [*cs, ""]

    head = [
        "family",
        f"box {K} nearest: share",
        "regret",
        f"box {K} random: share",
        "regret",
        "box all: share",
        "regret",
        "rows: parameter (ρ)",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" + " --: |" * (len(head) - 1)]
    for name, r in pr:
        lines.append("| " + " | ".join([name, *cells(name, r)]) + " |")
    return "\n".join(lines)


def _observed_table(pr: list[Row]) -> str:
    head = ["family"]
    for m in OBSERVED:
        head += [
            f"m={m}: ρ nearest",
            "ρ global",
            "ρ observed",
            "regret nearest",
            "regret global",
            "regret observed",
            "m alone",
        ]

    def cells(r: dict[str, np.ndarray]) -> list[str]:
        cs = []
        for m in OBSERVED:
            cs += [q(r[f"obs{m} {n} rho"], "{:.2f}") for n in ("nearest", "global", "observed")]
            cs += [mean(r[f"obs{m} {n} regret"]) for n in ("nearest", "global", "observed")]
            cs.append(mean(r[f"obs{m} none regret"]))
        return cs

    return table(head, pr, cells)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--md", default=None, help="also write the report here")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--keep-holdout", action="store_true")
    args = ap.parse_args()
    exp = load_bundled()
    note = "the live benchmark's held-out generator families kept"
    if not args.keep_holdout:
        held = json.loads(SUMMARY.read_text())["excluded_from_experience"]
        drop = sorted({d for names in held.values() for d in names})
        exp = exp.select(exclude=drop)
        note = (
            f"the {len(held)} generator families the live benchmark holds out "
            f"({len(drop)} datasets) left out"
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # nan-means of all-nan slices
        text = report(exp, load_groups(exp), args.seed, note)
    print(text)
    if args.md:
        Path(args.md).write_text(text)


if __name__ == "__main__":
    main()
