"""Live benchmark: real training on a folder of datasets, equal evaluation budgets.

Every method tunes every (dataset, family) for ``budget`` evaluations with real
cross-validated training (:func:`~metahpo.tuning.tune`, so each run is an Optuna study in
``OUT/live.db`` and an interrupted benchmark resumes where it stopped). A run's normalised
regret after ``t`` evaluations is ``(best − best found) / (best − worst)``, where best and worst
are over every evaluation *any* method made on that (dataset, family): there is no stored pool,
so the best score found by anyone is the reference. Failed evaluations count against the budget
and never improve the best.

Meta-learned methods learn from the bundled experience (or the one given) **minus every task of
a dataset with the same name**, so that a dataset of the knowledge base itself is benchmarked
as if it were new. The folder may hold datasets that were never part of the knowledge base:
that is the point of the live mode.

Wall-clock time of every evaluation (training included) is recorded; the meta-features of a
dataset are computed once and their time is added to the first evaluation of every method that
uses them.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from optuna.trial import TrialState

from metahpo.bench._metrics import informative, regret_curve
from metahpo.bench._replay import BenchResult, BenchSettings, ErrorRecord, RunRecord, run_seed
from metahpo.datasets import Dataset, list_dataset_folders, load_dataset
from metahpo.errors import MetaHPOError
from metahpo.evaluation import get_metric
from metahpo.knowledge import Experience, load_bundled
from metahpo.optimizers import BASES, CLASSIC_OPTIMIZERS, MetaSampler
from metahpo.spaces import get_family
from metahpo.tuning import tune

LIVE_DB = "live.db"


@dataclass(frozen=True)
class LiveMethod:
    """How one live method tunes: a classic optimizer, the default-first baseline or metahpo.

    Attributes:
        name: Registry name.
        description: One line for the summary.
        optimizer: A classic optimizer name, ``"default"`` (library default, then random) or
            ``"meta"`` (:class:`~metahpo.optimizers.MetaSampler`).
        strategy, base, warm_start: The meta sampler's parts (``optimizer="meta"``).
    """

    name: str
    description: str
    optimizer: str
    strategy: str = "portfolio"
    base: str = "tpe"
    warm_start: int = 5

    @property
    def uses_metafeatures(self) -> bool:
        return self.optimizer == "meta"


def _registry() -> dict[str, LiveMethod]:
    methods = {
        "default": LiveMethod("default", "library default, then random", "default"),
    }
    for name in CLASSIC_OPTIMIZERS:
        if name == "grid":  # a grid cannot spend an arbitrary budget evenly
            continue
        methods[name] = LiveMethod(name, f"Optuna sampler '{name}'", name)
    for base in BASES:
        methods[f"meta-{base}"] = LiveMethod(
            f"meta-{base}",
            f"MetaSampler: 5 'portfolio' warm starts, then '{base}'",
            "meta",
            base=base,
        )
    for strategy in ("nearest", "surrogate", "mapping"):
        methods[f"meta-{strategy}"] = LiveMethod(
            f"meta-{strategy}",
            f"MetaSampler: 5 '{strategy}' warm starts, then 'tpe'",
            "meta",
            strategy=strategy,
        )
    return methods


#: Every live method by name.
LIVE_METHODS: dict[str, LiveMethod] = _registry()

#: Run by default: the baselines a user compares against and metahpo's default optimizer.
LIVE_DEFAULT_METHODS: tuple[str, ...] = ("default", "random", "tpe", "cmaes", "meta-tpe")


@dataclass(frozen=True)
class LiveSettings:
    """What a live benchmark runs.

    Attributes:
        budget: Evaluations per run (failed ones count).
        seeds: Runs per (method, dataset, family).
        methods: Names from :data:`LIVE_METHODS`.
        families: Model families.
        cv_folds: Cross-validation folds of every evaluation.
        max_rows: Stratified (classification) or uniform subsample of larger datasets, seeded.
    """

    budget: int = 20
    seeds: int = 1
    methods: tuple[str, ...] = LIVE_DEFAULT_METHODS
    families: tuple[str, ...] = ("hgb", "rf", "svm", "linear", "knn", "mlp")
    cv_folds: int = 3
    max_rows: int = 2000

    def validate(self) -> None:
        for name, value in (("budget", self.budget), ("seeds", self.seeds)):
            if value < 1:
                raise MetaHPOError(f"--{name} must be at least 1; got {value}")
        if self.cv_folds < 2:
            raise MetaHPOError(f"--cv-folds must be at least 2; got {self.cv_folds}")
        if self.max_rows < 10:
            raise MetaHPOError(f"--max-rows must be at least 10; got {self.max_rows}")
        if not self.methods:
            raise MetaHPOError("no benchmark methods selected")
        unknown = [m for m in self.methods if m not in LIVE_METHODS]
        if unknown:
            raise MetaHPOError(
                f"unknown live method(s) {', '.join(unknown)}; choose from "
                f"{', '.join(LIVE_METHODS)}"
            )
        for f in self.families:
            get_family(f)


def study_name(dataset: str, family: str, method: str, seed: int) -> str:
    """The Optuna study of one live run (in ``OUT/live.db``)."""
    return f"live:{dataset}:{family}:{method}:s{seed}"


def _finished(study: optuna.Study, budget: int) -> list[optuna.trial.FrozenTrial]:
    """The run's first ``budget`` finished evaluations (complete or failed), in order."""
    trials = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.FAIL))
    return sorted(trials, key=lambda t: t.number)[:budget]


