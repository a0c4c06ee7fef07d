"""Replay benchmark protocol: grouped folds over datasets, run seeds, and the plan of runs.

* Datasets are split into ``folds`` groups (grouped K-fold over datasets: sorted names, a seeded
  shuffle, then round-robin, so the folds differ in size by at most one). Every dataset is held
  out exactly once.
* For each fold, family and task type, the *training set* is the experience of that family and
  task type on the datasets not held out (:class:`RunGroup`, one unit of work).
* A run's seed depends on the replicate, dataset and family only (:func:`run_seed`).
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from metahpo.knowledge import Experience, TaskExperience
from metahpo.metalearners import with_metafeatures
from metahpo_bench._metrics import informative
from metahpo_bench._replay_records import BenchSettings


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
class RunGroup:
    """One unit of work: a fold × family × task type, and the runs it still owes."""

    fold: int
    family: str
    task: str
    train_datasets: tuple[str, ...]
    todo: tuple[tuple[str, str, int], ...]  # (method, dataset, seed)


def plan(
    experience: Experience,
    settings: BenchSettings,
    done: Iterable[tuple[str, str, str, int]] = (),
    holdout: Sequence[str] | None = None,
) -> tuple[list[list[str]], list[RunGroup], list[tuple[str, str]]]:
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
    groups: list[RunGroup] = []
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
                groups.append(RunGroup(k, family, task, train, todo))
    groups.sort(key=lambda g: -len(g.todo))
    return folds, groups, skipped
