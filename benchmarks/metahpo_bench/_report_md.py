"""Replay benchmark Markdown: ``summary.md``, copied to ``benchmarks/RESULTS.md``.

The introduction says what the replay cannot measure, and the method tables mark the methods
that propose stored configurations by design (:attr:`~metahpo_bench.Method.proposals`), since
the replay scores them exactly and snaps everyone else's proposals.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from typing import Any

from metahpo_bench._methods import CONTINUOUS, METHODS, PARTLY_STORED, STORED
from metahpo_bench._replay_records import BenchResult


def _fmt(v: float | None, digits: int = 3) -> str:
    return "–" if v is None else f"{v:.{digits}f}"


#: Marks after a method's name in the tables, by what it proposes.
MARKS = {STORED: " †", PARTLY_STORED: " ‡"}

#: What the replay can and cannot measure (the introduction of the report).
HONESTY = (
    "**What the replay measures.** Every method chooses only among the configurations stored "
    "for each held-out task (the library default and the Sobol design of the knowledge-base "
    "build), so the replay measures zero-shot and warm-start quality but cannot see whether a "
    "method keeps improving beyond those points: regret 0 is the best stored configuration, "
    "and a method that would refine past it scores no better. The replay also favours methods "
    "that propose stored configurations (marked † and ‡ in the tables; see *Proposals* below): "
    "they score exactly, while continuous proposals are snapped to the nearest stored "
    "configuration not evaluated yet. The live benchmark (`benchmarks/LIVE.md`), which trains "
    "every proposal for real, is the measure of record; this replay is a second measure."
)

#: One line per kind of proposal, followed by the methods of that kind.
PROPOSALS = {
    STORED: "- † stored configurations only, by design (pool rows, the library default, or "
    "configurations of the training tasks, which share the held-out task's design), scored "
    "exactly",
    PARTLY_STORED: "- ‡ stored configurations for the most part, continuous points besides "
    "(snapped)",
    CONTINUOUS: "- unmarked: continuous points of the real search space, each snapped to the "
    "nearest stored configuration not evaluated yet (a MetaSampler's first few warm starts "
    "are stored configurations)",
}


def _label(method: str) -> str:
    """The method's name in a table, with its mark."""
    return method + (MARKS.get(METHODS[method].proposals, "") if method in METHODS else "")


def _proposals(methods: Sequence[str]) -> list[str]:
    """The *Proposals* paragraph: the methods of each kind."""
    lines = ["Proposals (what the marks in the tables mean):", ""]
    for kind, text in PROPOSALS.items():
        names = [f"`{m}`" for m in methods if m in METHODS and METHODS[m].proposals == kind]
        if names:
            lines.append(f"{text}: {', '.join(names)}.")
    return [*lines, ""]


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    align = ["---"] + ["--:"] * (len(header) - 1)
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return lines


def _bold_min(values: list[float], texts: list[str]) -> list[str]:
    best = min(values) if values else 0.0
    return [f"**{t}**" if abs(v - best) < 1e-12 else t for v, t in zip(values, texts, strict=True)]


def _regret_rows(
    split: dict[str, Any], methods: list[str], cuts: list[int], ci: bool
) -> list[list[str]]:
    cols: list[list[str]] = []
    for t in cuts:
        vals = [split["methods"][m]["mean"][t - 1] for m in methods]
        texts = []
        for m, v in zip(methods, vals, strict=True):
            e = split["methods"][m]
            texts.append(
                f"{v:.3f} [{e['ci_low'][t - 1]:.3f}, {e['ci_high'][t - 1]:.3f}]"
                if ci
                else f"{v:.3f}"
            )
        cols.append(_bold_min(vals, texts))
    return [[_label(m), *(col[i] for col in cols)] for i, m in enumerate(methods)]


def _curve_rows(
    split: dict[str, Any], methods: list[str], cuts: list[int], key: str, digits: int
) -> list[list[str]]:
    cols = []
    for t in cuts:
        vals = [split["methods"][m][key][t - 1] for m in methods]
        cols.append(_bold_min(vals, [f"{v:.{digits}f}" for v in vals]))
    return [[_label(m), *(col[i] for col in cols)] for i, m in enumerate(methods)]


_SNAP = (
    "- Methods that propose continuous points (Optuna samplers, MetaSampler) run on the real "
    "search space; each asked point is snapped to the nearest not-yet-evaluated pool "
    "configuration (Euclidean distance in the unit-cube encoding, one-hot categoricals) and "
    "its score is told for the asked trial."
)
_REPLAY = (
    "- **Replay** (tabular, as in HPO-B): the candidates for a held-out (dataset, family) "
    "task are the configurations stored for it; evaluating one reads its stored score. "
    "Failed evaluations stay selectable and cost an evaluation without improving the best."
)

