"""Replay benchmark report: ``results.json``, ``summary.md`` and the plots in one folder.

The statistics are in :mod:`~metahpo_bench._report_stats`, the Markdown in
:mod:`~metahpo_bench._report_md` and the plots in :mod:`~metahpo_bench._report_plots`.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from metahpo_bench._replay_records import BenchResult
from metahpo_bench._report_md import markdown
from metahpo_bench._report_plots import FAMILY_PNG, RANK_PNG, REGRET_PNG, plot
from metahpo_bench._report_stats import summarize

RESULTS_JSON = "results.json"
SUMMARY_MD = "summary.md"
#: Format of :func:`compact_summary`'s JSON.
COMPACT_FORMAT = "metahpo-replay-summary/1"


def write_report(
    result: BenchResult, out: str | Path, *, command: str = "", n_boot: int = 1000
) -> dict[str, Path]:
    """Write ``results.json``, ``summary.md`` and the PNG plots into ``out``.

    Args:
        result: What :func:`~metahpo_bench.run_replay` returned.
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


def compact_summary(payload: dict[str, Any], meta: dict[str, bool]) -> dict[str, Any]:
    """The replay's headline numbers from ``results.json``'s ``payload``, small enough to
    commit (``make bench`` writes it to ``benchmarks/replay/summary.json``, from which
    ``benchmarks/readme_headline.py`` copies the README's replay table): per method, whether it
    learns from the experience (``meta``), and mean normalised regret over datasets with its
    95 % interval at the cut points, overall and per family."""
    summary = payload["summary"]
    cuts: list[int] = summary["cutpoints"]
    at = [t - 1 for t in cuts]

    def pick(values: list[float]) -> list[float]:
        return [round(float(values[i]), 6) for i in at]

    splits = summary["splits"]
    everything = splits["all"]
    methods = {
        m: {
            "meta": bool(meta.get(m, False)),
            "mean": pick(e["mean"]),
            "ci_low": pick(e["ci_low"]),
            "ci_high": pick(e["ci_high"]),
        }
        for m, e in everything["methods"].items()
    }
    families = {
        name.removeprefix("family:"): {m: pick(e["mean"]) for m, e in split["methods"].items()}
        for name, split in splits.items()
        if name.startswith("family:")
    }
    return {
        "format": COMPACT_FORMAT,
        "command": payload["command"],
        "experience": payload["experience"],
        "budget": summary["budget"],
        "cutpoints": cuts,
        "n_runs": everything["n_runs"],
        "n_datasets": everything["n_datasets"],
        "methods": methods,
        "families": families,
    }
