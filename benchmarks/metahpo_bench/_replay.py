"""Replay benchmark: grouped cross-validation over datasets on stored evaluations.

Protocol (tabular benchmarking in the style of HPO-B):

* Datasets are split into ``folds`` groups (grouped K-fold over datasets: sorted names, a seeded
  shuffle, then round-robin, so the folds differ in size by at most one). Every dataset is held
  out exactly once.
* For each fold, family and task type, the *training set* is the experience of that family and
  task type on the datasets not held out. Meta-learners (and everything they fit, meta-feature
  scalers included) see only it.
* Each held-out (dataset, family) task becomes a :class:`~metahpo_bench.Pool`; every method
  spends ``budget`` evaluations on it once per seed, and the run's normalised regret curve is
  recorded.

Methods choose only among each held-out task's stored configurations, so the replay measures
zero-shot and warm-start quality, not refinement beyond those points (the live benchmark,
:func:`~metahpo_bench.run_live`, trains for real and is the measure of record).

The pieces: records (:mod:`~metahpo_bench._replay_records`), folds, seeds and the plan of runs
(:mod:`~metahpo_bench._replay_plan`), the resumable run cache
(:mod:`~metahpo_bench._replay_cache`) and the workers (:mod:`~metahpo_bench._replay_workers`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from metahpo.errors import MetaHPOError
from metahpo.knowledge import Experience
from metahpo_bench._replay_cache import RUNS_FILE, cache_line, latest, open_cache
from metahpo_bench._replay_plan import fingerprint, plan
from metahpo_bench._replay_plan import run_seed as run_seed  # the live benchmark imports it here
from metahpo_bench._replay_records import (
    BenchResult,
    BenchSettings,
    ErrorRecord,
    FitRecord,
    RunRecord,
)
from metahpo_bench._replay_workers import run_inline, run_parallel

__all__ = ["RUNS_FILE", "Progress", "run_replay", "run_seed"]

#: ``progress(done, total, label)``: called after every finished run.
Progress = Callable[[int, int, str], None]


def _validate(experience: Experience, settings: BenchSettings) -> None:
    """The settings are valid, the experience is not empty and holds the families asked for."""
    settings.validate()
    if not experience.tasks:
        raise MetaHPOError("the experience is empty: nothing to benchmark")
    if settings.families is not None:
        unknown = sorted(set(settings.families) - set(experience.families))
        if unknown:
            raise MetaHPOError(
                f"no experience for families {', '.join(unknown)}; the experience has "
                f"{', '.join(experience.families)}"
            )


class _Recorder:
    """Takes each message of the runs: collects the fits, errors and runs, reports progress,
    and appends each record to the run cache ``sink`` (if any) as it comes."""

    def __init__(
        self,
        runs: list[RunRecord],
        fits: list[FitRecord],
        total: int,
        progress: Progress | None,
        sink: TextIO | None,
    ) -> None:
        self.runs, self.fits = runs, fits
        self.errors: list[ErrorRecord] = []
        self.total, self.progress, self.sink = total, progress, sink
        self.n_new = 0  # runs finished in this call, failed ones included

    def __call__(self, message: Any) -> None:
        kind, record = message
        if kind == "fit":
            self.fits.append(record)
        elif kind in ("error", "run"):
            (self.errors if kind == "error" else self.runs).append(record)
            self.n_new += 1
            if self.progress is not None:
                failed = " failed" if kind == "error" else ""
                label = f"{record.method} {record.dataset}/{record.family}{failed}"
                self.progress(self.n_new, self.total, label)
        else:
            return
        if self.sink is not None:
            self.sink.write(cache_line(kind, record))
            self.sink.flush()


def _wanted(
    runs: Sequence[RunRecord], settings: BenchSettings, skipped: set[str]
) -> tuple[RunRecord, ...]:
    """The runs of the methods, seeds and families asked for (the cache may hold more), without
    the skipped tasks (``dataset/family``)."""
    families = set(settings.families) if settings.families is not None else None
    return tuple(
        r
        for r in runs
        if r.method in settings.methods
        and r.seed < settings.seeds
        and (families is None or r.family in families)
        and f"{r.dataset}/{r.family}" not in skipped
    )


def run_replay(
    experience: Experience,
    settings: BenchSettings | None = None,
    *,
    out: str | Path | None = None,
    workers: int = 1,
    progress: Progress | None = None,
    fresh: bool = False,
    holdout: Sequence[str] | None = None,
) -> BenchResult:
    """Run the replay benchmark (see the module docstring for the protocol).

    Args:
        experience: Tasks to benchmark on (typically :func:`~metahpo.knowledge.load_bundled`).
        settings: Budget, seeds, folds, methods and families.
        out: Folder for ``runs.jsonl`` (the cache that makes the benchmark resumable) and
            ``settings.json``; ``None`` keeps everything in memory.
        workers: Processes; work is split by (fold, family, task type).
        progress: Called after every finished run with ``(done, total, label)``.
        fresh: Discard the runs cached in ``out`` instead of resuming from them.
        holdout: Benchmark only these datasets, with every other dataset as training data
            (one fold; see :func:`run_external`) instead of grouped folds over all datasets.

    Returns:
        Every run of the requested methods, families and seeds, cached ones included.

    Raises:
        MetaHPOError: Unknown method or family, empty experience, or an ``out`` folder that
            holds runs made with different settings.
    """
    settings = settings or BenchSettings()
    _validate(experience, settings)
    start = time.perf_counter()
    expected = fingerprint(experience, settings)
    if holdout is not None:
        expected["holdout"] = sorted(set(holdout))
    runs: list[RunRecord] = []
    fits: list[FitRecord] = []
    out_dir = Path(out) if out is not None else None
    if out_dir is not None:
        runs, fits = open_cache(out_dir, expected, fresh=fresh)
    folds, groups, skipped = plan(experience, settings, (r.key for r in runs), holdout)
    total = sum(len(g.todo) for g in groups)
    sink = (out_dir / RUNS_FILE).open("a", encoding="utf-8") if out_dir is not None else None
    handle = _Recorder(runs, fits, total, progress, sink)
    try:
        if progress is not None:
            progress(0, total, "replay")
        if workers <= 1 or len(groups) <= 1:
            run_inline(experience, groups, settings.budget, handle)
        else:
            run_parallel(experience, groups, settings.budget, workers, handle)
    finally:
        if sink is not None:
            sink.close()
    keep = _wanted(latest(runs), settings, {key for key, _ in skipped})
    return BenchResult(
        settings=settings,
        runs=keep,
        fits=tuple(f for f in fits if f.method in settings.methods),
        errors=tuple(handle.errors),
        folds=tuple(tuple(f) for f in folds),
        skipped=tuple(skipped),
        experience_version=experience.version,
        n_datasets=len({r.dataset for r in keep}),
        seconds=time.perf_counter() - start,
        n_new=handle.n_new,
        mode="replay" if holdout is None else "external",
    )
