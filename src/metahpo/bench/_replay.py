"""Replay benchmark: grouped cross-validation over datasets on stored evaluations.

Protocol (tabular benchmarking in the style of HPO-B):

* Datasets are split into ``folds`` groups (grouped K-fold over datasets: sorted names, a seeded
  shuffle, then round-robin, so the folds differ in size by at most one). Every dataset is held
  out exactly once.
* For each fold, family and task type, the *training set* is the experience of that family and
  task type on the datasets not held out. Meta-learners (and everything they fit, meta-feature
  scalers included) see only it.
* Each held-out (dataset, family) task becomes a :class:`~metahpo.bench.Pool`; every method
  spends ``budget`` evaluations on it once per seed, and the run's normalised regret curve is
  recorded.

Runs are appended to ``runs.jsonl`` in the output folder as they finish, and a rerun with the
same settings skips every (method, dataset, family, seed) already there. Work is spread over
processes by (fold, family, task type), so that each meta-learner is fitted once per fold.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing as mp
import os
import queue as queue_mod
import sys
import time
import warnings
import zlib
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import optuna

from metahpo.bench._methods import DEFAULT_METHODS, TrainingSet, get_method, timed_prepare
from metahpo.bench._metrics import informative, regret_curve
from metahpo.bench._pool import Pool
from metahpo.errors import MetaHPOError
from metahpo.knowledge import Experience, TaskExperience
from metahpo.metalearners import with_metafeatures

RUNS_FILE = "runs.jsonl"
SETTINGS_FILE = "settings.json"

#: ``progress(done, total, label)``: called after every finished run.
Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class BenchSettings:
    """What a replay benchmark runs.

    Attributes:
        budget: Evaluations per run.
        seeds: Runs per (method, task), with seeds ``0..seeds-1``.
        folds: Grouped folds over datasets (capped at the number of datasets).
        methods: Method names (see :data:`~metahpo.bench.METHODS`).
        families: Families to benchmark (``None``: every family in the experience).
        fold_seed: Seed of the dataset shuffle that forms the folds.
    """

    budget: int = 50
    seeds: int = 5
    folds: int = 5
    methods: tuple[str, ...] = DEFAULT_METHODS
    families: tuple[str, ...] | None = None
    fold_seed: int = 0

    def validate(self) -> None:
        for name, value, low in (("budget", self.budget, 1), ("seeds", self.seeds, 1)):
            if value < low:
                raise MetaHPOError(f"--{name} must be at least {low}; got {value}")
        if self.folds < 2:
            raise MetaHPOError(f"--folds must be at least 2; got {self.folds}")
        if not self.methods:
            raise MetaHPOError("no benchmark methods selected")
        for m in self.methods:
            get_method(m)


@dataclass(frozen=True)
class RunRecord:
    """One run: a method on one held-out task with one seed.

    Attributes:
        method, dataset, family, task, seed, fold: What ran where.
        picks: Pool rows in evaluation order.
        regret: Normalised regret after ``1..budget`` evaluations (rounded to 7 decimals, so
            that a record read back from the cache is identical).
        seconds: Wall time the method spent choosing each pick (rounded to microseconds).
    """

    method: str
    dataset: str
    family: str
    task: str
    seed: int
    fold: int
    picks: tuple[int, ...]
    regret: tuple[float, ...]
    seconds: tuple[float, ...]

    @property
    def key(self) -> tuple[str, str, str, int]:
        return (self.method, self.dataset, self.family, self.seed)

    def to_json_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["regret"] = list(self.regret)
        d["seconds"] = list(self.seconds)
        d["picks"] = list(self.picks)
        return d

    @classmethod
    def from_json_dict(cls, d: dict[str, Any]) -> RunRecord:
        return cls(
            method=str(d["method"]),
            dataset=str(d["dataset"]),
            family=str(d["family"]),
            task=str(d["task"]),
            seed=int(d["seed"]),
            fold=int(d["fold"]),
            picks=tuple(int(p) for p in d["picks"]),
            regret=tuple(float(r) for r in d["regret"]),
            seconds=tuple(float(s) for s in d["seconds"]),
        )


@dataclass(frozen=True)
class FitRecord:
    """Time a method's :meth:`~metahpo.bench.Method.prepare` took on one training set."""

    method: str
    fold: int
    family: str
    task: str
    seconds: float


