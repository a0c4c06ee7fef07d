"""Live benchmark: real training on held-out datasets, equal evaluation budgets, cached runs.

Every method tunes every (held-out dataset, family) ``seeds`` times with ``budget`` real
cross-validated evaluations (protocol in :mod:`metahpo_bench._live_protocol`). Each finished
run is one cached record (:mod:`metahpo_bench._live_cache`), so the grid resumes after a kill
at any moment and a new method variant costs only its own runs. Runs go to ``workers``
processes, each training with one thread.

Meta-learned methods learn from the bundled experience (or the one given) minus every task of
the held-out dataset's generator family (:func:`~metahpo_bench._live_protocol.group_key`).
"""

from __future__ import annotations

import json
import os
import time
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from metahpo.errors import MetaHPOError
from metahpo_bench._live_cache import LiveRun, RunCache
from metahpo_bench._live_protocol import (
    LIVE_METHODS,
    LiveSettings,
    group_key,
    run_fingerprint,
    select_holdout,
)
from metahpo_bench._queue import drain, failure_text
from metahpo_bench._replay import run_seed

#: One run of the grid: (dataset, family, method, seed).
Unit = tuple[str, str, str, int]


@dataclass(frozen=True)
class LiveResult:
    """What :func:`run_live` measured: the settings and every run of the grid."""

    settings: LiveSettings
    holdout: tuple[str, ...]
    runs: tuple[LiveRun, ...]
    errors: tuple[tuple[Unit, str], ...]
    experience_version: str
    excluded: dict[str, tuple[str, ...]]
    seconds: float
    n_new: int


def holdout_datasets(
    folder: str | Path, n: int | None = None, seed: int | None = None
) -> tuple[str, ...]:
    """The held-out draw of record from ``folder/index.json`` (see :func:`select_holdout`)."""
    index_path = Path(folder) / "index.json"
    if not index_path.exists():
        raise MetaHPOError(f"{index_path} not found: the held-out draw needs the folder's index")
    index = json.loads(index_path.read_text(encoding="utf-8"))
    kwargs: dict[str, Any] = {}
    if n is not None:
        kwargs["n"] = n
    if seed is not None:
        kwargs["seed"] = seed
    return select_holdout(index, **kwargs)


@lru_cache(maxsize=4)
def _dataset(folder: str, name: str, max_rows: int) -> Any:
    from metahpo.datasets import load_dataset

    return load_dataset(Path(folder) / name).subsample(max_rows, seed=0)


@lru_cache(maxsize=2)
def _experience(bundle: str | None) -> Any:
    from metahpo.knowledge import DEFAULT_BUNDLE, load_bundled

    return load_bundled(bundle or DEFAULT_BUNDLE)


def _without_group(experience: Any, dataset: str) -> Any:
    key = group_key(dataset)
    return replace(
        experience, tasks=tuple(t for t in experience.tasks if group_key(t.dataset) != key)
    )


def _limit_threads() -> None:
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass


def _run_unit(
    unit: Unit, folder: str, settings: LiveSettings, bundle: str | None, fingerprint: str
) -> LiveRun:
    """One run, in a worker process (or inline): train, time, return the record."""
    import optuna
    from threadpoolctl import threadpool_limits

    from metahpo.evaluation import make_folds
    from metahpo_bench._live_runners import Objective, run_method

    name, family, method_name, seed = unit
    method = LIVE_METHODS[method_name]
    ds = _dataset(folder, name, settings.max_rows)
    s = run_seed(seed, ds.name, family) % (2**31)
    objective = Objective(ds, family, make_folds(ds, settings.cv_folds, s), s, settings)
    experience = _without_group(_experience(bundle), name) if method.kind == "meta" else None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        setup = run_method(method, objective, experience)
    run = objective.record(method_name, fingerprint, setup)
    return replace(run, seed=seed)


def _worker_init() -> None:
    _limit_threads()


def _grid(names: tuple[str, ...], settings: LiveSettings) -> list[Unit]:
    """Every run of the grid: the ``--quick`` cells (every third dataset, seed 0) first, so
    that the quick loop for new variants has its baselines early in a long grid; then dataset
    by dataset."""
    quick = set(names[::3])
    units: list[Unit] = [
        (n, f, m, s)
        for n in names
        for f in settings.families
        for s in range(settings.seeds)
        for m in settings.methods
    ]
    units.sort(key=lambda u: 0 if u[0] in quick and u[3] == 0 else 1)
    return units


