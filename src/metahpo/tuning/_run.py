"""Running a study to its budget, alone or with other workers on the same storage.

Budget semantics (what :func:`~metahpo.tuning.tune` promises):

* ``budget`` is the number of COMPLETE trials wanted in the study, all runs and all workers
  together. Failed trials do not count: a failed trial is followed by another one. Without a
  budget (``None``) trials run until the timeout.
* Each call gives up after ``max_failures`` failed trials of its own (default: twice the
  budget, at least :data:`MIN_FAILURES`; without a budget :data:`NO_BUDGET_FAILURES`); its
  result then says so (``TuneResult.stopped``). The worker processes of one call
  (:mod:`metahpo.tuning._parallel`) count their failures together.
  A rerun goes on with the completed trials kept.
* Workers claim budget in the storage. Before a trial starts, a worker counts the study's
  COMPLETE and RUNNING trials: when they make the budget, the rest of the budget is running
  elsewhere, and the worker waits for those trials; if one of them fails (or its worker
  dies), the waiting worker takes its place, otherwise it stops once the budget is met. Two
  workers that start trials at the same moment are told apart by trial number (unique in the
  storage): a trial is admitted only while fewer than ``budget`` trials with a lower number are
  COMPLETE, RUNNING or WAITING, checked when it starts and again before its result is
  stored; a trial that is not admitted is PRUNED (user attribute :data:`SURPLUS_ATTR`)
  before or instead of counting. So N workers end with exactly ``budget`` COMPLETE trials.
* A configuration that is COMPLETE or RUNNING already, or was stopped early at a low fidelity
  (PRUNED with :data:`FIDELITY_ATTR`), is not evaluated again (the same seeded CV gives the
  same scores at every fidelity): its trial is PRUNED (user attribute :data:`DUPLICATE_ATTR`)
  and the sampler reseeded; after ``max_failures`` such trials the call stops (the space may
  be exhausted). So no configuration is evaluated twice at one fidelity.
* Trials stopped early at a low fidelity (:mod:`metahpo.tuning._fidelity`) are PRUNED and do
  not count towards the budget, like failed ones, but neither towards ``max_failures``.
* RUNNING trials of dead workers are failed on every start and while waiting (see
  :mod:`metahpo.tuning._workers`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from metahpo.knowledge import TRIAL_ERROR_ATTR
from metahpo.spaces import same_config
from metahpo.tuning._workers import LEASE_ATTR, current_lease, fail_dead_trials

#: Trial user attribute of a trial that found the budget met by other workers (PRUNED).
SURPLUS_ATTR = "metahpo:surplus"
#: Trial user attribute of a trial skipped because its configuration was evaluated already.
DUPLICATE_ATTR = "metahpo:duplicate"
#: Trial user attribute of a trial stopped early at a low fidelity (PRUNED): a dict with its
#: ``train_rows`` per fold, the ``folds`` it ran and the run's ``of_folds``.
FIDELITY_ATTR = "metahpo:fidelity"
#: Smallest default of ``max_failures``.
MIN_FAILURES = 10
#: Default ``max_failures`` of a run without a budget (it runs until its timeout).
NO_BUDGET_FAILURES = 100
#: Seconds between looks at the study while other workers run the last trials.
POLL_SECONDS = 0.5

_ADMITTING = (TrialState.COMPLETE, TrialState.RUNNING, TrialState.WAITING)
_EVALUATED = (TrialState.COMPLETE, TrialState.RUNNING, TrialState.PRUNED)


class TrialFailed(Exception):
    """A configuration that could not be evaluated (recorded as a FAIL trial, one line)."""

    def __init__(self, number: int, reason: str) -> None:
        super().__init__(f"trial {number} failed: {reason}")
        self.number = number


class _OneLine(logging.Filter):
    """Optuna logs a failed trial in two records, the first with its traceback; a
    :class:`TrialFailed` is one line."""

    def __init__(self) -> None:
        super().__init__()
        self._echo: str | None = None

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, TrialFailed):
            record.msg, record.args = str(exc), None
            record.exc_info, record.exc_text = None, None
            self._echo = f"Trial {exc.number} failed with value"
            return True
        if self._echo is not None and str(record.msg).startswith(self._echo):
            self._echo = None
            return False
        return True


@contextmanager
def _one_line_failures() -> Any:
    logger = logging.getLogger("optuna.study._optimize")
    one = _OneLine()
    logger.addFilter(one)
    try:
        yield
    finally:
        logger.removeFilter(one)


@dataclass(frozen=True)
class RunOutcome:
    """What one call's workers did.

    Attributes:
        completed: Trials this call completed.
        failed: Trials of this call that failed.
        surplus: Trials of this call pruned because other workers met the budget.
        stop: Why the call stopped: ``"budget"``, ``"timeout"``, ``"failures"``,
            ``"duplicates"`` (as many configurations evaluated already as ``max_failures``: the
            space may be exhausted) or ``"workers"`` (every worker process of the call died).
        duplicates: Trials of this call skipped as configurations evaluated already.
        last_error: Reason of this call's last failed trial.
        lost_workers: Worker processes of the call that died (``tune(n_jobs=N)``).
    """

    completed: int
    failed: int
    surplus: int
    stop: str
    last_error: str | None = None
    duplicates: int = 0
    lost_workers: int = 0


def default_max_failures(budget: int | None) -> int:
    return NO_BUDGET_FAILURES if budget is None else max(2 * budget, MIN_FAILURES)


def _duplicate(study: optuna.Study, trial: optuna.Trial, lower_only: bool) -> bool:
    params = trial.params
    if not params:
        return False
    for t in study.get_trials(deepcopy=False, states=_EVALUATED):
        if t.number == trial.number or (lower_only and t.number > trial.number):
            continue
        if t.state == TrialState.PRUNED and FIDELITY_ATTR not in t.user_attrs:
            continue  # a duplicate or a surplus trial: its configuration was not evaluated
        if same_config(t.params, params):
            return True
    return False


def skip_duplicate(study: optuna.Study, trial: optuna.Trial, lower_only: bool = False) -> None:
    """Prune ``trial`` when its configuration is COMPLETE, RUNNING or stopped early at a low
    fidelity in another trial (with a lower number when ``lower_only``): CV with the same seed
    would give the same scores.
    The sampler is reseeded, so that workers that share a seed take different paths."""
    if _duplicate(study, trial, lower_only):
        trial.set_user_attr(DUPLICATE_ATTR, True)
        study.sampler.reseed_rng()
        raise optuna.TrialPruned("configuration evaluated already")


def admitted(study: optuna.Study, number: int, budget: int | None) -> bool:
    """Whether trial ``number`` is within ``budget`` (see the module)."""
    if budget is None:
        return True
    trials = study.get_trials(deepcopy=False, states=_ADMITTING)
    return sum(t.number < number for t in trials) < budget


def _stop_reason(
    complete: int,
    budget: int | None,
    started: float,
    timeout: float | None,
    counts: Mapping[str, int],
    limit: int,
    should_stop: Callable[[], str | None] | None,
) -> str | None:
    """Why the run stops before its next trial (the budget is met, the time is up, too many
    failures or duplicates, or ``should_stop``'s reason), or ``None`` to go on."""
    if budget is not None and complete >= budget:
        return "budget"
    if timeout is not None and time.monotonic() - started >= timeout and complete > 0:
        return "timeout"  # never without a model: until a trial completes, trials go on
    if counts["failed"] >= limit:
        return "failures"
    if counts["duplicate"] >= limit:
        return "duplicates"
    return should_stop() if should_stop is not None else None


def run_trials(
    study: optuna.Study,
    objective: Callable[[optuna.Trial], float],
    *,
    budget: int | None,
    timeout: float | None = None,
    max_failures: int | None = None,
    callbacks: Sequence[Callable[[optuna.Study, FrozenTrial], None]] = (),
    grace_period: float = 15.0,
    should_stop: Callable[[], str | None] | None = None,
) -> RunOutcome:
    """Run trials of ``objective`` until the study holds ``budget`` COMPLETE trials (without
    a budget: until ``timeout``).

    ``objective`` raises :class:`TrialFailed` for a configuration that fails. See the module
    for the semantics shared with other workers. ``should_stop``, asked before each trial,
    returns a reason to stop (the ``stop`` of the outcome) or ``None`` to go on.
    """
    limit = default_max_failures(budget) if max_failures is None else max_failures
    lease = current_lease()
    counts = {"completed": 0, "failed": 0, "surplus": 0, "duplicate": 0}
    last_error: list[str] = []

    def claimed(trial: optuna.Trial) -> float:
        trial.set_user_attr(LEASE_ATTR, lease)
        if not admitted(study, trial.number, budget):
            trial.set_user_attr(SURPLUS_ATTR, True)
            raise optuna.TrialPruned("the budget is met by other workers")
        value = objective(trial)
        if not admitted(study, trial.number, budget):  # a worker that started just before
            trial.set_user_attr(SURPLUS_ATTR, True)
            raise optuna.TrialPruned("the budget is met by other workers")
        skip_duplicate(study, trial, lower_only=True)  # another worker, at the same moment
        return value

    def count(_: optuna.Study, trial: FrozenTrial) -> None:
        if trial.state == TrialState.COMPLETE:
            counts["completed"] += 1
        elif trial.state == TrialState.FAIL:
            counts["failed"] += 1
            last_error[:] = [str(trial.user_attrs.get(TRIAL_ERROR_ATTR, "failed"))]
        elif trial.user_attrs.get(SURPLUS_ATTR):
            counts["surplus"] += 1
        elif trial.user_attrs.get(DUPLICATE_ATTR):
            counts["duplicate"] += 1

    started = time.monotonic()
    stop = "budget"
    with _one_line_failures():
        while True:
            fail_dead_trials(study, grace_period)
            trials = study.get_trials(deepcopy=False, states=_ADMITTING)
            complete = sum(t.state == TrialState.COMPLETE for t in trials)
            busy = sum(t.state == TrialState.RUNNING for t in trials)
            reason = _stop_reason(complete, budget, started, timeout, counts, limit, should_stop)
            if reason is not None:
                stop = reason
                break
            if (
                budget is not None and complete + busy >= budget
            ):  # the rest of the budget runs in other workers
                time.sleep(POLL_SECONDS)
                continue
            study.optimize(
                claimed,
                n_trials=1,
                catch=(TrialFailed,),
                callbacks=[count, *callbacks],
                gc_after_trial=False,
            )
    return RunOutcome(
        counts["completed"],
        counts["failed"],
        counts["surplus"],
        stop,
        last_error[0] if last_error else None,
        counts["duplicate"],
    )
