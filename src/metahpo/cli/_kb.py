"""``metahpo kb``: build, inspect, import and export experience."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from metahpo.cli._console import err, out, print_data_notes, progress_bar
from metahpo.errors import MetaHPOError


def register(sub: Any) -> None:
    kb = sub.add_parser("kb", help="knowledge base: build (and export), info, import")
    kb_sub = kb.add_subparsers(dest="kb_command", required=True, metavar="KB_COMMAND")

    b = kb_sub.add_parser("build", help="evaluate a shared design on a folder of datasets")
    b.add_argument("--datasets", required=True, help="folder of PMLB-style dataset folders")
    b.add_argument(
        "--models",
        nargs="+",
        default=None,
        help="families (default: all whose libraries are installed)",
    )
    b.add_argument("--configs", type=int, default=128, help="Sobol configurations per task")
    b.add_argument("--max-rows", type=int, default=2000, help="stratified subsample size")
    b.add_argument("--folds", type=int, default=3)
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--workers", type=int, default=1, help="parallel processes")
    b.add_argument(
        "--dask",
        default=None,
        metavar="ADDRESS",
        help="evaluate on a Dask cluster: a scheduler address (tcp://host:8786), or 'local' for "
        "a local cluster of --workers processes (needs the dask extra: pip install "
        "'metahpo[dask]'); workers need metahpo and the datasets at the same path",
    )
    b.add_argument("--only", nargs="+", default=None, help="restrict to these datasets")
    b.add_argument("--no-metafeatures", action="store_true", help="skip meta-features")
    b.add_argument("--storage", default="sqlite:///metahpo-kb.db", help="Optuna storage URL")
    b.add_argument(
        "--export",
        default=None,
        metavar="DIR",
        help="bundle folder: export each finished dataset there; datasets already in it "
        "are skipped",
    )
    b.set_defaults(run=_build)

    i = kb_sub.add_parser("info", help="what the experience holds")
    i.add_argument("--storage", default=None, help="also count the runs in this Optuna storage")
    i.add_argument("--bundle", default=None, help="bundle folder (default: the packaged one)")
    i.add_argument("--json", action="store_true", help="print JSON")
    i.set_defaults(run=_info)

    m = kb_sub.add_parser("import", help="turn an existing Optuna study into experience")
    from metahpo.cli._tune import add_data_arguments

    add_data_arguments(m)
    m.add_argument("--storage", required=True, help="Optuna storage URL holding the study")
    m.add_argument("--study", required=True, help="study name")
    m.add_argument("--model", default=None, help="family (default: best match by parameter names)")
    m.add_argument("--metric", default="objective", help="what the study's values measure")
    m.set_defaults(run=_import)


def _check_build(args: argparse.Namespace) -> None:
    """``kb build``'s numbers and paths, before any work: one line, exit 2."""
    from metahpo._files import check_outputs
    from metahpo.tuning import check_seed

    if args.configs < 1:
        raise MetaHPOError(f"--configs must be at least 1, got {args.configs}")
    if args.folds < 2:
        raise MetaHPOError(f"--folds must be at least 2, got {args.folds}")
    if args.max_rows < args.folds:
        raise MetaHPOError(
            f"--max-rows must be at least --folds ({args.folds}), got {args.max_rows}"
        )
    check_seed(args.seed)
    if args.workers < 1:
        raise MetaHPOError(f"--workers must be at least 1, got {args.workers}")
    check_outputs(
        {"--export": args.export},
        inputs={"the --datasets": args.datasets},
        storage=args.storage,
        folders=("--export",),
    )


