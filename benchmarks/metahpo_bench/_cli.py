"""``metahpo-bench``: replay benchmark of meta-learned and classic optimizers (the arguments of
the former ``metahpo bench``)."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path
from typing import Any

from metahpo_bench._cli_live import COMMAND, add_live_arguments, run_live_command
from metahpo_bench._console import err, out, progress_bar
from metahpo_bench._time_cli import add_time_arguments, run_time_command

#: Shown in --help; the library validates names (and lists them all on a mistake).
_METHOD_HELP = (
    "methods to compare (default: the fast set: default random tpe cmaes qmc evolution nearest "
    "portfolio mapping surrogate, neural and nearest-ae with torch, meta-tpe meta-cmaes "
    "meta-evolution meta-transfer meta-rl meta-random; 'all' adds gp, gp-ei, meta-gp and "
    "meta-maml and meta-fsbo, which cost more per run; --time: metahpo flaml tpe-hb gp "
    "metahpo-nofid, 'all' adds tpe)"
)


DESCRIPTION = (
    "Replay benchmark: every (dataset, family) task of the experience is held out once "
    "(grouped K-fold over datasets); each method picks configurations among the task's "
    "stored evaluations and the normalised regret is recorded. Writes results.json, "
    "summary.md and plots to --out; rerunning with the same --out resumes. With --live: the "
    "live benchmark of record (real training on held-out datasets); with --time: the TIME "
    "benchmark (the test score after T seconds of one core)."
)


def add_arguments(p: Any) -> None:
    """Every option of ``metahpo-bench`` (replay, external and live modes)."""
    p.add_argument(
        "--budget", type=int, default=None, help="evaluations per run (default 50; live: 30)"
    )
    p.add_argument(
        "--seeds", type=int, default=None, help="runs per method and task (default 5; live: 2)"
    )
    p.add_argument("--folds", type=int, default=5, help="grouped folds over datasets (default 5)")
    p.add_argument(
        "--families",
        nargs="+",
        default=None,
        help="families (default: all; live: hgb lgbm xgb rf svm mlp)",
    )
    p.add_argument("--methods", nargs="+", default=None, help=_METHOD_HELP)
    p.add_argument(
        "--datasets",
        default=None,
        metavar="DIR",
        help="a folder of datasets (shared datasets layout). Replay: build their pools with the "
        "knowledge-base build (resumable) and benchmark them with meta-learners trained on the "
        "whole bundled experience. With --live: the folder the held-out datasets are drawn from",
    )
    add_live_arguments(p)
    add_time_arguments(p)
    p.add_argument("--out", default="bench-out", help="output folder, also the resume cache")
    p.add_argument("--bundle", default=None, help="bundle folder (default: the packaged one)")
    p.add_argument("--workers", type=int, default=2, help="parallel processes (default 2)")
    p.add_argument(
        "--fresh",
        action="store_true",
        help="discard the runs cached in --out instead of resuming (external mode keeps its pools)",
    )
    p.add_argument(
        "--results-md",
        default=None,
        metavar="PATH",
        help="also copy the Markdown summary here (the Makefile's bench target writes "
        "benchmarks/RESULTS.md)",
    )
    p.set_defaults(run=_run)


def _command(args: argparse.Namespace) -> str:
    """The canonical command line of this run (quoted in the summary)."""
    parts = [
        COMMAND,
        f"--budget {args.budget}",
        f"--seeds {args.seeds}",
        f"--folds {args.folds}",
        f"--workers {args.workers}",
    ]
    if args.families:
        parts.append("--families " + " ".join(args.families))
    if args.methods:
        parts.append("--methods " + " ".join(args.methods))
    if args.bundle:
        parts.append(f"--bundle {shlex.quote(args.bundle)}")
    if args.datasets:
        parts.append(f"--datasets {shlex.quote(args.datasets)}")
    parts.append(f"--out {shlex.quote(args.out)}")
    if args.results_md:
        parts.append(f"--results-md {shlex.quote(args.results_md)}")
    if args.summary:
        parts.append(f"--summary {shlex.quote(args.summary)}")
    return " ".join(parts)


def _copy_outputs(
    args: argparse.Namespace, written: dict[str, Path], meta: dict[str, bool]
) -> dict[str, Any]:
    """``--results-md`` and ``--summary`` (the compact summary) written from the report in
    ``--out``; ``results.json``'s payload."""
    import json

    from metahpo_bench._console import atomic_write
    from metahpo_bench._report import compact_summary

    if args.results_md:
        target = Path(args.results_md)
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(target, written["markdown"].read_bytes())
        written["results_md"] = target
    payload: dict[str, Any] = json.loads(written["json"].read_text(encoding="utf-8"))
    if args.summary:
        target = Path(args.summary)
        target.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(compact_summary(payload, meta), indent=1) + "\n"
        atomic_write(target, text.encode("utf-8"))
        written["summary"] = target
    return payload