def _excluded(experience: Any, names: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """Per generator family of the held-out datasets, the experience's datasets of it (which
    the meta-learned methods never learn from)."""
    groups = {group_key(n) for n in names}
    return {
        g: tuple(sorted({t.dataset for t in experience.tasks if group_key(t.dataset) == g}))
        for g in sorted(groups)
    }


def _from_cache(
    store: RunCache, units: list[Unit], prints: dict[str, str], train: bool
) -> tuple[dict[Unit, LiveRun], list[Unit]]:
    """The runs already in the cache with their method's fingerprint, and the runs to train
    (none when not ``train``)."""
    runs: dict[Unit, LiveRun] = {}
    todo: list[Unit] = []
    for u in units:
        cached = store.get(u[2], u[0], u[1], u[3], prints[u[2]])
        if cached is not None:
            runs[u] = cached
        elif train:
            todo.append(u)
    return runs, todo


def _train(
    todo: list[Unit],
    folder: str,
    settings: LiveSettings,
    bundle: str | None,
    prints: dict[str, str],
    finish: Callable[[Unit, LiveRun | None, str | None], None],
) -> None:
    """Train the runs ``todo``, inline (one worker or one run) or in ``settings.workers``
    spawned processes (at most two runs queued per worker); ``finish`` gets each run, or the
    error of a run that failed (a method that crashes on one run is reported, not fatal)."""
    if settings.workers == 1 or len(todo) <= 1:
        for u in todo:
            try:
                finish(u, _run_unit(u, folder, settings, bundle, prints[u[2]]), None)
            except Exception as exc:
                finish(u, None, failure_text(exc))
        return
    import multiprocessing as mp

    _limit_threads()
    with ProcessPoolExecutor(
        settings.workers, mp_context=mp.get_context("spawn"), initializer=_worker_init
    ) as pool:
        drain(
            todo,
            lambda u: pool.submit(_run_unit, u, folder, settings, bundle, prints[u[2]]),
            finish,
            2 * settings.workers,
        )


def run_live(
    datasets: str | Path,
    settings: LiveSettings | None = None,
    *,
    cache: str | Path,
    holdout: Sequence[str] | None = None,
    bundle: str | Path | None = None,
    progress: Callable[[int, int, str], None] | None = None,
    train: bool = True,
) -> LiveResult:
    """Run (or resume) the live grid and return every run of it.

    Args:
        datasets: A folder in the shared datasets layout (one sub-folder per dataset and an
            ``index.json``).
        settings: Budget, seeds, methods, families, CV folds, subsampling, workers.
        cache: Folder of the run cache (``<method>.json.gz``); finished runs with the same
            fingerprint are read back, not trained again.
        holdout: Dataset names (default: :func:`holdout_datasets` of ``datasets``).
        bundle: Experience bundle of the meta-learned methods (default: the packaged one).
        progress: Called after every finished run with ``(done, total, label)``.
        train: ``False``: only read the cache (a report of the runs finished so far, for
            example while the grid runs in another process).
    """
    settings = settings or LiveSettings()
    settings.validate()
    folder = str(Path(datasets).resolve())
    names = tuple(holdout) if holdout is not None else holdout_datasets(folder)
    missing = [n for n in names if not (Path(folder) / n).is_dir()]
    if missing:
        raise MetaHPOError(f"held-out datasets not found in {folder}: {', '.join(missing)}")
    bundle_s = str(bundle) if bundle is not None else None
    experience = _experience(bundle_s)
    store = RunCache(cache)
    prints = {
        m: run_fingerprint(LIVE_METHODS[m], settings, experience.version) for m in settings.methods
    }
    units = _grid(names, settings)
    runs, todo = _from_cache(store, units, prints, train)
    errors: list[tuple[Unit, str]] = []
    lock = ExitStack()
    if todo:
        lock.enter_context(store.writing())
    with lock:  # released however training ends
        start = time.perf_counter()
        done = len(runs)
        if progress is not None:
            progress(done, len(units), "live")

        def finish(u: Unit, run: LiveRun | None, error: str | None) -> None:
            nonlocal done
            done += 1
            if run is not None:
                store.put(run)
                runs[u] = run
            else:
                errors.append((u, error or "failed"))
            if progress is not None:
                progress(done, len(units), f"{u[2]} {u[0]}/{u[1]} s{u[3]}")

        _train(todo, folder, settings, bundle_s, prints, finish)
    ordered = tuple(runs[u] for u in units if u in runs)
    return LiveResult(
        settings=settings,
        holdout=names,
        runs=ordered,
        errors=tuple(errors),
        experience_version=experience.version,
        excluded=_excluded(experience, names),
        seconds=time.perf_counter() - start,
        n_new=len(todo) - len(errors),
    )
