"""The live benchmark's outputs: ``summary.json`` (machine-readable) and ``LIVE.md``.

LIVE.md is rendered from the summary alone, so that the README headline, LIVE.md and
``summary.json`` always agree (``benchmarks/readme_headline.py`` copies the headline into the
README from the same file).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from metahpo_bench._live import LiveResult
from metahpo_bench._live_md_family import fmt as _f
from metahpo_bench._live_md_family import render_groups
from metahpo_bench._live_md_family import table as _table
from metahpo_bench._live_protocol import (
    ALIASES,
    COLLECTION_PREFIXES,
    HOLDOUT_MAX_FEATURES,
    HOLDOUT_SEED,
    LIVE_METHODS,
    META_REVISION,
)
from metahpo_bench._live_stats import summarize

SUMMARY_FORMAT = 1
#: metahpo's default, the method the headline is about.
HEADLINE = "meta"


def live_summary(result: LiveResult, command: str = "") -> dict[str, Any]:
    """``summary.json``: protocol, held-out datasets, and :func:`summarize` of the runs."""
    s = result.settings
    body = summarize(result.runs, s.methods, s.budget, headline=HEADLINE)
    doc = {
        "format": SUMMARY_FORMAT,
        "command": command,
        "generated": time.strftime("%Y-%m-%d", time.gmtime()),
        "protocol": {
            **asdict(s),
            "holdout_seed": HOLDOUT_SEED,
            "holdout_max_features": HOLDOUT_MAX_FEATURES,
        },
        "holdout": list(result.holdout),
        "excluded_from_experience": {k: list(v) for k, v in result.excluded.items()},
        "experience_version": result.experience_version,
        "meta_revision": META_REVISION,
        "descriptions": {m: LIVE_METHODS[m].description for m in s.methods},
        "errors": [[*u, msg] for u, msg in result.errors],
        "runs_total": len(result.runs),
        "runs_expected": len(result.holdout) * len(s.families) * s.seeds * len(s.methods),
        **body,
    }
    return dict(json.loads(json.dumps(doc)))  # plain JSON types, as read back from the file


def render_ablation(ablation: dict[str, Any], meta_revision: int | None = None) -> list[str]:
    """The ablation section: another (smaller) live run's summary, method by method; says so
    when its metahpo runs are of another revision than ``meta_revision`` (the main table's)."""
    cuts: list[int] = ablation["cutpoints"]
    methods: dict[str, Any] = ablation["methods"]
    want = [t for t in cuts if t in (1, 5, 10, 20, ablation["protocol"]["budget"])]
    idx = [cuts.index(t) for t in want]
    rows = []
    for m, e in methods.items():
        ratio = e.get("ratio", {}).get("gp")
        at10 = cuts.index(10) if 10 in cuts else len(cuts) - 1
        rows.append(
            [
                f"`{m}`",
                ablation["descriptions"].get(m, ""),
                *(_f(e["mean"][i]) for i in idx),
                _f(ratio[at10], 2) if ratio else "",
                _f(ratio[-1], 2) if ratio else "",
            ]
        )
    head = ["method", "what it is", *(f"@{t}" for t in want), "÷gp @10", f"÷gp @{cuts[-1]}"]
    return [
        "## Ablation: what each part of metahpo's optimizer adds",
        "",
        f"A smaller live run with the same protocol ({ablation['n_cells']} complete cells on "
        f"{ablation['n_datasets']} datasets: {', '.join(ablation['datasets'])}); mean "
        "normalised regret over datasets, normalised over the methods of this run. Regenerate "
        "with",
        "",
        f"    {ablation['command']}",
        "",
        *_stale_note(ablation.get("meta_revision"), meta_revision),
        *_table(head, rows, right_from=2),
        "",
    ]


def _stale_note(revision: int | None, current: int | None) -> list[str]:
    if current is None or revision == current:
        return []
    which = f"revision {revision}" if revision is not None else "an earlier revision"
    return [
        f"Its metahpo runs are of {which} of metahpo's proposals, the table above's of "
        f"revision {current} (`META_REVISION`); the command above brings it up to date.",
        "",
    ]


def _protocol(summary: dict[str, Any]) -> list[str]:
    p = summary["protocol"]
    budget = p["budget"]
    return [
        "# Live benchmark: real training on held-out datasets",
        "",
        "The measure of record. Every method tunes the same held-out datasets with real "
        "cross-validated training on the continuous search space, with the same budget, row "
        "subsample, folds and seeds. Generated from `benchmarks/live/summary.json`; "
        "regenerate with",
        "",
        f"    {summary['command']}",
        "",
        "(`make bench-live`; finished runs are read back from the committed cache "
        "`benchmarks/live/runs/`, so only new or changed methods train).",
        "",
        "## Protocol",
        "",
        f"* **Held-out datasets**: {len(summary['holdout'])} drawn from `../shared/datasets` "
        f"(seed {p['holdout_seed']}, stratified by task type in proportion and by row-count "
        f"tertile within a task type, at most one per generator family, at most "
        f"{p['holdout_max_features']} features): {', '.join(summary['holdout'])}.",
        "* **Left out of the experience** for each: every task of its generator family. Names "
        "are matched by a rule (OpenML id and `BNG_` prefixes removed, lower case, collection "
        f"prefixes {', '.join(sorted(COLLECTION_PREFIXES))} skipped, trailing digits of the "
        f"first word removed, aliases {', '.join(f'{a}→{b}' for a, b in ALIASES.items())}). "
        "Groups with more than the dataset itself: "
        + (
            "; ".join(
                f"{g}: {', '.join(v)}"
                for g, v in summary["excluded_from_experience"].items()
                if len(v) > 1
            )
            or "none"
        )
        + ".",
        f"* **Families** {', '.join(p['families'])}; **budget** {budget} evaluations "
        f"(failures count); **seeds** {p['seeds']}; {p['cv_folds']}-fold CV; datasets "
        f"subsampled to {p['max_rows']} rows (seeded, stratified); "
        f"{p['trial_time_limit']:g} s limit per evaluation; {p['workers']} worker processes, "
        "one thread each.",
        "* **Regret**: normalised per (dataset, family) by the best and worst score any method "
        "found; mean over datasets with 95 % bootstrap intervals (datasets resampled), median "
        f"over runs; ties within {summary['tie']:g}.",
        f"* **Coverage**: {summary['runs_total']} of {summary['runs_expected']} runs finished; "
        f"{summary['n_cells']} complete (dataset, family, seed) cells on "
        f"{summary['n_datasets']} datasets enter the tables.",
        "",
        "Methods:",
        "",
        *_table(
            ["method", "what it is"],
            [[f"`{m}`", d] for m, d in summary["descriptions"].items()],
            right_from=2,
        ),
        "",
    ]


def _regret(summary: dict[str, Any]) -> list[str]:
    cuts: list[int] = summary["cutpoints"]
    budget = summary["protocol"]["budget"]
    methods: dict[str, Any] = summary["methods"]
    return [
        "## Normalised regret after t evaluations (mean over datasets [95 % interval])",
        "",
        *_table(
            ["method", *(f"@{t}" for t in cuts), f"rank @{budget}"],
            [
                [
                    f"`{m}`",
                    *(
                        f"{e['mean'][k]:.3f} [{e['ci_low'][k]:.3f}, {e['ci_high'][k]:.3f}]"
                        for k in range(len(cuts))
                    ),
                    f"{e['rank'][-1]:.2f}",
                ]
                for m, e in methods.items()
            ],
        ),
        "",
        "Median over runs: "
        + "; ".join(
            f"`{m}` " + " / ".join(f"{v:.3f}" for v in e["median_run"]) for m, e in methods.items()
        )
        + f" (at {', '.join(map(str, cuts))}).",
        "",
    ]


def _baselines(summary: dict[str, Any]) -> list[str]:
    cuts: list[int] = summary["cutpoints"]
    methods: dict[str, Any] = summary["methods"]
    budget = summary["protocol"]["budget"]
    base = [b for b in ("gp", "tpe") if b in methods]
    if not base:
        return []
    pick = [k for k, t in enumerate(cuts) if t in (1, 10, budget)]
    return [
        "## Against Optuna's GPSampler and TPE",
        "",
        "Ratio of mean regret (below 1: better than the baseline); evaluations each method "
        "needs to reach the baseline's regret after the whole budget (median over runs, "
        f"{budget + 1} when never; share of runs that get there).",
        "",
        *_table(
            [
                "method",
                *(f"÷{b} @{cuts[k]}" for b in base for k in pick),
                *(f"to reach {b}@{budget}" for b in base),
            ],
            [
                [
                    f"`{m}`",
                    *(_f(e["ratio"][b][k], 2) for b in base for k in pick),
                    *(
                        f"{e['reach'][b]['median']:g} ({e['reach'][b]['fraction']:.0%})"
                        for b in base
                    ),
                ]
                for m, e in methods.items()
            ],
        ),
        "",
    ]


def _wins(methods: dict[str, Any]) -> list[str]:
    if HEADLINE not in methods:
        return []
    wtl = methods[HEADLINE]["wtl"]
    ts = sorted({int(t) for v in wtl.values() for t in v})
    return [
        f"## Win / tie / loss of `{HEADLINE}` (metahpo's default), paired runs",
        "",
        *_table(
            ["against", *(f"@{t}" for t in ts)],
            [[f"`{b}`", *(":".join(map(str, v[str(t)])) for t in ts)] for b, v in wtl.items()],
        ),
        "",
    ]


def _families(summary: dict[str, Any]) -> list[str]:
    cuts: list[int] = summary["cutpoints"]
    methods: dict[str, Any] = summary["methods"]
    budget = summary["protocol"]["budget"]
    fams = sorted({f for e in methods.values() for f in e["by_family"]})
    tasks = sorted({f for e in methods.values() for f in e["by_task"]})
    k10 = cuts.index(10) if 10 in cuts else 0
    return [
        f"## By family and task type (mean regret @{cuts[k10]} / @{budget})",
        "",
        *_table(
            ["method", *fams, *tasks],
            [
                [
                    f"`{m}`",
                    *(
                        f"{e[key][g][k10]:.3f} / {e[key][g][-1]:.3f}"
                        for key, gs in (("by_family", fams), ("by_task", tasks))
                        for g in gs
                    ),
                ]
                for m, e in methods.items()
            ],
        ),
        "",
    ]


def _costs(methods: dict[str, Any]) -> list[str]:
    return [
        "## Optimizer overhead and time",
        "",
        "Overhead: the optimizer's own seconds before each evaluation, training excluded "
        "(median and 95th percentile over all evaluations); setup: before the first proposal "
        "(meta-features, meta-learner fits). Wall time to a regret: setup + overhead + "
        "training until a run first reaches it (median over runs; share of runs that do).",
        "",
        *_table(
            [
                "method",
                "overhead median s",
                "overhead p95 s",
                "setup median s",
                "training s / eval",
                *(f"wall to ≤{lv}" for lv in next(iter(methods.values()))["wall_to"]),
                "failed evals",
                "CPU s in all",
            ],
            [
                [
                    f"`{m}`",
                    f"{e['overhead_s']['median']:.4f}",
                    f"{e['overhead_s']['p95']:.4f}",
                    f"{e['overhead_s']['setup_median']:.2f}",
                    f"{e['fit_s_per_eval']:.2f}",
                    *(
                        f"{_f(w['median_s'], 1)} s ({w['fraction']:.0%})"
                        for w in e["wall_to"].values()
                    ),
                    str(e["failed_evals"]),
                    f"{e['seconds_total']:.0f}",
                ]
                for m, e in methods.items()
            ],
        ),
        "",
    ]


def render_markdown(summary: dict[str, Any], ablation: dict[str, Any] | None = None) -> str:
    """LIVE.md from a summary (and an ablation run's summary, if given)."""
    methods: dict[str, Any] = summary["methods"]
    lines = _protocol(summary)
    if not methods:
        lines.append("No complete cells yet.")
        return "\n".join(lines) + "\n"
    lines += [
        *_regret(summary),
        *_baselines(summary),
        *_wins(methods),
        *_families(summary),
        *render_groups(summary),
        *_costs(methods),
    ]
    if summary["skipped"] or summary["errors"]:
        lines += ["## Left out", ""]
        lines += [f"* {d}/{f}: every evaluation scored the same" for d, f in summary["skipped"]]
        lines += [f"* {u[2]} on {u[0]}/{u[1]} seed {u[3]}: {u[4]}" for u in summary["errors"]]
        lines.append("")
    if ablation is not None and ablation.get("methods"):
        lines += render_ablation(ablation, summary.get("meta_revision"))
    return "\n".join(lines)


def write_live_report(
    result: LiveResult,
    summary_path: str | Path,
    md_path: str | Path,
    command: str = "",
    ablation: str | Path | None = None,
) -> dict[str, Any]:
    """Write ``summary.json`` and ``LIVE.md`` (with the ablation section from the summary file
    ``ablation``, if given and present); returns the summary."""
    summary = live_summary(result, command)
    extra = None
    if ablation is not None and Path(ablation).exists():
        extra = json.loads(Path(ablation).read_text(encoding="utf-8"))
    sp, mp = Path(summary_path), Path(md_path)
    sp.parent.mkdir(parents=True, exist_ok=True)
    mp.parent.mkdir(parents=True, exist_ok=True)
    sp.write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    mp.write_text(render_markdown(summary, extra), encoding="utf-8")
    return summary