def _print_summary(summary: dict[str, Any]) -> None:
    """The mean normalised regret at 1, 10 and the budget and the final rank of each method
    over all tasks (stdout), and each method excluded for failures (stderr)."""
    from rich.table import Table

    everything = summary["splits"].get("all")
    if everything:
        cuts = [t for t in summary["cutpoints"] if t in (1, 10, summary["budget"])]
        table = Table(title=f"mean normalised regret ({everything['n_runs']} runs per method)")
        table.add_column("method")
        for t in cuts:
            table.add_column(f"@{t}", justify="right")
        table.add_column(f"rank @{cuts[-1]}", justify="right")
        for m in summary["methods"]:
            e = everything["methods"][m]
            table.add_row(m, *(f"{e['mean'][t - 1]:.3f}" for t in cuts), f"{e['rank'][-1]:.2f}")
        out.print(table)
    for m, info in summary["excluded"].items():
        err.print(f"method {m} failed on {info['failed_runs']} runs: {info['first_error']}")


def _run(args: argparse.Namespace) -> int:
    from metahpo.errors import MetaHPOError
    from metahpo.knowledge import DEFAULT_BUNDLE, load_bundled
    from metahpo_bench import (
        DEFAULT_METHODS,
        METHODS,
        BenchSettings,
        run_external,
        run_replay,
        write_report,
    )
    from metahpo_bench._console import check_outputs

    if args.live and args.time:
        raise MetaHPOError("--live and --time are two benchmarks; give one of them")
    live = {"--cache": args.cache} if args.live or args.time else {}
    check_outputs(  # the folders of the outputs are made as needed
        {"--out": args.out, "--results-md": args.results_md, "--summary": args.summary, **live},
        inputs={"the --datasets": args.datasets, "the --bundle": args.bundle},
    )
    if args.live:
        return run_live_command(args)
    if args.time:
        return run_time_command(args)
    args.budget = 50 if args.budget is None else args.budget
    args.seeds = 5 if args.seeds is None else args.seeds
    methods = tuple(args.methods) if args.methods else DEFAULT_METHODS
    if methods == ("all",):
        methods = tuple(METHODS)
    result: Any
    with progress_bar() as bar:
        task = bar.add_task("bench", total=None)

        def on_progress(done: int, total: int, label: str) -> None:
            bar.update(task, total=total, completed=done, description=f"bench {label}")

        def on_build(done: int, total: int, label: str) -> None:
            bar.update(task, total=total, completed=done, description=f"pools {label}")

        settings = BenchSettings(
            budget=args.budget,
            seeds=args.seeds,
            folds=args.folds,
            methods=methods,
            families=tuple(args.families) if args.families else None,
        )
        if args.datasets:
            result = run_external(
                args.datasets,
                settings,
                out=args.out,
                bundle=args.bundle or DEFAULT_BUNDLE,
                workers=args.workers,
                build_progress=on_build,
                progress=on_progress,
                fresh=args.fresh,
            )
        else:
            result = run_replay(
                load_bundled(args.bundle or DEFAULT_BUNDLE),
                settings,
                out=args.out,
                workers=args.workers,
                progress=on_progress,
                fresh=args.fresh,
            )
    written = write_report(result, args.out, command=_command(args))
    payload = _copy_outputs(args, written, {m: METHODS[m].meta for m in methods})
    _print_summary(payload["summary"])
    out.print(
        f"{result.n_new} runs computed, {len(result.runs)} in total, "
        f"{result.seconds:.0f} s -> " + ", ".join(str(p) for p in written.values())
    )
    return 0