def _seconds(t: optuna.trial.FrozenTrial) -> float:
    if t.datetime_start is None or t.datetime_complete is None:
        return 0.0
    return max(0.0, (t.datetime_complete - t.datetime_start).total_seconds())


def _sampler_for(method: LiveMethod, ds: Dataset, family: str, seed: int) -> Any:
    if method.optimizer == "default":
        space = get_family(family).space(ds.task)
        return MetaSampler(
            [space.default_config()], base_sampler=optuna.samplers.RandomSampler(seed=seed)
        )
    return method.optimizer


def _dataset_paths(datasets: str | Path | Sequence[str | Path]) -> list[Path]:
    """A folder of dataset folders, one dataset (folder or file), or a list of them."""
    if not isinstance(datasets, (str, Path)):
        return [Path(p) for p in datasets]
    path = Path(datasets)
    if path.is_dir():
        below = list_dataset_folders(path)
        return below if below or not any(path.iterdir()) else [path]
    return [path]


def _experience_without(experience: Experience, dataset: str) -> Experience:
    return replace(experience, tasks=tuple(t for t in experience.tasks if t.dataset != dataset))


def run_live(
    datasets: str | Path | Sequence[str | Path],
    settings: LiveSettings | None = None,
    *,
    out: str | Path,
    experience: Experience | None = None,
    progress: Callable[[int, int, str], None] | None = None,
    fresh: bool = False,
) -> BenchResult:
    """Run the live benchmark (see the module docstring for the protocol).

    Args:
        datasets: A folder in the shared datasets layout (one sub-folder per dataset), or a
            list of dataset paths (folders or files that :func:`~metahpo.datasets.load_dataset`
            reads, with a ``target`` column).
        settings: Budget, seeds, methods, families, CV folds and subsampling.
        out: Output folder; ``OUT/live.db`` holds every run as an Optuna study, so calling
            again with the same ``out`` resumes (finished runs are read back, not rerun).
        experience: What meta-learned methods learn from (default: the bundled experience).
        progress: Called after every finished run with ``(done, total, label)``.
        fresh: Delete ``OUT/live.db`` first: every run is trained again.

    Returns:
        A :class:`~metahpo.bench.BenchResult` (``mode="live"``) that
        :func:`~metahpo.bench.write_report` turns into ``results.json``, ``summary.md`` and
        plots. Runs of a (dataset, family) where every evaluation scored the same are left out
        (listed in ``skipped``).
    """
    settings = settings or LiveSettings()
    settings.validate()
    paths = _dataset_paths(datasets)
    if not paths:
        raise MetaHPOError(f"no datasets found in {datasets}")
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    if fresh:
        (out_dir / LIVE_DB).unlink(missing_ok=True)
    url = f"sqlite:///{(out_dir / LIVE_DB).resolve()}"
    storage = optuna.storages.RDBStorage(url)
    known = {s.study_name for s in storage.get_all_studies()}
    if any(LIVE_METHODS[m].uses_metafeatures for m in settings.methods) and experience is None:
        experience = load_bundled()
    start = time.perf_counter()
    total = len(paths) * len(settings.families) * len(settings.methods) * settings.seeds
    done = 0
    n_new = 0
    runs: list[RunRecord] = []
    errors: list[ErrorRecord] = []
    skipped: list[tuple[str, str]] = []
    names: list[str] = []
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        if progress is not None:
            progress(0, total, "live")
        for path in paths:
            try:
                ds = load_dataset(path).subsample(settings.max_rows, seed=0)
            except MetaHPOError as exc:
                skipped.append((Path(path).name, f"cannot be loaded: {exc}"))
                done += len(settings.families) * len(settings.methods) * settings.seeds
                continue
            names.append(ds.name)
            mf: dict[str, float] | None = None
            mf_seconds = 0.0
            own_experience = (
                _experience_without(experience, ds.name) if experience is not None else None
            )
            for family in settings.families:
                metric = get_metric(None, ds.task)
                task_runs: list[tuple[str, int, list[optuna.trial.FrozenTrial]]] = []
                for method_name in settings.methods:
                    method = LIVE_METHODS[method_name]
                    for seed in range(settings.seeds):
                        name = study_name(ds.name, family, method_name, seed)
                        s = run_seed(seed, ds.name, family) % (2**31)
                        trials: list[optuna.trial.FrozenTrial] = []
                        if name in known:
                            study = optuna.load_study(study_name=name, storage=url)
                            trials = _finished(study, settings.budget)
                        if len(trials) < settings.budget:
                            if method.uses_metafeatures and mf is None:
                                from metahpo.metafeatures import compute_metafeatures

                                t0 = time.perf_counter()
                                mf = compute_metafeatures(ds, seed=0)
                                mf_seconds = time.perf_counter() - t0
                            try:
                                with warnings.catch_warnings():
                                    warnings.simplefilter("ignore")
                                    tune(
                                        ds,
                                        family,
                                        metric=metric.name,
                                        budget=settings.budget,
                                        optimizer=_sampler_for(method, ds, family, s),
                                        storage=url,
                                        study_name=name,
                                        seed=s,
                                        folds=settings.cv_folds,
                                        metafeatures=mf or {},
                                        strategy=method.strategy,
                                        warm_start=method.warm_start,
                                        base=method.base,
                                        experience=own_experience,
                                    )
                            except MetaHPOError as exc:
                                if "no trial completed" not in str(exc):
                                    errors.append(
                                        ErrorRecord(
                                            method_name, ds.name, family, ds.task, seed, str(exc)
                                        )
                                    )
                                    done += 1
                                    continue
                            n_new += 1
                            trials = _finished(
                                optuna.load_study(study_name=name, storage=url), settings.budget
                            )
                        task_runs.append((method_name, seed, trials))
                        done += 1
                        if progress is not None:
                            progress(done, total, f"{method_name} {ds.name}/{family}")
                runs.extend(
                    _records(task_runs, ds, family, metric.direction, settings, mf_seconds, skipped)
                )
    finally:
        optuna.logging.set_verbosity(verbosity)
    bench_settings = BenchSettings(
        budget=settings.budget,
        seeds=settings.seeds,
        folds=1,
        methods=settings.methods,
        families=settings.families,
    )
    return BenchResult(
        settings=bench_settings,
        runs=tuple(runs),
        fits=(),
        errors=tuple(errors),
        folds=(tuple(sorted(names)),),
        skipped=tuple(skipped),
        experience_version=experience.version if experience is not None else "",
        n_datasets=len({r.dataset for r in runs}),
        seconds=time.perf_counter() - start,
        n_new=n_new,
        mode="live",
        descriptions=tuple((m, LIVE_METHODS[m].description) for m in settings.methods),
    )