@dataclass(frozen=True)
class ErrorRecord:
    """A run that raised: the method is reported as failing and left out of the tables.

    Errors are not cached as finished runs, so a rerun retries them.
    """

    method: str
    dataset: str
    family: str
    task: str
    seed: int
    message: str


@dataclass(frozen=True)
class BenchResult:
    """Everything a replay benchmark produced.

    Attributes:
        settings: What ran.
        runs: Every run (cached ones included).
        fits: Preparation times per method and training set.
        errors: Runs that raised (their methods are left out of the summary tables).
        folds: Held-out datasets of each fold.
        skipped: Tasks left out and why (a pool without two distinct scores).
        experience_version: Version string of the experience.
        n_datasets: Datasets benchmarked.
        seconds: Wall time of this call (cached runs cost nothing).
        n_new: Runs computed by this call (failed ones included).
        mode: ``"replay"`` (grouped folds over the experience), ``"external"`` (replay on
            pools built for datasets outside the experience) or ``"live"`` (real training).
        descriptions: One line per method for the summary (default: the replay registry's).
    """

    settings: BenchSettings
    runs: tuple[RunRecord, ...]
    fits: tuple[FitRecord, ...]
    errors: tuple[ErrorRecord, ...]
    folds: tuple[tuple[str, ...], ...]
    skipped: tuple[tuple[str, str], ...] = ()
    experience_version: str = ""
    n_datasets: int = 0
    seconds: float = 0.0
    n_new: int = 0
    mode: str = "replay"
    descriptions: tuple[tuple[str, str], ...] = ()


def grouped_folds(datasets: Iterable[str], n_folds: int, seed: int = 0) -> list[list[str]]:
    """Split dataset names into ``n_folds`` disjoint groups that cover them all.

    Names are sorted, shuffled with ``seed`` and dealt round-robin; the number of folds is capped
    at the number of datasets. Each group is returned sorted.
    """
    names = sorted(set(datasets))
    if not names:
        return []
    k = max(1, min(n_folds, len(names)))
    order = np.random.default_rng(seed).permutation(len(names))
    groups: list[list[str]] = [[] for _ in range(k)]
    for pos, i in enumerate(order):
        groups[pos % k].append(names[int(i)])
    return [sorted(g) for g in groups]


def run_seed(seed: int, dataset: str, family: str) -> int:
    """The random seed of one run: depends on the replicate, dataset and family only.

    Every method gets the same seed for the same run, and results do not depend on the order
    in which runs happen to be scheduled.
    """
    ss = np.random.SeedSequence([seed, zlib.crc32(dataset.encode()), zlib.crc32(family.encode())])
    return int(ss.generate_state(1)[0])


def fingerprint(experience: Experience, settings: BenchSettings) -> dict[str, Any]:
    """What cached runs depend on: budget, folds and the tasks that take part.

    Tasks with meta-features are hashed with their configurations, scores and meta-features, so
    that a grown or refreshed experience is never mixed with old runs; tasks without
    meta-features take no part (see :func:`plan`) and do not count.
    """
    h = hashlib.sha256()
    for t in sorted(with_metafeatures(experience).tasks, key=lambda t: t.key):
        h.update(f"{t.key}|{t.direction}|".encode())
        for a in (t.X, t.y, t.metafeatures):
            h.update(np.ascontiguousarray(a, dtype=float).tobytes())
    digest = h.hexdigest()[:16]
    return {
        "budget": settings.budget,
        "folds": settings.folds,
        "fold_seed": settings.fold_seed,
        "experience": experience.version,
        "tasks": digest,
    }


