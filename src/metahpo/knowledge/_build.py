"""Building experience: evaluate a shared design of configurations on a folder of datasets.

For every (dataset, family) the build evaluates the library default (design index 0) and
``n_configs`` configurations of a scrambled Sobol design (indices 1..n) that is the same for all
datasets, with the same seeded folds, recording several metrics per evaluation. Every evaluation
is one Optuna trial written as soon as it is done, tagged with its design index, so a build that
is killed (even with ``kill -9``) resumes by skipping the indices already stored: each
(dataset, family, index) is evaluated exactly once.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from metahpo.datasets import Dataset, list_dataset_folders, load_dataset
from metahpo.errors import DataError
from metahpo.evaluation import (
    BUILD_METRICS,
    DEFAULT_METRIC,
    Evaluation,
    evaluate,
    get_metric,
    make_folds,
)
from metahpo.knowledge._bundle import Bundle, ShardMeta, shard_arrays
from metahpo.knowledge._records import TaskRecord
from metahpo.knowledge._store import KnowledgeStore
from metahpo.spaces import FAMILY_NAMES, get_family, get_space, sobol_design


@dataclass(frozen=True)
class BuildSettings:
    """How a knowledge base is built (recorded in the exported artifact)."""

    families: tuple[str, ...] = FAMILY_NAMES
    n_configs: int = 128
    max_rows: int = 2000
    folds: int = 3
    seed: int = 0
    chunk: int = 8
    metafeatures: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {
            "families": list(self.families),
            "n_configs": self.n_configs,
            "max_rows": self.max_rows,
            "folds": self.folds,
            "seed": self.seed,
            "subsample": "stratified by class (classification) / uniform (regression), seeded",
        }


@dataclass
class BuildReport:
    """Counts of a build run (mutable while the build is running)."""

    total: int = 0
    done: int = 0
    skipped: int = 0
    failed: int = 0
    datasets: int = 0
    bad_datasets: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0


ProgressFn = Callable[[BuildReport, str], None]


def study_name(dataset: str, family: str) -> str:
    """Name of the build study of one (dataset, family)."""
    return f"kb:{dataset}:{family}"


def design(family: str, task: str, n_configs: int, seed: int = 0) -> list[dict[str, Any]]:
    """The shared build design: index 0 is the library default, 1..n a scrambled Sobol design."""
    space = get_space(family, task)
    return [space.default_config(), *sobol_design(space, n_configs, seed)]


@lru_cache(maxsize=2)
def _prepared(path: str, max_rows: int, seed: int) -> Dataset:
    return load_dataset(path).subsample(max_rows, seed=seed)


def _evaluate_chunk(
    path: str, family: str, indices: Sequence[int], settings: BuildSettings
) -> list[tuple[int, Evaluation]]:
    ds = _prepared(path, settings.max_rows, settings.seed)
    folds = make_folds(ds, settings.folds, settings.seed)
    configs = design(family, ds.task, settings.n_configs, settings.seed)
    return [
        (
            i,
            evaluate(
                ds,
                family,
                configs[i],
                metric=DEFAULT_METRIC[ds.task],
                extra_metrics=BUILD_METRICS[ds.task],
                folds=folds,
                seed=settings.seed,
            ),
        )
        for i in indices
    ]


def _evaluate_chunk_one_thread(
    path: str, family: str, indices: Sequence[int], settings: BuildSettings
) -> list[tuple[int, Evaluation]]:
    """:func:`_evaluate_chunk` limited to one BLAS / OpenMP thread (for executors, such as a
    Dask cluster's, whose workers metahpo does not start itself)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        return _evaluate_chunk(path, family, indices, settings)


def _drain(
    executor: Executor,
    slots: int,
    jobs: Iterator[tuple[str, str, list[int]]],
    settings: BuildSettings,
    write: Callable[[str, str, list[tuple[int, Evaluation]]], None],
    task: Callable[..., list[tuple[int, Evaluation]]],
) -> None:
    """Submit the chunks, at most ``2 * slots`` in flight, and write each result as it comes.

    Only this process writes to the store, so any executor works with any storage (SQLite
    included); a chunk lost with its worker is simply redone by the next run.
    """
    pending: dict[Future[list[tuple[int, Evaluation]]], tuple[str, str]] = {}
    for folder, family, indices in jobs:
        pending[executor.submit(task, folder, family, indices, settings)] = (folder, family)
        while len(pending) >= 2 * slots:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in finished:
                write(*pending.pop(fut), fut.result())
    while pending:
        finished, _ = wait(pending, return_when=FIRST_COMPLETED)
        for fut in finished:
            write(*pending.pop(fut), fut.result())


def _limit_threads() -> None:
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)