#: Protocol bullets of each benchmark mode.
PROTOCOL: dict[str, tuple[str, ...]] = {
    "replay": (
        _REPLAY,
        _SNAP,
        "- Meta-learners are trained only on the other datasets: grouped K-fold over datasets, "
        "every dataset held out once; meta-feature scalers are fitted on the training folds.",
    ),
    "external": (
        _REPLAY,
        _SNAP,
        "- The pools are built by the knowledge-base build for a folder of datasets outside the "
        "experience; meta-learners are trained on the whole experience, less any dataset of the "
        "same name.",
    ),
}

#: What best and worst are taken over.
REFERENCE = "over the whole pool (0 is the best stored configuration)"


def _design(result: BenchResult) -> str:
    if result.mode == "replay":
        return f"{len(result.folds)} grouped folds over datasets"
    return "datasets outside the experience"


def markdown(result: BenchResult, summary: dict[str, Any], *, command: str = "") -> str:
    """The Markdown summary (``summary.md``, copied to ``benchmarks/RESULTS.md``)."""
    methods: list[str] = summary["methods"]
    cuts: list[int] = summary["cutpoints"]
    lines = _introduction(result, summary, command)
    if not methods or "all" not in summary["splits"]:
        lines += ["No completed runs to summarise.", ""]
        return "\n".join(lines)
    everything = summary["splits"]["all"]
    described = [f"`{m}` ({METHODS[m].description})" for m in methods if m in METHODS]
    lines += ["Methods: " + "; ".join(described) + ".", ""]
    lines += _proposals(methods)
    lines += ["## Normalised regret (mean over datasets, 95 % bootstrap interval)", ""]
    lines += _table(
        ["method", *(f"@{t}" for t in cuts)], _regret_rows(everything, methods, cuts, ci=True)
    )
    lines += ["", "## Median normalised regret over runs", ""]
    lines += _table(
        ["method", *(f"@{t}" for t in cuts)],
        _curve_rows(everything, methods, cuts, "median", 3),
    )
    lines += ["", f"## Mean rank among {len(methods)} methods (1 = best)", ""]
    lines += _table(
        ["method", *(f"@{t}" for t in cuts)], _curve_rows(everything, methods, cuts, "rank", 2)
    )
    base = summary.get("baseline")
    if base:
        lines += _against_baseline(base, everything, methods, result.settings.budget)
    lines += _latency(summary["latency"], methods)
    lines += _splits(summary, methods, result.settings.budget)
    lines += _left_out(result, summary)
    if result.mode == "replay":
        lines += [
            "## Folds",
            "",
            *(f"- fold {k}: {', '.join(f)}" for k, f in enumerate(result.folds)),
            "",
        ]
    else:
        held = sorted({d for f in result.folds for d in f})
        lines += ["## Datasets", "", ", ".join(held), ""]
    return "\n".join(lines)


def _introduction(result: BenchResult, summary: dict[str, Any], command: str) -> list[str]:
    """The title, the command, the experience and the cost, what the replay measures, and the
    protocol."""
    s = result.settings
    counts = summary.get("counts", {})
    today = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d")
    lines = [f"# metahpo {result.mode} benchmark", ""]
    if command:
        lines += [f"Produced by `{command}` on {today} (UTC).", ""]
    lines += [
        f"Experience `{result.experience_version or 'unversioned'}`: "
        f"{counts.get('datasets', 0)} datasets, {counts.get('tasks', 0)} (dataset, family) tasks, "
        f"{counts.get('seeds', 0)} seeds, {counts.get('runs', 0)} runs per method; "
        f"budget {s.budget} evaluations; {_design(result)}. "
        f"This call computed {result.n_new} runs in {result.seconds / 60:.1f} min on "
        f"{os.cpu_count()} cores (other runs were read from the cache); the methods' own time "
        f"over all runs adds up to {sum(sum(r.seconds) for r in result.runs) / 60:.1f} min.",
        "",
        HONESTY,
        "",
        "## Protocol",
        "",
        *PROTOCOL[result.mode],
        "- **Normalised regret** of a run after t evaluations = (best − best found) / "
        f"(best − worst), best and worst {REFERENCE}. Means are over "
        "datasets, with 95 % percentile bootstrap intervals over datasets; medians are over runs; "
        "ranks are within each run (1 = best, ties share the average rank).",
        "",
    ]
    return lines


