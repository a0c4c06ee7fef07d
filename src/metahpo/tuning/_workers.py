"""Workers sharing one study: who owns a running trial, and which trials of dead workers to fail.

Every trial that :func:`~metahpo.tuning.tune` runs carries its worker's *lease*, the trial user
attribute :data:`LEASE_ATTR` = ``"host:pid:start"`` (``start``: the process's start time, so
that a reused process id is not mistaken for the worker). A RUNNING trial belongs to a dead
worker, and is failed at once, when

* its lease names this host and that process is gone (or is another process with the same
  id): a kill -9 is noticed by the very next start, however soon;
* its lease names another host and Optuna's heartbeat of the trial is older than the grace
  period (RDB storages; ``optuna.storages.fail_stale_trials``);
* it has no lease and started longer than the grace period ago (its worker died between
  creating the trial and writing the lease).

A RUNNING trial of a live worker, on this host or another, is never failed. A failed stale
trial whose parameters were already set is retried once with the same parameters (a WAITING
trial, which the next ``ask`` of any worker takes first), as Optuna's
``RetryHeartbeatStaleTrialCallback`` does.
"""

from __future__ import annotations

import datetime
import os
import socket
import warnings
from collections.abc import Iterable

import optuna
from optuna.trial import FrozenTrial, TrialState

from metahpo.knowledge import TRIAL_ERROR_ATTR

#: Trial user attribute: the lease ``"host:pid:start"`` of the worker running the trial.
LEASE_ATTR = "metahpo:worker"

#: Optuna's system attributes of a retried trial (as ``RetryHeartbeatStaleTrialCallback``).
_FAILED_TRIAL, _RETRY_HISTORY = "failed_trial", "retry_history"
#: Retries of one configuration whose worker died.
MAX_RETRY = 1


def _start_time(pid: int) -> str | None:
    """The start time of process ``pid`` in clock ticks since boot (Linux), else ``None``."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            stat = f.read()
    except OSError:
        return None
    # Fields after the command name (in parentheses, which may hold spaces): index 19 = start.
    rest = stat.rsplit(")", 1)[-1].split()
    return rest[19] if len(rest) > 19 else None


def current_lease() -> str:
    """This process's lease."""
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{_start_time(pid) or '?'}"


def _alive(pid: int, start: str) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        pass
    now = _start_time(pid)
    return start == "?" or now is None or now == start


def is_dead(trial: FrozenTrial, grace_period: float, host: str | None = None) -> bool:
    """Whether the RUNNING ``trial`` belongs to a worker known to be dead (see the module)."""
    lease = trial.user_attrs.get(LEASE_ATTR)
    if not isinstance(lease, str):
        start = trial.datetime_start
        if start is None:
            return False
        age = (datetime.datetime.now() - start).total_seconds()
        return age > grace_period
    owner, _, rest = lease.partition(":")
    pid, _, started = rest.partition(":")
    if owner != (host or socket.gethostname()) or not pid.isdigit():
        return False  # another host: left to the heartbeat
    return not _alive(int(pid), started)


def retry_stale(study: optuna.Study, trial: FrozenTrial) -> None:
    """Retry the parameters of a failed stale trial once, without its dead worker's lease
    (Optuna's ``heartbeat_stale_trial_callback``; also used for trials failed here)."""
    _retry(study, trial)


def _retry(study: optuna.Study, trial: FrozenTrial) -> None:
    history = list(trial.system_attrs.get(_RETRY_HISTORY, []))
    if not trial.params or len(history) >= MAX_RETRY:
        return
    attrs = {k: v for k, v in trial.user_attrs.items() if k not in (LEASE_ATTR, TRIAL_ERROR_ATTR)}
    # A pruner's bookkeeping (successive halving's ``completed_rung_k``) stays with the failed
    # trial: the retry climbs the rungs anew.
    system = {k: v for k, v in trial.system_attrs.items() if not k.startswith("completed_rung_")}
    system[_FAILED_TRIAL] = trial.number
    system[_RETRY_HISTORY] = [*history, trial.number]
    study.add_trial(
        optuna.trial.create_trial(
            state=TrialState.WAITING,
            params=trial.params,
            distributions=trial.distributions,
            user_attrs=attrs,
            system_attrs=system,
        )
    )


def fail_dead_trials(study: optuna.Study, grace_period: float) -> list[int]:
    """Fail the RUNNING trials of dead workers (see the module) and retry their parameters
    once; returns the numbers of the trials this call failed."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)  # other hosts: heartbeat older than the grace
    host = socket.gethostname()
    failed = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if not is_dead(trial, grace_period, host):
            continue
        try:
            study.tell(trial.number, state=TrialState.FAIL)
        except (ValueError, RuntimeError):  # another worker failed it first
            continue
        failed.append(trial.number)
        _retry(study, trial)
    return failed


def running(trials: Iterable[FrozenTrial]) -> list[FrozenTrial]:
    return [t for t in trials if t.state in (TrialState.RUNNING, TrialState.WAITING)]
