"""Benchmark summaries: tables of regret, ranks, wins and latency; JSON, Markdown and plots."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from metahpo.bench._methods import METHODS
from metahpo.bench._metrics import bootstrap_mean, evals_to_reach, ranks, win_tie_loss
from metahpo.bench._replay import BenchResult, RunRecord

#: Evaluation counts reported in the tables (those within the budget, plus the budget).
CUTPOINTS = (1, 3, 5, 10, 25, 50)
#: The baseline of the "against" table.
BASELINE = "tpe"

RESULTS_JSON = "results.json"
SUMMARY_MD = "summary.md"
REGRET_PNG = "regret_vs_evals.png"
RANK_PNG = "rank_vs_evals.png"
FAMILY_PNG = "regret_by_family.png"


def cutpoints(budget: int) -> list[int]:
    """The reported evaluation counts for a budget."""
    cuts = [c for c in CUTPOINTS if c <= budget]
    return cuts if budget in cuts else [*cuts, budget]


def _split_stats(
    R: np.ndarray,
    units: Sequence[tuple[str, str, int]],
    methods: Sequence[str],
    baseline: str | None,
    n_boot: int,
) -> dict[str, Any]:
    """Statistics of one split. ``R`` has shape ``(n_methods, n_units, budget)``."""
    datasets = sorted({u[0] for u in units})
    index = {d: i for i, d in enumerate(datasets)}
    of = np.asarray([index[u[0]] for u in units])
    counts = np.bincount(of, minlength=len(datasets)).astype(float)
    per_dataset = np.zeros((len(datasets), R.shape[0], R.shape[2]))
    for m in range(R.shape[0]):
        sums = np.zeros((len(datasets), R.shape[2]))
        np.add.at(sums, of, R[m])
        per_dataset[:, m, :] = sums / counts[:, None]
    mean, low, high = bootstrap_mean(per_dataset, n_boot=n_boot)
    rank = ranks(R).mean(axis=1)
    median = np.median(R, axis=1)
    out: dict[str, Any] = {"n_runs": len(units), "n_datasets": len(datasets), "methods": {}}
    b = methods.index(baseline) if baseline in methods else None
    budget = R.shape[2]
    for m, name in enumerate(methods):
        entry: dict[str, Any] = {
            "mean": mean[m].tolist(),
            "ci_low": low[m].tolist(),
            "ci_high": high[m].tolist(),
            "median": median[m].tolist(),
            "rank": rank[m].tolist(),
        }
        if b is not None:
            target = float(mean[b, -1])
            entry["evals_to_baseline_final"] = evals_to_reach(mean[m], target)
            per_run = [evals_to_reach(R[m, u], float(R[b, u, -1])) for u in range(R.shape[1])]
            reached = np.asarray([np.inf if e is None else e for e in per_run], dtype=float)
            med = float(np.median(reached))
            entry["median_evals_to_baseline_final"] = med if np.isfinite(med) else None
            entry["share_reaching_baseline_final"] = float(np.isfinite(reached).mean())
            entry["win_tie_loss"] = {
                str(t): list(win_tie_loss(R[m, :, t - 1], R[b, :, t - 1]))
                for t in range(1, budget + 1)
            }
        out["methods"][name] = entry
    return out


def summarize(
    result: BenchResult, *, baseline: str = BASELINE, n_boot: int = 1000
) -> dict[str, Any]:
    """Aggregate the runs of a benchmark.

    Only runs that every compared method finished are compared (a *unit* is a dataset, family
    and seed); methods with failed runs are left out and listed under ``excluded``. Means are
    over datasets (each dataset's runs averaged first) with percentile bootstrap intervals over
    datasets; medians are over runs; ranks are within each run and evaluation count, averaged.

    Returns:
        A JSON-ready dict: ``methods``, ``excluded``, ``cutpoints``, ``splits`` (``all``,
        ``family:<name>``, ``task:<type>``, each with per-method curves and comparisons),
        ``latency`` and ``counts``.
    """
    budget = result.settings.budget
    failed: dict[str, list[str]] = {}
    for e in result.errors:
        failed.setdefault(e.method, []).append(f"{e.dataset}/{e.family}: {e.message}")
    methods = [m for m in result.settings.methods if m not in failed]
    by_key: dict[tuple[str, str, str, int], RunRecord] = {r.key: r for r in result.runs}
    units = sorted(
        {
            (r.dataset, r.family, r.seed)
            for r in result.runs
            if all((m, r.dataset, r.family, r.seed) in by_key for m in methods)
        }
    )
    task_of = {(r.dataset, r.family): r.task for r in result.runs}
    summary: dict[str, Any] = {
        "methods": methods,
        "excluded": {
            m: {"failed_runs": len(msgs), "first_error": msgs[0]} for m, msgs in failed.items()
        },
        "baseline": baseline if baseline in methods else None,
        "cutpoints": cutpoints(budget),
        "budget": budget,
        "splits": {},
        "latency": {},
    }
    if not methods or not units:
        return summary
    R = np.asarray(
        [[by_key[(m, d, f, s)].regret for (d, f, s) in units] for m in methods], dtype=float
    )
    splits: dict[str, list[int]] = {"all": list(range(len(units)))}
    for i, (d, f, _) in enumerate(units):
        splits.setdefault(f"family:{f}", []).append(i)
        splits.setdefault(f"task:{task_of[(d, f)]}", []).append(i)
    for name in sorted(splits, key=lambda s: (s != "all", s)):
        idx = splits[name]
        summary["splits"][name] = _split_stats(
            R[:, idx, :], [units[i] for i in idx], methods, baseline, n_boot
        )
    for m in methods:
        runs = [by_key[(m, *u)] for u in units]
        first = [r.seconds[0] for r in runs if r.seconds]
        every = [s for r in runs for s in r.seconds]
        fits = [f.seconds for f in result.fits if f.method == m]
        summary["latency"][m] = {
            "first_pick_ms": 1000.0 * float(np.median(first)) if first else None,
            "per_pick_ms": 1000.0 * float(np.median(every)) if every else None,
            "run_s": float(np.median([sum(r.seconds) for r in runs])),
            "prepare_s": float(np.median(fits)) if fits and max(fits) > 0.001 else None,
        }
    summary["counts"] = {
        "runs": len(units),
        "datasets": len({u[0] for u in units}),
        "tasks": len({u[:2] for u in units}),
        "seeds": len({u[2] for u in units}),
    }
    return summary


# -- Markdown -------------------------------------------------------------------------------
def _fmt(v: float | None, digits: int = 3) -> str:
    return "–" if v is None else f"{v:.{digits}f}"


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
    return [[m, *(col[i] for col in cols)] for i, m in enumerate(methods)]


def _curve_rows(
    split: dict[str, Any], methods: list[str], cuts: list[int], key: str, digits: int
) -> list[list[str]]:
    cols = []
    for t in cuts:
        vals = [split["methods"][m][key][t - 1] for m in methods]
        cols.append(_bold_min(vals, [f"{v:.{digits}f}" for v in vals]))
    return [[m, *(col[i] for col in cols)] for i, m in enumerate(methods)]


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
    "live": (
        "- **Live**: every evaluation trains the model for real (cross-validation on a seeded "
        "subsample of at most the configured rows) on the real, continuous search space; every "
        "method gets the same number of evaluations, failed ones included.",
        "- Meta-learners learn from the bundled experience less every task of a dataset with "
        "the same name. Wall-clock times include training; a dataset's meta-feature time is "
        "added to the first evaluation of the methods that use meta-features.",
    ),
}

#: What best and worst are taken over, per mode.
REFERENCE: dict[str, str] = {
    "replay": "over the whole pool (0 is the best stored configuration)",
    "external": "over the whole pool (0 is the best stored configuration)",
    "live": "over every evaluation that any method made on that (dataset, family)",
}


def _design(result: BenchResult) -> str:
    if result.mode == "replay":
        return f"{len(result.folds)} grouped folds over datasets"
    if result.mode == "external":
        return "datasets outside the experience"
    return "real training"


def markdown(result: BenchResult, summary: dict[str, Any], *, command: str = "") -> str:
    """The Markdown summary (``summary.md``, copied to ``benchmarks/RESULTS.md``)."""
    s = result.settings
    methods: list[str] = summary["methods"]
    cuts: list[int] = summary["cutpoints"]
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
        "## Protocol",
        "",
        *PROTOCOL[result.mode],
        "- **Normalised regret** of a run after t evaluations = (best − best found) / "
        f"(best − worst), best and worst {REFERENCE[result.mode]}. Means are over "
        "datasets, with 95 % percentile bootstrap intervals over datasets; medians are over runs; "
        "ranks are within each run (1 = best, ties share the average rank).",
        "",
    ]
    if not methods or "all" not in summary["splits"]:
        lines += ["No completed runs to summarise.", ""]
        return "\n".join(lines)
    everything = summary["splits"]["all"]
    own = dict(result.descriptions)
    described = [
        f"`{m}` ({own[m] if m in own else METHODS[m].description})"
        for m in methods
        if m in own or m in METHODS
    ]
    lines += ["Methods: " + "; ".join(described) + ".", ""]
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
        wtl_cuts = [t for t in (1, 10, s.budget) if t <= s.budget]
        wtl_cuts = sorted(set(wtl_cuts))
        lines += [
            "",
            f"## Against `{base}`",
            "",
            f"*Evaluations to reach {base}@{s.budget}*: the first evaluation count at which the "
            f"method's mean regret is at or below {base}'s mean regret after {s.budget} "
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
                    m,
                    str(e["evals_to_baseline_final"] or "–"),
                    _fmt(med, 0),
                    f"{100 * e['share_reaching_baseline_final']:.0f} %",
                    *("/".join(str(x) for x in e["win_tie_loss"][str(t)]) for t in wtl_cuts),
                ]
            )
        lines += _table(
            [
                "method",
                f"evals to {base}@{s.budget}",
                "per run (median)",
                "runs reaching",
                *(f"W/T/L @{t}" for t in wtl_cuts),
            ],
            rows,
        )
    if result.mode == "live":
        lines += [
            "",
            "## Wall clock",
            "",
            "Median wall time of the first evaluation (meta-features and meta-learner "
            "suggestions included for the methods that use them) and of any one evaluation, "
            "training included; median total time of a run.",
            "",
        ]
    else:
        lines += [
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
    lat = summary["latency"]
    first, each = (
        ("first eval (ms)", "per eval (ms)")
        if result.mode == "live"
        else (
            "first pick (ms)",
            "per pick (ms)",
        )
    )
    lines += _table(
        ["method", first, each, "run (s)", "prepare per fold (s)"],
        [
            [
                m,
                _fmt(lat[m]["first_pick_ms"], 1),
                _fmt(lat[m]["per_pick_ms"], 2),
                _fmt(lat[m]["run_s"], 3),
                _fmt(lat[m]["prepare_s"], 2),
            ]
            for m in methods
        ],
    )
    small = [t for t in (1, 5, 10, s.budget) if t <= s.budget]
    small = sorted(set(small))
    rank_at = min(10, s.budget)
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


# -- plots ----------------------------------------------------------------------------------
def _style(methods: Sequence[str]) -> dict[str, dict[str, Any]]:
    from matplotlib import colormaps

    # Distinct hues first (tab10, then Dark2), so that neighbours in the legend differ.
    palette = [
        *(colormaps["tab10"](i) for i in range(10)),
        *(colormaps["Dark2"](i) for i in range(8)),
        *(colormaps["Set1"](i) for i in range(9)),
    ]
    out = {}
    for i, m in enumerate(methods):
        meta = METHODS[m].meta if m in METHODS else False
        out[m] = {
            "color": palette[i % len(palette)],
            "linestyle": "-" if meta else "--",
            "linewidth": 1.8 if meta else 1.3,
        }
    return out


def plot(summary: dict[str, Any], out: Path) -> list[Path]:
    """Regret and rank against evaluations (Agg backend, no global pyplot state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    methods: list[str] = summary["methods"]
    if not methods or "all" not in summary["splits"]:
        return []
    style = _style(methods)
    everything = summary["splits"]["all"]
    x = np.arange(1, summary["budget"] + 1)
    written = []

    fig = Figure(figsize=(9, 6), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for m in methods:
        e = everything["methods"][m]
        floor = 1e-4
        ax.plot(x, np.maximum(e["mean"], floor), label=m, **style[m])
        ax.fill_between(
            x,
            np.maximum(e["ci_low"], floor),
            np.maximum(e["ci_high"], floor),
            color=style[m]["color"],
            alpha=0.12,
            linewidth=0,
        )
    ax.set_yscale("log")
    ax.set_xlabel("evaluations")
    ax.set_ylabel("mean normalised regret (log scale)")
    ax.set_title(
        f"Replay benchmark: {everything['n_datasets']} datasets, {everything['n_runs']} runs "
        "per method (bands: 95 % bootstrap over datasets)"
    )
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(ncol=2, fontsize=8)
    path = out / REGRET_PNG
    fig.savefig(path, dpi=120)
    written.append(path)

    fig = Figure(figsize=(9, 6), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for m in methods:
        ax.plot(x, everything["methods"][m]["rank"], label=m, **style[m])
    ax.set_xlabel("evaluations")
    ax.set_ylabel(f"mean rank among {len(methods)} methods (1 = best)")
    ax.set_title("Mean rank per run against evaluations")
    ax.grid(True, alpha=0.3)
    ax.legend(ncol=2, fontsize=8)
    path = out / RANK_PNG
    fig.savefig(path, dpi=120)
    written.append(path)

    families = sorted(k for k in summary["splits"] if k.startswith("family:"))
    if families:
        cols = 3
        rows = -(-len(families) // cols)
        fig = Figure(figsize=(4.2 * cols, 3.4 * rows), layout="constrained")
        FigureCanvasAgg(fig)
        axes = fig.subplots(rows, cols, squeeze=False)
        for ax, name in zip(axes.flat, families, strict=False):
            split = summary["splits"][name]
            for m in methods:
                ax.plot(x, np.maximum(split["methods"][m]["mean"], 1e-4), label=m, **style[m])
            ax.set_yscale("log")
            ax.set_title(f"{name.removeprefix('family:')} ({split['n_datasets']} datasets)")
            ax.grid(True, which="both", alpha=0.3)
        for ax in list(axes.flat)[len(families) :]:
            ax.axis("off")
        handles, labels = axes.flat[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside right center", fontsize=8)
        path = out / FAMILY_PNG
        fig.savefig(path, dpi=110)
        written.append(path)
    return written


# -- everything -----------------------------------------------------------------------------
def write_report(
    result: BenchResult, out: str | Path, *, command: str = "", n_boot: int = 1000
) -> dict[str, Path]:
    """Write ``results.json``, ``summary.md`` and the PNG plots into ``out``.

    Args:
        result: What :func:`~metahpo.bench.run_replay` returned.
        out: Output folder (created if needed).
        command: The command line that produced the result, quoted in the summary header.
        n_boot: Bootstrap resamples for the intervals.

    Returns:
        The written files by kind (``json``, ``markdown``, ``regret_plot``, ``rank_plot``, and
        ``family_plot`` when there is a family split).
    """
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    summary = summarize(result, n_boot=n_boot)
    payload = {
        "command": command,
        "settings": asdict(result.settings),
        "experience": result.experience_version,
        "mode": result.mode,
        "folds": [list(f) for f in result.folds],
        "skipped": [{"task": k, "reason": why} for k, why in result.skipped],
        "errors": [asdict(e) for e in result.errors],
        "seconds": result.seconds,
        "summary": summary,
        "runs": [
            {
                "method": r.method,
                "dataset": r.dataset,
                "family": r.family,
                "task": r.task,
                "seed": r.seed,
                "fold": r.fold,
                "regret": [round(v, 6) for v in r.regret],
            }
            for r in result.runs
        ],
    }
    written = {"json": folder / RESULTS_JSON, "markdown": folder / SUMMARY_MD}
    written["json"].write_text(json.dumps(payload), encoding="utf-8")
    written["markdown"].write_text(markdown(result, summary, command=command), encoding="utf-8")
    for path in plot(summary, folder):
        kind = {REGRET_PNG: "regret_plot", RANK_PNG: "rank_plot", FAMILY_PNG: "family_plot"}
        written[kind[path.name]] = path
    return written