def _estimated_cost(folder: Path, max_rows: int) -> float:
    index = folder.parent / "index.json"
    if index.exists():
        info = _index(str(index)).get(folder.name)
        if info:
            return float(min(info["n"], max_rows) * max(info["p"], 1))
    return float(sum(f.stat().st_size for f in folder.iterdir()))


@lru_cache(maxsize=4)
def _index(path: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(Path(path).read_text())
    return loaded


def task_record(
    ds: Dataset, family: str, settings: BuildSettings, metafeatures: dict[str, float]
) -> TaskRecord:
    space = get_space(family, ds.task)
    metric = get_metric(DEFAULT_METRIC[ds.task], ds.task)
    return TaskRecord.describe(
        ds,
        space,
        metric=metric.name,
        direction=metric.direction,
        metafeatures=metafeatures,
        source="build",
        folds=settings.folds,
        seed=settings.seed,
    )


def refresh_metafeatures(
    bundle: Bundle, datasets_dir: str | Path, settings: BuildSettings, *, force: bool = False
) -> int:
    """Compute the meta-features of every exported dataset that lacks them; returns the count.

    Meta-features are cheap next to evaluations, so they live apart from the shards and are
    recomputed for all datasets whenever the meta-feature set changes (or with ``force``).
    They are computed on the same subsample the evaluations used.
    """
    from metahpo.metafeatures import METAFEATURE_NAMES, compute_metafeatures

    names, stored = bundle.read_metafeatures()
    vectors: dict[str, list[float]] = {k: v.tolist() for k, v in stored.items()}
    if force or list(names) != list(METAFEATURE_NAMES):
        vectors = {}
    todo = [n for n in bundle.shard_names() if n not in vectors]
    root = Path(datasets_dir)
    for name in todo:
        ds = _prepared(str(root / name), settings.max_rows, settings.seed)
        mf = compute_metafeatures(ds, seed=settings.seed)
        vectors[name] = [mf[k] for k in METAFEATURE_NAMES]
    if todo or list(names) != list(METAFEATURE_NAMES):
        bundle.write_metafeatures(METAFEATURE_NAMES, vectors)
    return len(todo)


def _folders(
    datasets_dir: str | Path, settings: BuildSettings, only: Sequence[str] | None
) -> list[Path]:
    """The dataset folders to build, restricted to ``only``, cheapest first."""
    folders = list_dataset_folders(datasets_dir)
    if only:
        wanted = set(only)
        missing = wanted - {f.name for f in folders}
        if missing:
            raise DataError(f"datasets not found in {datasets_dir}: {', '.join(sorted(missing))}")
        folders = [f for f in folders if f.name in wanted]
    folders.sort(key=lambda f: (_estimated_cost(f, settings.max_rows), f.name))
    return folders


def _open_export(export: Bundle, settings: BuildSettings) -> dict[str, ShardMeta]:
    """Initialise (or check) the export bundle; the shards it already holds, by dataset name."""
    export.initialise(
        settings.to_dict(),
        {
            f: {
                t: design(f, t, settings.n_configs, settings.seed)
                for t in ("classification", "regression")
            }
            for f in settings.families
        },
    )
    return {name: export.shard_meta(name) for name in export.shard_names()}


@dataclass
class _BuildRun:
    """What one :func:`build` call shares between planning, writing and exporting."""

    datasets_dir: str | Path
    store: KnowledgeStore
    settings: BuildSettings
    report: BuildReport
    export: Bundle | None
    exported: dict[str, ShardMeta]
    progress: ProgressFn | None
    t0: float
    remaining: dict[str, int] = field(default_factory=dict)
    # folder -> the families this build evaluates
    evaluated: dict[str, list[str]] = field(default_factory=dict)

    def export_dataset(self, folder: str) -> None:
        """Write (or extend) one complete dataset's shard in the export bundle."""
        export, settings = self.export, self.settings
        if export is None:
            return
        ds = _prepared(folder, settings.max_rows, settings.seed)
        families = self.evaluated[folder]
        trials = {f: self.store.trials(study_name(ds.name, f)) for f in families}
        values, fit_time = shard_arrays(trials, ds.task, settings.n_configs)
        if ds.name in self.exported:  # extend the shard: the families it holds stay as they are
            old, old_values, old_time = export.read_shard(ds.name)
            families = [*old.families, *families]
            values = np.concatenate([old_values, values])
            fit_time = np.concatenate([old_time, fit_time])
        meta = ShardMeta(
            ds.name, ds.task, ds.fingerprint(), ds.n_rows, ds.n_features, tuple(families)
        )
        export.write_shard(meta, values, fit_time)
        self.exported[ds.name] = meta
        if settings.metafeatures:
            refresh_metafeatures(export, self.datasets_dir, settings)

    def jobs(self, folders: list[Path]) -> Iterator[tuple[str, str, list[int]]]:
        """The chunks still to evaluate, dataset by dataset: ``(folder, family, indices)``."""
        settings, report = self.settings, self.report
        for folder in folders:
            shard = self.exported.get(folder.name)
            have = set(shard.families) if shard is not None else set()
            families = [f for f in settings.families if f not in have]
            report.skipped += (len(settings.families) - len(families)) * (settings.n_configs + 1)
            if not families:
                continue
            ds = self._open(folder, shard, families)
            if ds is None:
                continue
            report.datasets += 1
            self.evaluated[str(folder)] = families
            todo_by_family = self._plan(ds, families)
            self.remaining[str(folder)] = sum(map(len, todo_by_family.values()))
            if self.remaining[str(folder)] == 0:
                self.export_dataset(str(folder))
            for family, todo in todo_by_family.items():
                for k in range(0, len(todo), settings.chunk):
                    yield str(folder), family, todo[k : k + settings.chunk]

    def _open(self, folder: Path, shard: ShardMeta | None, families: list[str]) -> Dataset | None:
        """The prepared dataset, or ``None`` (reported, its evaluations skipped) if unusable."""
        settings = self.settings
        try:
            ds = _prepared(str(folder), settings.max_rows, settings.seed)
            if shard is not None and shard.fingerprint != ds.fingerprint():
                raise DataError(
                    "its exported shard was built on other data (fingerprint differs); "
                    "remove the shard to rebuild the dataset"
                )
        except DataError as exc:
            self.report.bad_datasets.append((folder.name, str(exc)))
            self.report.skipped += len(families) * (settings.n_configs + 1)
            return None
        return ds

    def _plan(self, ds: Dataset, families: list[str]) -> dict[str, list[int]]:
        """Create each family's study and return the design indices it still lacks."""
        settings = self.settings
        mf: dict[str, float] = {}
        if settings.metafeatures:
            from metahpo.metafeatures import compute_metafeatures

            mf = compute_metafeatures(ds, seed=settings.seed)
        todo_by_family: dict[str, list[int]] = {}
        for family in families:
            name = study_name(ds.name, family)
            self.store.create_task(name, task_record(ds, family, settings, mf))
            done = self.store.done_indices(name)
            self.report.skipped += len(done)
            todo_by_family[family] = [i for i in range(settings.n_configs + 1) if i not in done]
        return todo_by_family

    def write(self, folder: str, family: str, results: list[tuple[int, Evaluation]]) -> None:
        """Store one chunk's evaluations; export the dataset once it is complete."""
        settings, report = self.settings, self.report
        ds = _prepared(folder, settings.max_rows, settings.seed)
        name = study_name(ds.name, family)
        space = get_space(family, ds.task)
        import optuna

        study = optuna.load_study(study_name=name, storage=self.store.storage)
        for index, ev in results:
            self.store.add_evaluation(study, space, ev, index)
            report.done += 1
            report.failed += 0 if ev.ok else 1
        self.remaining[folder] -= len(results)
        if self.remaining[folder] == 0:
            self.export_dataset(folder)
        report.seconds = time.perf_counter() - self.t0
        if self.progress is not None:
            self.progress(report, f"{ds.name}/{family}")


def build(
    datasets_dir: str | Path,
    store: KnowledgeStore,
    settings: BuildSettings = BuildSettings(),
    *,
    workers: int = 1,
    only: Sequence[str] | None = None,
    progress: ProgressFn | None = None,
    export: Bundle | None = None,
    executor: Executor | None = None,
) -> BuildReport:
    """Evaluate the design on every dataset folder below ``datasets_dir``; resumable.

    Args:
        datasets_dir: A folder of PMLB-style dataset folders.
        store: Where evaluations go (one study per dataset and family).
        settings: Design size, subsampling, folds, seed and families.
        workers: Processes evaluating in parallel (each limited to one thread); with
            ``executor``, the number of evaluations it runs at once.
        only: Restrict to these dataset names.
        progress: Called after each written chunk with the running report and a label.
        export: A bundle folder; each dataset is exported to it as soon as all its families
            are complete, and the families a dataset's shard already holds there are not
            evaluated again (this is what lets a build resume on a new machine from committed
            shards, and add a family to a bundle: its shards are extended with it).
        executor: Evaluate on this :class:`concurrent.futures.Executor` instead of local
            processes, for example a Dask cluster's (``Client(address).get_executor()``). Its
            workers need metahpo installed and the dataset folders at the same path; results
            come back here, and only this process writes to the store.

    Datasets are processed from the cheapest to the most expensive, so that complete datasets
    accumulate early. A dataset that cannot be loaded is reported, not fatal.

    Raises:
        SpaceError: A family needs a library that is not installed (``lgbm``, ``xgb``).
        KnowledgeBaseError: ``export`` holds a bundle of other settings or spaces.
    """
    t0 = time.perf_counter()
    for family in settings.families:
        get_family(family).check_available()
    folders = _folders(datasets_dir, settings, only)
    per_dataset = len(settings.families) * (settings.n_configs + 1)
    report = BuildReport(total=len(folders) * per_dataset)
    exported = _open_export(export, settings) if export is not None else {}
    run = _BuildRun(datasets_dir, store, settings, report, export, exported, progress, t0)
    jobs = run.jobs(folders)  # a generator: datasets are prepared as their chunks are submitted
    if executor is not None:
        _drain(executor, max(workers, 1), jobs, settings, run.write, _evaluate_chunk_one_thread)
    elif workers <= 1:
        for folder, family, indices in jobs:
            run.write(folder, family, _evaluate_chunk(folder, family, indices, settings))
    else:
        import multiprocessing as mp

        ctx = mp.get_context("fork" if os.name == "posix" else "spawn")
        with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_limit_threads) as pool:
            _drain(pool, workers, jobs, settings, run.write, _evaluate_chunk)
    if export is not None and settings.metafeatures:
        refresh_metafeatures(export, datasets_dir, settings)
    report.seconds = time.perf_counter() - t0
    return report
