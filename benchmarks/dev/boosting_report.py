"""The report of ``boosting_diagnosis.py`` (issue 26, item 2): the measures of
``boosting_measures.py`` per family and task type and pooled (boosting vs the other families),
as Markdown tables, after a short reading whose every number is taken from them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from boosting_measures import (
    BOOSTING,
    DRAWS,
    OBSERVED,
    Group,
    K,
    Row,
    pooled,
    predict_rows,
    rows_dependence,
    spread_rows,
)

from metahpo.knowledge import Experience


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
    """The whole report: the measures of every group (one random stream, ``seed``), pooled,
    the reading, then the sections 1 to 6, each after an empty line."""
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
    ]
    sections = (
        _spread_section(sp),
        _noise_section(sp),
        _prediction_section(pr),
        _regret_section(pr),
        _similarity_section(pr),
        _region_section(pr, groups),
        _observed_section(pr),
    )
    for lines in sections:
        out += ["", *lines]
    return "\n".join(out) + "\n"


def _spread_section(sp: list[Row]) -> list[str]:
    """Section 1: the spread between configurations, and where the default sits."""
    return [
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
    ]


def _noise_section(sp: list[Row]) -> list[str]:
    """Section 2: is the default within noise of the best?"""
    return [
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
    ]


def _prediction_section(pr: list[Row]) -> list[str]:
    """Section 3, first table: how well other tasks' scores rank the task's."""
    return [
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
    ]


def _regret_section(pr: list[Row]) -> list[str]:
    """Section 3, second table: the regret of each predictor's top-1 and top-5."""
    return [
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
    ]


def _similarity_section(pr: list[Row]) -> list[str]:
    """Section 4: how similar the nearest tasks are."""
    return [
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
    ]


def _region_section(pr: list[Row], groups: list[Group]) -> list[str]:
    """Section 5: the box of past bests, and the rows' parameter."""
    return [
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
    ]


def _observed_section(pr: list[Row]) -> list[str]:
    """Section 6: past tasks chosen by the task's own first results."""
    return [
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