def _records(
    task_runs: Sequence[tuple[str, int, list[optuna.trial.FrozenTrial]]],
    ds: Dataset,
    family: str,
    direction: str,
    settings: LiveSettings,
    mf_seconds: float,
    skipped: list[tuple[str, str]],
) -> list[RunRecord]:
    """Regret curves of one (dataset, family): normalised by every method's evaluations."""
    sign = 1.0 if direction == "maximize" else -1.0
    gains: list[float] = []
    picks: list[list[int]] = []
    for _, _, trials in task_runs:
        rows = []
        for t in trials:
            v = t.value if t.state == TrialState.COMPLETE and t.value is not None else math.nan
            rows.append(len(gains))
            gains.append(sign * float(v) if math.isfinite(v) else math.nan)
        picks.append(rows)
    gain = np.asarray(gains, dtype=float)
    if not informative(gain):
        skipped.append((f"{ds.name}/{family}", "every evaluation scored the same (or failed)"))
        return []
    records = []
    for (method_name, seed, trials), rows in zip(task_runs, picks, strict=True):
        seconds = [_seconds(t) for t in trials]
        if seconds and LIVE_METHODS[method_name].uses_metafeatures:
            seconds[0] += mf_seconds
        records.append(
            RunRecord(
                method_name,
                ds.name,
                family,
                ds.task,
                seed,
                0,
                tuple(t.number for t in trials),
                tuple(round(float(r), 7) for r in regret_curve(gain, rows, settings.budget)),
                tuple(round(s, 6) for s in seconds),
            )
        )
    return records
