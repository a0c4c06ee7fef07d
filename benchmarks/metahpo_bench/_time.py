"""TIME benchmark: the test score after T seconds of one core, as an anytime curve.

Every method tunes every (dataset, family) for each budget ``T`` and seed (protocol in
:mod:`metahpo_bench._time_protocol`); each run is one cached record
(:mod:`metahpo_bench._time_cache`), so the grid resumes after a kill and a new method costs
only its own runs. ``workers`` runs go at the same time, each tuning in a process of its own
with one thread (:mod:`metahpo_bench._time_runner`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from metahpo.errors import MetaHPOError
from metahpo_bench._live import _excluded, _experience
from metahpo_bench._queue import drain
from metahpo_bench._time_cache import TimeCache, TimeRun, TimeUnit
from metahpo_bench._time_protocol import (
    TIME_METHODS,
    TimeSettings,
    quick_datasets,
    run_fingerprint,
    runs_on,
    time_datasets,
)


@dataclass(frozen=True)
class TimeResult:
    """What :func:`run_time` measured: the settings and every run of the grid."""

    settings: TimeSettings
    datasets: tuple[str, ...]
    runs: tuple[TimeRun, ...]
    errors: tuple[tuple[TimeUnit, str], ...]
    experience_version: str
    excluded: dict[str, tuple[str, ...]]
    seconds: float
    n_new: int


def _index(folder: str | Path) -> dict[str, dict[str, object]]:
    path = Path(folder) / "index.json"
    if not path.exists():
        raise MetaHPOError(f"{path} not found: the TIME benchmark reads the rows from the index")
    doc: dict[str, dict[str, object]] = json.loads(path.read_text(encoding="utf-8"))
    return doc


def grid_datasets(folder: str | Path, *, quick: bool = False) -> tuple[str, ...]:
    """The datasets of record in ``folder`` (its ``index.json``): every one with 10,000 rows
    or more, or with ``quick`` the quick subset."""
    index = _index(folder)
    return quick_datasets(index) if quick else time_datasets(index)


def grid(names: Sequence[str], settings: TimeSettings) -> list[TimeUnit]:
    """Every run: budget by budget (the shortest first), seed, dataset, family, method; FLAML
    only on the families it has an estimator for."""
    return [
        (n, f, m, float(t), s)
        for t in sorted(settings.budgets)
        for s in range(settings.seeds)
        for n in names
        for f in settings.families
        for m in settings.methods
        if runs_on(TIME_METHODS[m], f)
    ]


def _train(
    todo: list[TimeUnit],
    folder: str,
    settings: TimeSettings,
    bundle: str | None,
    prints: dict[tuple[str, float], str],
    finish: Callable[[TimeUnit, TimeRun | None, str | None], None],
) -> None:
    """Run ``todo``, ``settings.workers`` at a time (threads that each wait on one tuning
    process, then refit in one thread); a run that fails is reported, not fatal."""
    from threadpoolctl import threadpool_limits

    from metahpo_bench._time_runner import run_unit

    def one(u: TimeUnit) -> TimeRun:
        with threadpool_limits(1):  # the refit in this thread: one core (OpenMP is per thread)
            return run_unit(u, folder, bundle, settings.folds, prints[(u[2], u[3])])

    with ThreadPoolExecutor(settings.workers) as pool:
        drain(todo, lambda u: pool.submit(one, u), finish, settings.workers)


def run_time(
    datasets: str | Path,
    settings: TimeSettings | None = None,
    *,
    cache: str | Path,
    names: Sequence[str] | None = None,
    bundle: str | Path | None = None,
    progress: Callable[[int, int, str], None] | None = None,
    train: bool = True,
) -> TimeResult:
    """Run (or resume) the TIME grid and return every run of it.

    Args:
        datasets: A folder in the shared datasets layout (sub-folders and ``index.json``).
        settings: Budgets, seeds, methods, families, workers.
        cache: Folder of the run cache (``<method>.jsonl.gz``); finished runs with the same
            fingerprint are read back, not run again.
        names: Dataset names (default: :func:`grid_datasets` of ``datasets``).
        bundle: Experience of the meta-learned methods (default: the packaged one), each
            dataset's generator family left out.
        progress: Called after every finished run with ``(done, total, label)``.
        train: ``False``: only read the cache.
    """
    settings = settings or TimeSettings()
    settings.validate()
    folder = str(Path(datasets).resolve())
    chosen = tuple(names) if names is not None else grid_datasets(folder)
    missing = [n for n in chosen if not (Path(folder) / n).is_dir()]
    if missing:
        raise MetaHPOError(f"TIME datasets not found in {folder}: {', '.join(missing)}")
    bundle_s = str(bundle) if bundle is not None else None
    experience = _experience(bundle_s)
    store = TimeCache(cache)
    prints = {
        (m, float(t)): run_fingerprint(TIME_METHODS[m], settings, float(t), experience.version)
        for m in settings.methods
        for t in settings.budgets
    }
    units = grid(chosen, settings)
    runs: dict[TimeUnit, TimeRun] = {}
    todo: list[TimeUnit] = []
    for u in units:
        cached = store.get(u, prints[(u[2], u[3])])
        if cached is not None:
            runs[u] = cached
        elif train:
            todo.append(u)
    errors: list[tuple[TimeUnit, str]] = []
    lock = ExitStack()
    if todo:
        lock.enter_context(store.writing())
    start = time.perf_counter()
    with lock:
        done = len(runs)
        if progress is not None:
            progress(done, len(units), "time")

        def finish(u: TimeUnit, run: TimeRun | None, error: str | None) -> None:
            nonlocal done
            done += 1
            if run is not None:
                store.put(run)
                runs[u] = run
            else:
                errors.append((u, error or "failed"))
            if progress is not None:
                progress(done, len(units), f"{u[2]} {u[0]}/{u[1]} T={u[3]:g} s{u[4]}")

        _train(todo, folder, settings, bundle_s, prints, finish)
    return TimeResult(
        settings=settings,
        datasets=chosen,
        runs=tuple(runs[u] for u in units if u in runs),
        errors=tuple(errors),
        experience_version=experience.version,
        excluded=_excluded(experience, chosen),
        seconds=time.perf_counter() - start,
        n_new=len(todo) - len(errors),
    )