def _build(args: argparse.Namespace) -> int:
    from metahpo.errors import SpaceError
    from metahpo.knowledge import BuildReport, BuildSettings, Bundle, KnowledgeStore, build
    from metahpo.spaces import FAMILY_NAMES, get_family

    _check_build(args)
    families = tuple(args.models) if args.models else FAMILY_NAMES
    for f in families:
        get_family(f)
        if args.models:  # the one-line error for a missing extra, before any work
            get_family(f).check_available()
    if not args.models:  # every family whose library is installed, and a word on the others
        missing: list[str] = []
        for f in FAMILY_NAMES:
            try:
                get_family(f).check_available()
            except SpaceError as exc:
                missing.append(f)
                err.print(f"skipping family {f}: {exc}", markup=False, soft_wrap=True)
        families = tuple(f for f in FAMILY_NAMES if f not in missing)
    settings = BuildSettings(
        families=families,
        n_configs=args.configs,
        max_rows=args.max_rows,
        folds=args.folds,
        seed=args.seed,
        metafeatures=not args.no_metafeatures,
    )
    store = KnowledgeStore(args.storage)
    with _executor(args) as (executor, slots), progress_bar() as bar:
        task = bar.add_task("kb build", total=None)

        def on_progress(report: BuildReport, label: str) -> None:
            bar.update(
                task,
                total=report.total - report.skipped,
                completed=report.done,
                description=f"kb build {label}",
            )

        report = build(
            args.datasets,
            store,
            settings,
            workers=slots,
            only=args.only,
            progress=on_progress,
            export=Bundle(args.export) if args.export else None,
            executor=executor,
        )
    for name, why in report.bad_datasets:
        err.print(f"skipped dataset {name}: {why}")
    out.print(
        f"evaluated {report.done} configurations ({report.failed} failed), "
        f"{report.skipped} already stored, {report.datasets} datasets, "
        f"{report.seconds:.0f} s -> {args.storage}"
    )
    return 0


@contextmanager
def _executor(args: argparse.Namespace) -> Iterator[tuple[Any, int]]:
    """``(executor, evaluations at once)``: a Dask cluster's with ``--dask``, else none."""
    if not args.dask:
        yield None, args.workers
        return
    import importlib

    try:  # untyped third-party API: kept as Any
        distributed: Any = importlib.import_module("dask.distributed")
    except ImportError:
        raise MetaHPOError("--dask needs the dask extra: pip install 'metahpo[dask]'") from None
    cluster = None
    try:
        if args.dask == "local":
            cluster = distributed.LocalCluster(
                n_workers=max(args.workers, 1),
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",
            )
            client = distributed.Client(cluster)
        else:
            client = distributed.Client(args.dask, timeout=10)
    except (OSError, TimeoutError) as exc:
        raise MetaHPOError(f"cannot reach the Dask scheduler {args.dask}: {exc}") from None
    try:
        slots = max(sum(client.nthreads().values()), 1)
        yield client.get_executor(), slots
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _experience(args: argparse.Namespace) -> Any:
    from metahpo.knowledge import (
        DEFAULT_BUNDLE,
        Bundle,
        KnowledgeStore,
        from_store,
        load_bundled,
        require_existing,
    )

    if args.bundle is not None and not Bundle(args.bundle).exists():
        raise MetaHPOError(f"--bundle {args.bundle}: not a bundle folder (no manifest in it)")
    if args.storage:
        require_existing(args.storage)
    bundled = load_bundled(args.bundle or DEFAULT_BUNDLE)
    if not args.storage:
        return bundled
    user = from_store(KnowledgeStore(args.storage), bundled.metafeature_names)
    return bundled + user


def _info(args: argparse.Namespace) -> int:
    import json

    from rich.table import Table

    summary = _experience(args).summary()
    if args.json:
        out.print_json(json.dumps(summary))
        return 0
    table = Table(title=f"experience ({summary['version'] or 'empty'})")
    table.add_column("")
    table.add_column("value", justify="right")
    table.add_row("datasets", str(summary["datasets"]))
    table.add_row("tasks (dataset x family)", str(summary["tasks"]))
    for fam, n in sorted(summary["families"].items()):
        table.add_row(f"  {fam}", str(n))
    table.add_row("evaluations", f"{summary['evaluations']:,}")
    table.add_row("configurations per task (median)", f"{summary['configs_per_task_median']:g}")
    table.add_row("meta-features", str(len(summary["metafeatures"])))
    out.print(table)
    return 0


def _import(args: argparse.Namespace) -> int:
    from metahpo.datasets import load_dataset
    from metahpo.knowledge import KnowledgeStore, import_study, require_existing

    require_existing(args.storage)
    dataset = load_dataset(args.data, target=args.target, task=args.task)
    print_data_notes(dataset)
    report = import_study(
        KnowledgeStore(args.storage), args.study, dataset, family=args.model, metric=args.metric
    )
    out.print(
        f"imported study {report.study!r}: {report.n_trials} completed trials as {report.family} "
        f"experience on {dataset.name}"
    )
    out.print(f"matched parameters: {', '.join(report.matched)}")
    if report.unmatched:
        err.print(f"unmatched parameters (ignored): {', '.join(report.unmatched)}")
    if report.missing:
        err.print(f"space parameters the study lacks (default used): {', '.join(report.missing)}")
    return 0
