"""Replay benchmark workers: run the groups of a plan inline or in worker processes.

Work is spread over processes by (fold, family, task type) (:class:`RunGroup`), so that each
meta-learner is fitted once per fold. Whichever way a group runs, it emits ``("fit", FitRecord)``,
``("run", RunRecord)`` and ``("error", ErrorRecord)`` messages; in a worker process they travel
to the parent through a queue, followed by ``("done", fold)`` when the group is finished.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue as queue_mod
import sys
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

import optuna

from metahpo.errors import MetaHPOError
from metahpo.knowledge import Experience, TaskExperience
from metahpo.metalearners import with_metafeatures
from metahpo_bench._methods import TrainingSet, get_method, timed_prepare
from metahpo_bench._metrics import regret_curve
from metahpo_bench._pool import Pool
from metahpo_bench._replay_plan import RunGroup, run_seed
from metahpo_bench._replay_records import ErrorRecord, FitRecord, RunRecord

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


def _run_group_in_worker(group: RunGroup) -> None:
    run_group(_WORKER["experience"], group, budget=_WORKER["budget"], emit=_WORKER["emit"])
    _WORKER["emit"](("done", group.fold))


def run_group(
    experience: Experience, group: RunGroup, *, budget: int, emit: Callable[[Any], None]
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


def run_inline(
    experience: Experience, groups: Sequence[RunGroup], budget: int, handle: Callable[[Any], None]
) -> None:
    """Run ``groups`` one after the other in this process (one thread), passing each message
    to ``handle``."""
    from threadpoolctl import threadpool_limits

    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        with threadpool_limits(1):
            for group in groups:
                run_group(experience, group, budget=budget, emit=handle)
    finally:
        optuna.logging.set_verbosity(verbosity)


def run_parallel(
    experience: Experience,
    groups: Sequence[RunGroup],
    budget: int,
    workers: int,
    handle: Callable[[Any], None],
) -> None:
    """Run ``groups`` in up to ``workers`` processes (one thread each), passing each message to
    ``handle`` in this process; a worker's exception is raised here."""
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