@dataclass(frozen=True)
class _Group:
    """One unit of work: a fold × family × task type, and the runs it still owes."""

    fold: int
    family: str
    task: str
    train_datasets: tuple[str, ...]
    todo: tuple[tuple[str, str, int], ...]  # (method, dataset, seed)


# The experience and the emit function of a worker process (set by _init_worker).
_WORKER: dict[str, Any] = {}


def _init_worker(experience: Experience, budget: int, out_queue: Any) -> None:
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    os.environ["OMP_NUM_THREADS"] = "1"  # read by torch when a sampler imports it
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(1)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    _WORKER["experience"] = experience
    _WORKER["budget"] = budget
    _WORKER["emit"] = out_queue.put


def _run_group_in_worker(group: _Group) -> None:
    _run_group(_WORKER["experience"], group, budget=_WORKER["budget"], emit=_WORKER["emit"])
    _WORKER["emit"](("done", group.fold))


def _run_group(
    experience: Experience, group: _Group, *, budget: int, emit: Callable[[Any], None]
) -> None:
    """Run a group's missing runs, emitting ``("fit", FitRecord)`` and ``("run", RunRecord)``."""
    own = with_metafeatures(experience.select(family=group.family, task=group.task))
    train = TrainingSet(
        own.select(datasets=group.train_datasets), group.family, group.task, group.fold
    )
    tasks: dict[str, TaskExperience] = {t.dataset: t for t in own.tasks}
    methods = sorted({m for m, _, _ in group.todo})
    unprepared: dict[str, str] = {}
    for name in methods:
        try:
            seconds = timed_prepare(get_method(name), train)
        except Exception as exc:  # e.g. a torch method without torch: its runs become errors
            unprepared[name] = f"{type(exc).__name__}: {exc}"
            continue
        emit(("fit", FitRecord(name, group.fold, group.family, group.task, seconds)))
    for name, dataset, seed in group.todo:
        task = tasks[dataset]
        pool = Pool(task, budget)
        if name in unprepared:
            error = ErrorRecord(name, dataset, group.family, group.task, seed, unprepared[name])
            emit(("error", error))
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                get_method(name).run(train, pool, run_seed(seed, dataset, group.family))
            if not pool.done:
                raise MetaHPOError(
                    f"spent {len(pool.picks)} of {pool.budget} evaluations; "
                    "a method must spend its whole budget"
                )
        except Exception as exc:  # a crashing method is reported, not allowed to stop the rest
            message = f"{type(exc).__name__}: {exc}"
            emit(("error", ErrorRecord(name, dataset, group.family, group.task, seed, message)))
            continue
        curve = regret_curve(task.gain(), pool.picks, budget)
        emit(
            (
                "run",
                RunRecord(
                    name,
                    dataset,
                    group.family,
                    group.task,
                    seed,
                    group.fold,
                    tuple(pool.picks),
                    tuple(round(float(r), 7) for r in curve),
                    tuple(round(float(t), 6) for t in pool.seconds),
                ),
            )
        )


def _read_cache(out: Path, expected: dict[str, Any]) -> tuple[list[RunRecord], list[FitRecord]]:
    settings_path = out / SETTINGS_FILE
    runs_path = out / RUNS_FILE
    if not runs_path.exists():
        return [], []
    if settings_path.exists():
        stored = json.loads(settings_path.read_text(encoding="utf-8"))
        if stored != expected:
            diff = sorted(k for k in expected if stored.get(k) != expected[k])
            raise MetaHPOError(
                f"{out} holds runs made with other settings or another experience "
                f"({', '.join(diff)} differ); use another output folder or start afresh "
                "(metahpo bench --fresh)"
            )
    runs: list[RunRecord] = []
    fits: list[FitRecord] = []
    for line in runs_path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
            if entry.get("kind") == "error":
                continue  # failed runs are retried
            if entry.get("kind") == "fit":
                fits.append(
                    FitRecord(
                        str(entry["method"]),
                        int(entry["fold"]),
                        str(entry["family"]),
                        str(entry["task"]),
                        float(entry["seconds"]),
                    )
                )
            else:
                runs.append(RunRecord.from_json_dict(entry))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError):
            continue  # a line cut short by an interruption: the run is simply redone
    return runs, fits


