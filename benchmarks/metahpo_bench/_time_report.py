"""TIME benchmark report: ``summary.json`` and ``TIME.md`` from a :class:`TimeResult`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from metahpo_bench._console import atomic_write
from metahpo_bench._time import TimeResult
from metahpo_bench._time_protocol import (
    CHECKPOINTS,
    GRACE_S,
    HEADLINE,
    MIN_ROWS,
    PENDING_METHODS,
    TEST_SIZE,
    TIME_METHODS,
)
from metahpo_bench._time_stats import cpu_cost, time_stats
from metahpo_bench._time_targets import render_targets, time_targets


def time_summary(result: TimeResult, command: str) -> dict[str, Any]:
    """Everything TIME.md shows, as JSON."""
    s = result.settings
    methods = [m for m in s.methods if any(r.method == m for r in result.runs)]
    return {
        "command": command,
        "protocol": {
            "min_rows": MIN_ROWS,
            "test_size": TEST_SIZE,
            "checkpoints": list(CHECKPOINTS),
            "grace_s": GRACE_S,
            "folds": s.folds,
            "seeds": s.seeds,
            "budgets": list(s.budgets),
            "families": list(s.families),
            "workers": s.workers,
        },
        "experience": result.experience_version,
        "excluded": {k: list(v) for k, v in result.excluded.items()},
        "datasets": list(result.datasets),
        "headline": HEADLINE,
        "methods": {m: TIME_METHODS[m].description for m in methods},
        "pending": list(PENDING_METHODS),
        "cpu": cpu_cost(result.runs),
        "errors": [{"run": list(u), "error": e} for u, e in result.errors],
        "budgets": time_stats(result.runs, methods, HEADLINE),
        "targets": time_targets(result.runs, HEADLINE, [u for u, _ in result.errors]),
    }


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{v:.0f} %"


def _group_table(g: dict[str, Any], headline: str) -> list[str]:
    """One group's table: regret at each checkpoint, no-model runs, first result, FLAML."""
    cps = " | ".join(f"{100 * f:g} %" for f in CHECKPOINTS)
    lines = [
        f"| method | mean regret at {cps} | median at 100 % | no model (10 % / 100 %) "
        f"| first result, median % of T | reaches FLAML's final score | {headline} W:T:L |",
        "| --- |" + " ---: |" * (len(CHECKPOINTS) + 5),
    ]
    for m, e in g["methods"].items():
        reach = e.get("reach_flaml")
        reach_s = (
            f"{reach['reached']}/{reach['cells']}, {_pct(reach['median_pct'])}" if reach else "–"
        )
        wtl = ":".join(str(v) for v in g["wtl"][m]) if m in g["wtl"] else "–"
        lines.append(
            f"| `{m}` | "
            + " | ".join(f"{v:.3f}" for v in e["mean"])
            + f" | {e['median'][-1]:.3f} | {e['no_model'][0]} / {e['no_model_final']} of {e['n']}"
            + f" | {_pct(e['first_pct_median'])} | {reach_s} | {wtl} |"
        )
    if g["worst"]:
        worst = "; ".join(
            f"{w['dataset']}/{w['family']} ("
            + ", ".join(f"{m} {v:.2f}" for m, v in w["regret"].items())
            + ")"
            for w in g["worst"]
        )
        lines += ["", f"Worst cells of `{headline}` (regret at 100 %): {worst}."]
    return lines


def _intro(summary: dict[str, Any]) -> list[str]:
    p, cpu = summary["protocol"], summary["cpu"]
    methods = "\n".join(f"- `{m}`: {d}" for m, d in summary["methods"].items())
    pending = ", ".join(f"`{m}`" for m in summary["pending"]) or "none"
    return [
        "# TIME benchmark: test score after T seconds of one core",
        "",
        f"Command: `{summary['command']}`",
        "",
        f"Datasets ({len(summary['datasets'])}): {', '.join(summary['datasets'])} (the grid "
        f"of record: every shared dataset with at least {p['min_rows']:,} rows), each held out "
        "from the experience with its whole generator family. Per dataset and seed a seeded "
        f"{100 * (1 - p['test_size']):g}/{100 * p['test_size']:g} train/test split (stratified "
        "for classification); methods see the training split only. Each run has T seconds of "
        "one core in a process of its own (clock from the moment the training split is in "
        "memory: experience, meta-features and everything the method does count). At "
        + ", ".join(f"{100 * f:g} %" for f in p["checkpoints"])
        + " of T the incumbent of that moment (the best configuration known at full fidelity) "
        "is refitted on the whole training split (outside the budget) and scored on the test "
        'split; without one the run scores as a constant predictor ("no model"). Regret is '
        "normalised per cell (dataset, family, seed) between the worst and the best test "
        "score any method reached at 100 %, clipped to [0, 1]. W:T:L: cells where "
        f"`{summary['headline']}` has lower / equal / higher final regret than the method. "
        "First result: when the first full-fidelity result came, median over the runs with "
        "one within T. Reaching FLAML: cells where the method's test score at a checkpoint is "
        "at least FLAML's at 100 %, and the median first such checkpoint. "
        f"Families {', '.join(p['families'])}; seeds {p['seeds']}; "
        f"{p['workers']} runs at a time.",
        "",
        "Methods:",
        "",
        methods,
        "",
        f"Not run yet (metahpo.tune does not take their options): {pending}.",
        "",
        f"CPU cost: {cpu['runs']} runs, {cpu['tuning_core_h']:.2f} core-hours of tuning "
        f"processes against {cpu['budget_core_h']:.2f} of budgets (a run adds start-up, "
        f"loading and the last evaluation's overrun, killed {p['grace_s']:g} s past T; a run "
        "that ends early, a refused table or a finished search, takes less), "
        f"{cpu['refit_core_h']:.2f} core-hours of refits.",
    ]


def render_time_md(summary: dict[str, Any]) -> str:
    """TIME.md from :func:`time_summary`'s output."""
    lines = _intro(summary)
    head = summary["headline"]
    lines += ["", *render_targets(summary["targets"], head)]
    for budget, entry in summary["budgets"].items():
        lines += ["", f"## T = {budget} s", "", "### All cells", ""]
        lines += _group_table(entry["all"], head)
        for key, title in (("family", "Family"), ("task", "Task type")):
            for name, g in entry[key].items():
                lines += ["", f"### {title}: {name} ({g['n_cells']} cells)", ""]
                lines += _group_table(g, head)
    if summary["errors"]:
        lines += ["", "## Runs that failed", ""]
        lines += [f"- {'/'.join(map(str, e['run']))}: {e['error']}" for e in summary["errors"]]
    return "\n".join(lines) + "\n"


def write_time_report(
    result: TimeResult, summary_path: str | Path, md_path: str | Path, command: str
) -> dict[str, Any]:
    """Write ``summary.json`` and ``TIME.md`` (atomically); returns the summary."""
    summary = time_summary(result, command)
    for path, text in (
        (Path(summary_path), json.dumps(summary, indent=1) + "\n"),
        (Path(md_path), render_time_md(summary)),
    ):
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, text.encode("utf-8"))
    return summary
