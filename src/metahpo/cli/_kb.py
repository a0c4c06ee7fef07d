"""``metahpo kb``: build, inspect, import and export experience."""

from __future__ import annotations

import argparse
from typing import Any

from metahpo.cli._console import err, out, progress_bar


def register(sub: Any) -> None:
    kb = sub.add_parser("kb", help="knowledge base: build, info, import, export")
    kb_sub = kb.add_subparsers(dest="kb_command", required=True, metavar="KB_COMMAND")

    b = kb_sub.add_parser("build", help="evaluate a shared design on a folder of datasets")
    b.add_argument("--datasets", required=True, help="folder of PMLB-style dataset folders")
    b.add_argument("--models", nargs="+", default=None, help="families (default: all)")
    b.add_argument("--configs", type=int, default=128, help="Sobol configurations per task")
    b.add_argument("--max-rows", type=int, default=2000, help="stratified subsample size")
    b.add_argument("--folds", type=int, default=3)
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--workers", type=int, default=1, help="parallel processes")
    b.add_argument("--only", nargs="+", default=None, help="restrict to these datasets")
    b.add_argument("--no-metafeatures", action="store_true", help="skip meta-features")
    b.add_argument("--storage", default="sqlite:///metahpo-kb.db", help="Optuna storage URL")
    b.add_argument(
        "--export", default=None, metavar="DIR",
        help="bundle folder: export each finished dataset there; datasets already in it are skipped",
    )
    b.set_defaults(run=_build)


def _build(args: argparse.Namespace) -> int:
    from metahpo.knowledge import Bundle, BuildReport, BuildSettings, KnowledgeStore, build
    from metahpo.spaces import FAMILY_NAMES, get_family

    families = tuple(args.models) if args.models else FAMILY_NAMES
    for f in families:
        get_family(f)
    settings = BuildSettings(
        families=families,
        n_configs=args.configs,
        max_rows=args.max_rows,
        folds=args.folds,
        seed=args.seed,
        metafeatures=not args.no_metafeatures,
    )
    store = KnowledgeStore(args.storage)
    with progress_bar() as bar:
        task = bar.add_task("kb build", total=None)

        def on_progress(report: BuildReport, label: str) -> None:
            bar.update(
                task,
                total=report.total - report.skipped,
                completed=report.done,
                description=f"kb build {label}",
            )

        report = build(
            args.datasets, store, settings, workers=args.workers, only=args.only,
            progress=on_progress, export=Bundle(args.export) if args.export else None,
        )
    for name, why in report.bad_datasets:
        err.print(f"skipped dataset {name}: {why}")
    out.print(
        f"evaluated {report.done} configurations ({report.failed} failed), "
        f"{report.skipped} already stored, {report.datasets} datasets, "
        f"{report.seconds:.0f} s -> {args.storage}"
    )
    return 0
