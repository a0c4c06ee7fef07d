"""One thread policy for everything that trains models: ``threads`` native threads per trial.

Gradient boosting (OpenMP) and linear algebra (BLAS) start as many threads as the machine has
cores. On small tabular data they gain little, and when other work shares the cores (parallel
trials, other workers on the same study, a benchmark) they oversubscribe them: one 3-fold CV of
``hgb`` took 1.5 s with one thread and over 90 s with the default threads on two busy cores.
Every command and API that trains models therefore runs each trial under
:func:`limit_threads`, one thread by default.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from metahpo.errors import MetaHPOError

#: Threads per trial when the caller does not say (``None``).
DEFAULT_THREADS = 1


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity where the OS tells it)."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not Linux
        return max(os.cpu_count() or 1, 1)


def resolve_n_jobs(
    n_jobs: int | None, parallel: int = 1, option: str = "--threads", unit: str = "thread"
) -> int:
    """Native threads for one trial (or any count of ``unit``), from scikit-learn style
    ``n_jobs``.

    Args:
        n_jobs: ``None``: :data:`DEFAULT_THREADS`; a positive number: that many threads;
            ``-1``: all cores, ``-2``: all but one, and so on (shared by ``parallel``).
        parallel: Trials running at the same time; the cores that ``-1`` means are divided
            among them.
        option, unit: Name the option and what it counts in error messages.

    Raises:
        MetaHPOError: For ``n_jobs == 0`` or a value that is not an integer.
    """
    if n_jobs is None:
        return DEFAULT_THREADS
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int):
        raise MetaHPOError(f"{option} must be an integer, got {n_jobs!r}")
    if n_jobs == 0:
        raise MetaHPOError(f"{option} must not be 0 (1: one {unit}, -1: all cores)")
    if n_jobs > 0:
        return n_jobs
    cores = available_cores() + 1 + n_jobs
    return max(cores // max(parallel, 1), 1)


@contextmanager
def limit_threads(n_jobs: int | None = None, parallel: int = 1) -> Iterator[int]:
    """Limit BLAS and OpenMP thread pools (``hgb``, linear algebra) while the block runs.

    Args:
        n_jobs, parallel: See :func:`resolve_n_jobs`.

    Yields:
        The number of threads allowed.

    Example:
        >>> with limit_threads(1):  # doctest: +SKIP
        ...     evaluate(dataset, "hgb", config)
    """
    from threadpoolctl import threadpool_limits

    threads = resolve_n_jobs(n_jobs, parallel)
    with threadpool_limits(limits=threads):
        yield threads
