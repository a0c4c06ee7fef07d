"""``metahpo-bench --time``: the TIME benchmark (test score after T seconds of one core)."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path
from typing import Any

from metahpo_bench._console import err, out, progress_bar


def add_time_arguments(p: Any) -> None:
    """The options of ``metahpo-bench --time`` (it shares --datasets, --seeds, --families,
    --methods, --workers, --holdout, --quick, --report-only, --cache, --summary, --results-md,
    --bundle and --out with the live mode)."""
    p.add_argument(
        "--time",
        action="store_true",
        help="TIME mode, the second benchmark of record: the test score after T seconds of one "
        "core on the datasets of --datasets with 10,000 rows or more (each held out from the "
        "experience by generator family), at 10/25/50/100 %% of T; cached runs. --quick: 4 "
        "datasets of 10k-60k rows, lgbm, T=60, seed 0",
    )
    p.add_argument(
        "--time-budgets",
        nargs="+",
        type=float,
        default=None,
        metavar="SECONDS",
        help="TIME mode: the budgets T in seconds of one core (default 60 300; --quick 60)",
    )


def _command(args: argparse.Namespace, settings: Any, names: tuple[str, ...]) -> str:
    parts = [
        "metahpo-bench --time",
        f"--datasets {shlex.quote(args.datasets)}",
        "--time-budgets " + " ".join(f"{t:g}" for t in settings.budgets),
        f"--seeds {settings.seeds}",
        "--families " + " ".join(settings.families),
        "--methods " + " ".join(settings.methods),
        f"--workers {settings.workers}",
    ]
    if args.quick:
        parts.append("--quick")
    if args.holdout:
        parts.append("--holdout " + " ".join(names))
    if args.bundle:
        parts.append(f"--bundle {shlex.quote(args.bundle)}")
    for option in ("cache", "summary", "results_md"):
        value = getattr(args, option)
        if value:
            parts.append(f"--{option.replace('_', '-')} {shlex.quote(value)}")
    return " ".join(parts)


def _settings(args: argparse.Namespace) -> Any:
    from metahpo_bench._time_protocol import QUICK_BUDGET, TIME_METHODS, TimeSettings

    defaults = TimeSettings()
    methods = tuple(args.methods) if args.methods else defaults.methods
    if methods == ("all",):
        methods = tuple(TIME_METHODS)
    budgets = (QUICK_BUDGET,) if args.quick else defaults.budgets
    families = ("lgbm",) if args.quick else defaults.families
    return TimeSettings(
        budgets=tuple(args.time_budgets) if args.time_budgets else budgets,
        seeds=1 if args.quick else (args.seeds if args.seeds is not None else defaults.seeds),
        methods=methods,
        families=tuple(args.families) if args.families else families,
        workers=args.workers,
    )


def _print(summary: dict[str, Any]) -> None:
    from rich.table import Table

    for budget, entry in summary["budgets"].items():
        g = entry["all"]
        table = Table(
            title=f"TIME, T = {budget} s: mean normalised test regret ({g['n_cells']} cells)"
        )
        table.add_column("method")
        for f in summary["protocol"]["checkpoints"]:
            table.add_column(f"{100 * f:g} %", justify="right")
        table.add_column("no model @100 %", justify="right")
        for m, e in g["methods"].items():
            table.add_row(m, *(f"{v:.3f}" for v in e["mean"]), str(e["no_model_final"]))
        out.print(table)


def run_time_command(args: argparse.Namespace) -> int:
    """``metahpo-bench --time``: run (or resume) the grid, write summary.json and TIME.md."""
    from metahpo.errors import MetaHPOError
    from metahpo_bench._time import grid_datasets, run_time
    from metahpo_bench._time_report import write_time_report

    if not args.datasets:
        raise MetaHPOError("--time needs --datasets DIR: the folder of the shared datasets")
    settings = _settings(args)
    settings.validate()
    names = tuple(args.holdout) if args.holdout else grid_datasets(args.datasets, quick=args.quick)
    outdir = Path(args.out)
    with progress_bar() as bar:
        task = bar.add_task("time", total=None)

        def on_progress(done: int, total: int, label: str) -> None:
            bar.update(task, total=total, completed=done, description=f"time {label}")

        result = run_time(
            args.datasets,
            settings,
            cache=args.cache or outdir / "runs",
            names=names,
            bundle=args.bundle,
            progress=on_progress,
            train=not args.report_only,
        )
    summary_path = Path(args.summary) if args.summary else outdir / "summary.json"
    md_path = Path(args.results_md) if args.results_md else outdir / "TIME.md"
    summary = write_time_report(result, summary_path, md_path, _command(args, settings, names))
    _print(summary)
    for u, msg in result.errors:
        err.print(f"{u[2]} failed on {u[0]}/{u[1]} T={u[3]:g} seed {u[4]}: {msg}")
    out.print(
        f"{result.n_new} runs done, {len(result.runs)} in the grid, {result.seconds:.0f} s "
        f"-> {summary_path}, {md_path}"
    )
    return 0
