"""``metahpo-bench --live``: the live benchmark of record (real training, held-out datasets)."""

from __future__ import annotations

import argparse
import shlex
from typing import Any

from metahpo_bench._console import err, out, progress_bar

#: The command of the lab, as quoted at the top of the reports it writes.
COMMAND = "metahpo-bench"


def add_live_arguments(p: Any) -> None:
    """The options of ``metahpo-bench --live``."""
    p.add_argument(
        "--live",
        action="store_true",
        help="live mode, the measure of record: real training on held-out datasets drawn from "
        "--datasets (seeded, stratified), equal evaluation budgets, cached runs (methods: meta "
        "random tpe gp cmaes flaml skopt unless --methods; 'all' for every live method)",
    )
    p.add_argument(
        "--holdout",
        nargs="+",
        default=None,
        metavar="NAME",
        help="live mode: these datasets of --datasets instead of the held-out draw",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="live mode: the quick loop: every third held-out dataset, seed 0 only",
    )
    p.add_argument(
        "--report-only",
        action="store_true",
        help="live mode: train nothing; report the runs already in the cache",
    )
    p.add_argument("--cv-folds", type=int, default=3, help="live mode: CV folds (default 3)")
    p.add_argument(
        "--max-rows",
        type=int,
        default=1000,
        help="live mode: subsample larger datasets to this many rows (default 1000)",
    )
    p.add_argument(
        "--trial-timeout",
        type=float,
        default=60.0,
        help="live mode: seconds of training after which an evaluation fails (default 60)",
    )
    p.add_argument(
        "--cache",
        default=None,
        metavar="DIR",
        help="live mode: run cache, one <method>.json.gz per method (default OUT/runs; the "
        "Makefile uses the committed benchmarks/live/runs)",
    )
    p.add_argument(
        "--summary",
        default=None,
        metavar="PATH",
        help="where the summary JSON goes: live mode, summary.json (default OUT/summary.json); "
        "replay, a compact summary of the headline numbers (only when given; make bench "
        "writes benchmarks/replay/summary.json)",
    )
    p.add_argument(
        "--ablation",
        default=None,
        metavar="PATH",
        help="live mode: add LIVE.md's ablation section from this summary.json of a smaller "
        "live run (make bench-live-ablation)",
    )


def _command(args: argparse.Namespace, settings: Any) -> str:
    parts = [
        f"{COMMAND} --live",
        f"--datasets {shlex.quote(args.datasets)}",
        f"--budget {settings.budget}",
        f"--seeds {settings.seeds}",
        "--families " + " ".join(settings.families),
        "--methods " + " ".join(settings.methods),
        f"--cv-folds {settings.cv_folds}",
        f"--max-rows {settings.max_rows}",
        f"--trial-timeout {settings.trial_time_limit:g}",
        f"--workers {settings.workers}",
    ]
    if args.holdout:
        parts.append("--holdout " + " ".join(args.holdout))
    if args.quick:
        parts.append("--quick")
    if args.bundle:
        parts.append(f"--bundle {shlex.quote(args.bundle)}")
    parts.append(f"--out {shlex.quote(args.out)}")
    if args.cache:
        parts.append(f"--cache {shlex.quote(args.cache)}")
    if args.summary:
        parts.append(f"--summary {shlex.quote(args.summary)}")
    if args.results_md:
        parts.append(f"--results-md {shlex.quote(args.results_md)}")
    if args.ablation:
        parts.append(f"--ablation {shlex.quote(args.ablation)}")
    return " ".join(parts)


def run_live_command(args: argparse.Namespace) -> int:
    from pathlib import Path

    from rich.table import Table

    from metahpo.errors import MetaHPOError
    from metahpo_bench import (
        LIVE_DEFAULT_METHODS,
        LIVE_METHODS,
        LiveSettings,
        holdout_datasets,
        run_live,
        write_live_report,
    )

    if not args.datasets:
        raise MetaHPOError("--live needs --datasets DIR: the folder to draw held-out datasets from")
    methods = tuple(args.methods) if args.methods else LIVE_DEFAULT_METHODS
    if methods == ("all",):
        methods = tuple(LIVE_METHODS)
    defaults = LiveSettings()
    settings = LiveSettings(
        budget=args.budget if args.budget is not None else defaults.budget,
        seeds=1 if args.quick else (args.seeds if args.seeds is not None else defaults.seeds),
        methods=methods,
        families=tuple(args.families) if args.families else defaults.families,
        cv_folds=args.cv_folds,
        max_rows=args.max_rows,
        trial_time_limit=args.trial_timeout,
        workers=args.workers,
    )
    settings.validate()
    holdout = tuple(args.holdout) if args.holdout else holdout_datasets(args.datasets)
    if args.quick:
        holdout = holdout[::3]
    outdir = Path(args.out)
    with progress_bar() as bar:
        task = bar.add_task("live", total=None)

        def on_progress(done: int, total: int, label: str) -> None:
            bar.update(task, total=total, completed=done, description=f"live {label}")

        result = run_live(
            args.datasets,
            settings,
            cache=args.cache or outdir / "runs",
            holdout=holdout,
            bundle=args.bundle,
            progress=on_progress,
            train=not args.report_only,
        )
    summary_path = Path(args.summary) if args.summary else outdir / "summary.json"
    md_path = Path(args.results_md) if args.results_md else outdir / "LIVE.md"
    summary = write_live_report(
        result, summary_path, md_path, _command(args, settings), ablation=args.ablation
    )
    if summary["methods"]:
        cuts = [t for t in summary["cutpoints"] if t in (1, 10, settings.budget)]
        table = Table(title=f"live: mean normalised regret ({summary['n_cells']} run cells)")
        table.add_column("method")
        for t in cuts:
            table.add_column(f"@{t}", justify="right")
        for m, e in summary["methods"].items():
            table.add_row(m, *(f"{e['mean'][summary['cutpoints'].index(t)]:.3f}" for t in cuts))
        out.print(table)
    for u, msg in result.errors:
        err.print(f"{u[2]} failed on {u[0]}/{u[1]} seed {u[3]}: {msg}")
    out.print(
        f"{result.n_new} runs trained, {len(result.runs)} in the grid, {result.seconds:.0f} s "
        f"-> {summary_path}, {md_path}"
    )
    return 0