def _against_baseline(
    base: str, everything: dict[str, Any], methods: list[str], budget: int
) -> list[str]:
    """*Against the baseline*: evaluations to reach its final regret, and win/tie/loss."""
    wtl_cuts = [t for t in (1, 10, budget) if t <= budget]
    wtl_cuts = sorted(set(wtl_cuts))
    lines = [
        "",
        f"## Against `{base}`",
        "",
        f"*Evaluations to reach {base}@{budget}*: the first evaluation count at which the "
        f"method's mean regret is at or below {base}'s mean regret after {budget} "
        "evaluations (– if never within the budget); *per run*: the median over runs of the "
        f"same count computed run by run (– if most runs never get there), and the share of "
        f"runs that get there. W/T/L: runs with lower / equal / higher regret than {base}.",
        "",
    ]
    rows = []
    for m in methods:
        e = everything["methods"][m]
        med = e["median_evals_to_baseline_final"]
        rows.append(
            [
                _label(m),
                str(e["evals_to_baseline_final"] or "–"),
                _fmt(med, 0),
                f"{100 * e['share_reaching_baseline_final']:.0f} %",
                *("/".join(str(x) for x in e["win_tie_loss"][str(t)]) for t in wtl_cuts),
            ]
        )
    return lines + _table(
        [
            "method",
            f"evals to {base}@{budget}",
            "per run (median)",
            "runs reaching",
            *(f"W/T/L @{t}" for t in wtl_cuts),
        ],
        rows,
    )


def _latency(lat: dict[str, Any], methods: list[str]) -> list[str]:
    """*Latency*: the methods' own wall time, per pick, per run and per fold."""
    lines = [
        "",
        "## Latency",
        "",
        "Median wall time to choose the first configuration (meta-learner suggestions and "
        "sampler construction included) and to choose any one configuration; median total "
        "time of a run; median time to prepare a method once per fold (fitting its "
        "meta-learner; a meta-learner shared by several methods is fitted once and charged "
        "to each of them in full). Wall-clock times, one thread per worker: other load on "
        "the machine inflates them.",
        "",
    ]
    return lines + _table(
        ["method", "first pick (ms)", "per pick (ms)", "run (s)", "prepare per fold (s)"],
        [
            [
                _label(m),
                _fmt(lat[m]["first_pick_ms"], 1),
                _fmt(lat[m]["per_pick_ms"], 2),
                _fmt(lat[m]["run_s"], 3),
                _fmt(lat[m]["prepare_s"], 2),
            ]
            for m in methods
        ],
    )


def _splits(summary: dict[str, Any], methods: list[str], budget: int) -> list[str]:
    """*By family* and *By task type*: mean regret at a few cut points and the mean rank."""
    lines: list[str] = []
    small = [t for t in (1, 5, 10, budget) if t <= budget]
    small = sorted(set(small))
    rank_at = min(10, budget)
    for title, prefix in (("By family", "family:"), ("By task type", "task:")):
        lines += [
            "",
            f"## {title}",
            "",
            "Mean normalised regret; mean rank in the last column.",
            "",
        ]
        for name in sorted(k for k in summary["splits"] if k.startswith(prefix)):
            split = summary["splits"][name]
            rows = _regret_rows(split, methods, small, ci=False)
            rk = [split["methods"][m]["rank"][rank_at - 1] for m in methods]
            rk_txt = _bold_min(rk, [f"{v:.2f}" for v in rk])
            lines += [
                f"### {name.removeprefix(prefix)} ({split['n_datasets']} datasets, "
                f"{split['n_runs']} runs)",
                "",
            ]
            lines += _table(
                ["method", *(f"@{t}" for t in small), f"rank @{rank_at}"],
                [[*row, rk_txt[i]] for i, row in enumerate(rows)],
            )
            lines.append("")
    return lines


def _left_out(result: BenchResult, summary: dict[str, Any]) -> list[str]:
    """The methods left out (their runs failed) and the tasks left out, by reason."""
    lines: list[str] = []
    if summary["excluded"]:
        lines += ["## Methods left out (runs failed)", ""]
        for m, info in summary["excluded"].items():
            lines.append(
                f"- `{m}`: {info['failed_runs']} failed runs; first: {info['first_error']}"
            )
        lines.append("")
    if result.skipped:
        by_reason: dict[str, dict[str, list[str]]] = {}
        for key, why in result.skipped:
            dataset, _, family = key.rpartition("/")
            by_reason.setdefault(why, {}).setdefault(dataset or key, []).append(family)
        lines += ["## Tasks left out", ""]
        for why, datasets in by_reason.items():
            listed = ", ".join(f"{d} ({', '.join(f)})" for d, f in sorted(datasets.items()))
            lines.append(f"- {why}: {len(datasets)} datasets: {listed}")
        lines.append("")
    return lines
