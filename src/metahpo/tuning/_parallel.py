"""Parallel trials on one machine: ``tune(n_jobs=N)`` runs N worker processes on one study.

Each worker is a process started by :mod:`multiprocessing` with the ``spawn`` method, so that
it inherits no database connection, thread pool or lock from the caller. It opens the storage
itself (SQLite waits up to :data:`~metahpo.tuning._prepare.SQLITE_TIMEOUT` seconds for another
process's write lock), rebuilds the sampler from the same plan (workers after the first reseed
it, so that they do not all propose the same first configuration), takes the caller's plan of
low fidelities and pruner (:mod:`metahpo.tuning._fidelity`), and runs
:func:`~metahpo.tuning._run.run_trials` on the study with one native thread per trial by
default. The budget is therefore claimed in the storage exactly as by separate
``metahpo tune`` processes (:mod:`metahpo.tuning._run`): N workers end with exactly the budget
of COMPLETE trials, a worker that dies leaves its trial to the others
(:mod:`metahpo.tuning._workers`), and the failure limit counts the failures of all workers of
the call together.

The calling process runs no trial. It polls the storage, calls the callbacks once for each
finished trial of its workers (a progress bar over all of them), and adds up what they did.

Like any ``spawn``-based code, a script that calls ``tune(n_jobs=2)`` must do so under
``if __name__ == "__main__":``; an in-memory storage cannot be shared and is refused.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue
import socket
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.reduction import ForkingPickler
from typing import Any

import optuna
from optuna.storages import BaseStorage, RDBStorage
from optuna.trial import FrozenTrial, TrialState

from metahpo.datasets import Dataset
from metahpo.errors import MetaHPOError
from metahpo.evaluation import limit_threads, resolve_n_jobs
from metahpo.knowledge import Experience, KnowledgeStore
from metahpo.spaces import SearchSpace
from metahpo.tuning._fidelity import FidelityPlan, make_splits
from metahpo.tuning._prepare import (
    GRACE_PERIOD,
    make_objective,
    make_sampler,
    storage_with_heartbeat,
)
from metahpo.tuning._run import DUPLICATE_ATTR, POLL_SECONDS, RunOutcome, run_trials
from metahpo.tuning._settings import RunSettings
from metahpo.tuning._workers import LEASE_ATTR

#: Seconds a stopped worker is given to finish its trial before it is terminated.
JOIN_SECONDS = 30.0

_FINISHED = (TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED)
#: How the stop reasons of the workers combine when the budget is not met: the first wins.
_PRIORITY = ("failures", "duplicates", "timeout", "budget")


def resolve_workers(n_jobs: int | None) -> int:
    """Worker processes for ``n_jobs``: ``None`` one, ``-1`` one per core, ``-2`` all cores
    but one, and so on."""
    return resolve_n_jobs(n_jobs, option="--n-jobs", unit="process")


def shared_storage_url(storage: str | BaseStorage, workers: int) -> str:
    """The URL that worker processes open; a one-line error for a storage held in memory."""
    if isinstance(storage, RDBStorage):
        url = str(storage.url)
    elif isinstance(storage, str):
        url = storage
    else:
        raise MetaHPOError(
            f"--n-jobs {workers} needs a storage URL that worker processes can open "
            f"(sqlite:///FILE.db, postgresql://..., a journal FILE.log), not a "
            f"{type(storage).__name__}; or use --n-jobs 1"
        )
    base = url.split("?", 1)[0]
    if base in ("sqlite://", "sqlite:///:memory:") or "mode=memory" in url:
        raise MetaHPOError(
            f"--n-jobs {workers} needs a storage that worker processes can share; {url!r} "
            "lives in one process's memory: use sqlite:///FILE.db, or --n-jobs 1"
        )
    return url


@dataclass(frozen=True)
class WorkerJob:
    """What every worker process of one call needs (sent to each of them).

    Attributes:
        deadline: ``time.time()`` after which no worker starts a trial (``None``: no timeout).
        threads: Native threads per trial, resolved.
        experience: What the caller's meta-learner learned from (``None``: not ``meta``).
        verbosity: Optuna's log level in the caller.
        plan: The run's low fidelities (``None``: none), as the caller planned them.
        pruner: The run's pruner (``None``: the study's default, unused without a plan).
        timeout: The call's timeout in seconds (with ``deadline``: cost-aware proposals).
    """

    dataset: Dataset
    family: str
    space: SearchSpace
    settings: RunSettings
    optimizer: str | optuna.samplers.BaseSampler
    storage: str
    study: str
    budget: int | None
    deadline: float | None
    trial_time_limit: float | None
    max_failures: int
    threads: int
    warm_start: int
    metafeatures: dict[str, float]
    experience: Experience | None
    verbosity: int
    plan: FidelityPlan | None = None
    pruner: optuna.pruners.BasePruner | None = None
    timeout: float | None = None


def _trials(job: WorkerJob, index: int, shared: Any, stop: Any) -> RunOutcome:
    """One worker's trials (see the module); ``shared`` counts failures and duplicates."""
    store = KnowledgeStore(storage_with_heartbeat(job.storage))
    clock = None if job.deadline is None or job.timeout is None else (job.deadline, job.timeout)
    sampler, _, _ = make_sampler(
        job.settings, job.optimizer, job.dataset, job.space, store, job.study, job.budget,
        job.warm_start, job.metafeatures, job.experience, clock,
    )  # fmt: skip
    if index > 0:
        sampler.reseed_rng()
    study = optuna.load_study(
        study_name=job.study, storage=store.storage, sampler=sampler, pruner=job.pruner
    )
    splits = make_splits(job.dataset, job.settings.folds, job.settings.seed)
    objective = make_objective(
        job.dataset, job.family, job.space, job.settings, splits, job.trial_time_limit, job.plan,
        job.deadline,
    )  # fmt: skip

    def tally(_: optuna.Study, trial: FrozenTrial) -> None:
        slot = 0 if trial.state == TrialState.FAIL else 1
        if slot == 0 or trial.user_attrs.get(DUPLICATE_ATTR):
            with shared.get_lock():
                shared[slot] += 1

    def should_stop() -> str | None:
        if stop.is_set() or _orphaned():
            return "stopped"
        if shared[0] >= job.max_failures:
            return "failures"
        return "duplicates" if shared[1] >= job.max_failures else None

    timeout = None if job.deadline is None else max(job.deadline - time.time(), 0.0)
    return run_trials(
        study,
        objective,
        budget=job.budget,
        timeout=timeout,
        max_failures=job.max_failures,
        callbacks=[tally],
        grace_period=GRACE_PERIOD,
        should_stop=should_stop,
    )