def plan(
    experience: Experience,
    settings: BenchSettings,
    done: Iterable[tuple[str, str, str, int]] = (),
    holdout: Sequence[str] | None = None,
) -> tuple[list[list[str]], list[_Group], list[tuple[str, str]]]:
    """Folds, the groups of runs still to do, and the tasks left out (with the reason).

    Tasks without meta-features (an all-zero vector: a bundle built with
    ``kb build --no-metafeatures`` and not refreshed yet) are left out of both sides, as the
    meta-learners of the library leave them out. The folds are formed from every dataset that
    has meta-features, whatever families are selected, so that a run's training set does not
    depend on which families are benchmarked. With ``holdout``, there is one fold instead: those
    datasets are benchmarked and every other dataset is training data.
    """
    finished = set(done)
    usable = with_metafeatures(experience)
    if holdout is not None:
        folds = [sorted(set(holdout))]
    else:
        folds = grouped_folds(usable.datasets, settings.folds, settings.fold_seed)
    wanted = set(settings.families) if settings.families is not None else None
    skipped: list[tuple[str, str]] = []
    tasks: list[TaskExperience] = []
    seen: set[tuple[str, str]] = set()
    for t in experience.tasks:
        if wanted is not None and t.family not in wanted:
            continue
        if not np.any(np.asarray(t.metafeatures) != 0):
            skipped.append((t.key, "no meta-features (all zero): meta-learners cannot place it"))
        elif (t.dataset, t.family) in seen:
            skipped.append((t.key, "another task of the same dataset and family comes first"))
        elif not informative(t.gain()):
            skipped.append((t.key, "fewer than two distinct scores"))
        else:
            seen.add((t.dataset, t.family))
            tasks.append(t)
    groups: list[_Group] = []
    for k, held_out in enumerate(folds):
        held = set(held_out)
        for family, task in sorted({(t.family, t.task) for t in tasks}):
            # Training data: every task of the family and task type outside the fold (those
            # with a constant score included: they are still experience).
            train = tuple(
                sorted(
                    {
                        t.dataset
                        for t in usable.tasks
                        if t.family == family and t.task == task and t.dataset not in held
                    }
                )
            )
            test = sorted(
                t.dataset
                for t in tasks
                if t.family == family and t.task == task and t.dataset in held
            )
            if test and not train:
                skipped.extend(
                    (f"{d}/{family}", "no training task of this family outside its fold")
                    for d in test
                )
                continue
            todo = tuple(
                (m, d, s)
                for d in test
                for s in range(settings.seeds)
                for m in settings.methods
                if (m, d, family, s) not in finished
            )
            if todo:
                groups.append(_Group(k, family, task, train, todo))
    groups.sort(key=lambda g: -len(g.todo))
    return folds, groups, skipped


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
    start = time.perf_counter()
    expected = fingerprint(experience, settings)
    if holdout is not None:
        expected["holdout"] = sorted(set(holdout))
    runs: list[RunRecord] = []
    fits: list[FitRecord] = []
    errors: list[ErrorRecord] = []
    out_dir = Path(out) if out is not None else None
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        if fresh:
            (out_dir / RUNS_FILE).unlink(missing_ok=True)
        runs, fits = _read_cache(out_dir, expected)
        (out_dir / SETTINGS_FILE).write_text(json.dumps(expected, indent=1), encoding="utf-8")
    folds, groups, skipped = plan(experience, settings, (r.key for r in runs), holdout)
    total = sum(len(g.todo) for g in groups)
    n_new = 0
    sink = (out_dir / RUNS_FILE).open("a", encoding="utf-8") if out_dir is not None else None

    def handle(message: Any) -> None:
        nonlocal n_new
        kind, record = message
        if kind == "fit":
            fits.append(record)
            line = {"kind": "fit", **asdict(record)}
        elif kind == "error":
            errors.append(record)
            n_new += 1
            line = {"kind": "error", **asdict(record)}
            if progress is not None:
                progress(n_new, total, f"{record.method} {record.dataset}/{record.family} failed")
        elif kind == "run":
            runs.append(record)
            n_new += 1
            line = {"kind": "run", **record.to_json_dict()}
            if progress is not None:
                progress(n_new, total, f"{record.method} {record.dataset}/{record.family}")
        else:
            return
        if sink is not None:
            sink.write(json.dumps(line) + "\n")
            sink.flush()

    try:
        if progress is not None:
            progress(0, total, "replay")
        if workers <= 1 or len(groups) <= 1:
            _run_inline(experience, groups, settings.budget, handle)
        else:
            _run_parallel(experience, groups, settings.budget, workers, handle)
    finally:
        if sink is not None:
            sink.close()
    wanted_methods = set(settings.methods)
    wanted_families = set(settings.families) if settings.families is not None else None
    bad = {key for key, _ in skipped}
    keep = tuple(
        r
        for r in _latest(runs)
        if r.method in wanted_methods
        and r.seed < settings.seeds
        and (wanted_families is None or r.family in wanted_families)
        and f"{r.dataset}/{r.family}" not in bad
    )
    return BenchResult(
        settings=settings,
        runs=keep,
        fits=tuple(f for f in fits if f.method in wanted_methods),
        errors=tuple(errors),
        folds=tuple(tuple(f) for f in folds),
        skipped=tuple(skipped),
        experience_version=experience.version,
        n_datasets=len({r.dataset for r in keep}),
        seconds=time.perf_counter() - start,
        n_new=n_new,
        mode="replay" if holdout is None else "external",
    )


