"""A tuning run's options checked for type and range: imports nothing heavy, so that the CLI
answers a bad option at once, before it loads numpy, pandas or Optuna.

Each failed check is a one-line :class:`~metahpo.errors.MetaHPOError` naming the CLI option
(``--timeout``) or the Python argument (``tune: 'timeout'``).
"""

from __future__ import annotations

from metahpo._args import check_int, check_positive, got, resolve_n_jobs
from metahpo.errors import MetaHPOError

#: Largest seed numpy accepts.
MAX_SEED = 2**32 - 1
#: Cross-validation folds of a run that names none (small data, or ``fidelity="none"``).
DEFAULT_FOLDS = 5
#: ``folds`` of a run validated on one holdout split instead of cross-validation.
HOLDOUT = 1
#: The values of ``tune(fidelity=...)`` (``--fidelity``).
FIDELITIES = ("auto", "none")


#: The CLI option of each checked argument, named in the CLI's messages.
OPTIONS = {
    "budget": "--budget",
    "folds": "--folds",
    "seed": "--seed",
    "timeout": "--timeout",
    "trial_time_limit": "--trial-timeout",
    "warm_start": "--warm-start",
    "max_failures": "--max-failures",
    "n_jobs": "--n-jobs",
    "threads": "--threads",
    "fidelity": "--fidelity",
}


def argument(caller: str | None, name: str) -> str:
    """How a message names an argument: ``tune: 'budget'`` for a Python caller, the CLI
    option (``--budget``) when ``caller`` is ``None``."""
    return f"{caller}: {name!r}" if caller else OPTIONS.get(name, name)


def check_seed(seed: int, option: str = "--seed") -> None:
    """numpy takes seeds in ``[0, 2**32 - 1]``."""
    if not 0 <= seed <= MAX_SEED:
        raise MetaHPOError(f"{option} must be in [0, {MAX_SEED}], got {seed}")


def check_options(
    *,
    budget: int | None,
    folds: int | None,
    seed: int,
    timeout: float | None = None,
    trial_time_limit: float | None = None,
    warm_start: int = 0,
    max_failures: int | None = None,
    n_jobs: int | None = None,
    threads: int | None = None,
    fidelity: str | None = None,
    caller: str | None = None,
) -> None:
    """Raise a one-line :class:`MetaHPOError` for the first option of a wrong type or out of
    range; the message names the CLI option, or ``caller``'s argument (``tune: 'budget'``)."""

    def name(arg: str) -> str:
        return argument(caller, arg)

    check_int(budget, name("budget"), low=1, none=True)
    if folds is not None:  # None: the study's folds, or chosen by the data's size
        check_int(folds, name("folds"), low=2)
    check_int(seed, name("seed"), low=0, high=MAX_SEED)
    check_positive(timeout, name("timeout"), unit="seconds", none=True)
    check_positive(trial_time_limit, name("trial_time_limit"), unit="seconds", none=True)
    check_int(warm_start, name("warm_start"), low=0)
    check_int(max_failures, name("max_failures"), low=1, none=True)
    if budget is None and timeout is None:
        raise MetaHPOError(
            "a run without --budget needs --timeout (it runs until the timeout)"
            if caller is None
            else f"{caller}: budget=None needs a 'timeout' (the run goes on until the timeout)"
        )
    resolve_n_jobs(n_jobs, option=name("n_jobs"), unit="process")
    resolve_n_jobs(threads, option=name("threads"))
    if fidelity is not None and not (isinstance(fidelity, str) and fidelity in FIDELITIES):
        raise MetaHPOError(
            f"{name('fidelity')} must be 'auto' (low fidelities on large data), 'none' or None "
            f"(the study's, or 'auto' for a new one), got {got(fidelity)}"
            if caller
            else f"--fidelity must be auto or none, got {fidelity!r}"
        )