def _work(jobs: Any, index: int, shared: Any, stop: Any, results: Any) -> None:
    """A worker process: waits for its job (``None``: nothing to do), runs it, and puts its
    outcome, or its error in one line, in ``results``.

    It ends with ``os._exit`` once the message is in the pipe: the interpreter's teardown of
    the library's modules takes seconds on a busy machine, and nothing is left to clean up
    (the storage's connections close with the process)."""
    try:
        payload = _job(jobs)
        if payload is not None:
            job: WorkerJob = ForkingPickler.loads(payload)
            optuna.logging.set_verbosity(job.verbosity)
            with limit_threads(job.threads):
                results.put((index, _trials(job, index, shared, stop), None))
    except MetaHPOError as exc:
        results.put((index, None, f"metahpo:{exc}"))
    except KeyboardInterrupt:  # Ctrl-C reaches every process: the caller reports it
        pass
    except Exception:
        results.put((index, None, traceback.format_exc()))
    finally:
        results.close()
        results.join_thread()
        os._exit(0)


def _orphaned() -> bool:
    """Whether the process that started this worker is gone (killed)."""
    parent = multiprocessing.parent_process()
    return parent is not None and not parent.is_alive()


def _job(jobs: Any) -> bytes | None:
    """The pickled job, once the caller sends it (``None``: no job, or the caller died)."""
    while True:
        with contextlib.suppress(queue.Empty):
            payload: bytes | None = jobs.get(timeout=1.0)
            return payload
        if _orphaned():
            return None


def _owner(trial: FrozenTrial, host: str) -> int | None:
    """The process id in the lease of ``trial`` when it names this host."""
    lease = trial.user_attrs.get(LEASE_ATTR)
    if not isinstance(lease, str):
        return None
    owner, _, rest = lease.partition(":")
    pid = rest.partition(":")[0]
    return int(pid) if owner == host and pid.isdigit() else None


class _Reporter:
    """Calls the callbacks once for each newly finished trial of the workers."""

    def __init__(
        self,
        study: optuna.Study,
        callbacks: Sequence[Callable[[optuna.Study, FrozenTrial], None]],
        pids: set[int],
    ) -> None:
        self.study, self.callbacks, self.pids = study, callbacks, pids
        self.host = socket.gethostname()
        self.seen = {t.number for t in study.get_trials(deepcopy=False, states=_FINISHED)}

    def poll(self) -> None:
        for trial in self.study.get_trials(deepcopy=False, states=_FINISHED):
            if trial.number in self.seen:
                continue
            self.seen.add(trial.number)
            if _owner(trial, self.host) in self.pids:
                for callback in self.callbacks:
                    callback(self.study, trial)