def _latest(runs: Sequence[RunRecord]) -> list[RunRecord]:
    """One record per key (the last one, should a key appear twice in the cache)."""
    by_key = {r.key: r for r in runs}
    return sorted(by_key.values(), key=lambda r: (r.method, r.family, r.dataset, r.seed))


def _run_inline(
    experience: Experience, groups: Sequence[_Group], budget: int, handle: Callable[[Any], None]
) -> None:
    from threadpoolctl import threadpool_limits

    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        with threadpool_limits(1):
            for group in groups:
                _run_group(experience, group, budget=budget, emit=handle)
    finally:
        optuna.logging.set_verbosity(verbosity)


def _run_parallel(
    experience: Experience,
    groups: Sequence[_Group],
    budget: int,
    workers: int,
    handle: Callable[[Any], None],
) -> None:
    ctx = mp.get_context("fork" if os.name == "posix" else "spawn")
    messages = ctx.Queue()
    executor = ProcessPoolExecutor(
        min(workers, len(groups)),
        mp_context=ctx,
        initializer=_init_worker,
        initargs=(experience, budget, messages),
    )
    try:
        futures: list[Future[None]] = [executor.submit(_run_group_in_worker, g) for g in groups]
        remaining = len(futures)
        while remaining:
            try:
                message = messages.get(timeout=0.5)
            except queue_mod.Empty:
                for f in futures:
                    if f.done():
                        f.result()  # re-raises a worker's exception
                continue
            if message[0] == "done":
                remaining -= 1
            else:
                handle(message)
        for f in futures:
            f.result()
    except BaseException:
        executor.shutdown(wait=False, cancel_futures=True)
        raise
    executor.shutdown(wait=True)