def _combine(
    outcomes: list[RunOutcome], lost: int, study: optuna.Study, budget: int | None
) -> RunOutcome:
    complete = len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))
    reasons = {o.stop for o in outcomes}
    if budget is not None and complete >= budget:
        stop = "budget"
    elif not outcomes:
        stop = "workers"
    else:
        stop = next((r for r in _PRIORITY if r in reasons), "workers")
    errors = [o.last_error for o in outcomes if o.last_error]
    return RunOutcome(
        completed=sum(o.completed for o in outcomes),
        failed=sum(o.failed for o in outcomes),
        surplus=sum(o.surplus for o in outcomes),
        stop=stop,
        last_error=errors[-1] if errors else None,
        duplicates=sum(o.duplicates for o in outcomes),
        lost_workers=lost,
    )


class WorkerPool:
    """Worker processes for one call, started before the run is planned, so that they
    import the library while the caller computes meta-features and plans (see the module).

    Use as a context manager: leaving it stops the workers (an idle one exits at once).
    """

    def __init__(self, workers: int) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.workers = workers
        self._shared = ctx.Array("i", 2)
        self._stop = ctx.Event()
        self._jobs = ctx.Queue()
        self._results = ctx.Queue()
        self._procs = [
            ctx.Process(
                target=_work,
                args=(self._jobs, i, self._shared, self._stop, self._results),
                name=f"metahpo-worker-{i}",
                daemon=True,
            )
            for i in range(workers)
        ]
        self._sent = 0

    def __enter__(self) -> WorkerPool:
        for p in self._procs:
            p.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for _ in range(self.workers - self._sent):
            self._jobs.put(None)
        for p in self._procs:
            p.join(JOIN_SECONDS)
            if p.is_alive():
                p.terminate()
                p.join()
        self._jobs.cancel_join_thread()  # a job left for a worker that died is dropped
        self._jobs.close()
        self._results.close()

    def run(
        self,
        job: WorkerJob,
        study: optuna.Study,
        callbacks: Sequence[Callable[[optuna.Study, FrozenTrial], None]] = (),
    ) -> RunOutcome:
        """Run ``job`` on every worker until they stop; the callbacks see the finished trials
        of the workers as the storage shows them."""
        try:
            payload = bytes(ForkingPickler.dumps(job))
        except Exception as exc:  # a user's sampler that cannot be sent to another process
            raise MetaHPOError(
                f"--n-jobs: the run cannot be sent to worker processes ({exc})"
            ) from None
        reporter = _Reporter(study, callbacks, {int(p.pid or 0) for p in self._procs})
        for _ in self._procs:
            self._jobs.put(payload)
        self._sent = self.workers
        outcomes: dict[int, RunOutcome] = {}
        errors: list[str] = []
        done: set[int] = set()

        def take(messages: list[tuple[int, RunOutcome | None, str | None]]) -> None:
            for index, outcome, error in messages:
                done.add(index)
                if outcome is not None:
                    outcomes[index] = outcome
                else:
                    errors.append(str(error))
                    self._stop.set()  # the other workers stop after their trial

        while len(done) < self.workers:
            take(_drain(self._results, POLL_SECONDS))
            reporter.poll()
            for i, p in enumerate(self._procs):
                if i not in done and not p.is_alive():
                    take(_drain(self._results, 0.2))  # what it said before it exited, if any
                    done.add(i)  # otherwise it was killed: the others fail its trial
        reporter.poll()
        if errors:
            _raise(errors[0])
        lost = self.workers - len(outcomes)
        return _combine(list(outcomes.values()), lost, study, job.budget)


def _raise(error: str) -> None:
    if error.startswith("metahpo:"):
        raise MetaHPOError(error.removeprefix("metahpo:"))
    raise RuntimeError(f"a tuning worker failed:\n{error}")


def _drain(results: Any, wait: float) -> list[tuple[int, RunOutcome | None, str | None]]:
    """The workers' messages; waits up to ``wait`` seconds for the first."""
    got: list[tuple[int, RunOutcome | None, str | None]] = []
    with contextlib.suppress(queue.Empty):
        got.append(results.get(timeout=wait))
        while True:
            got.append(results.get_nowait())
    return got
