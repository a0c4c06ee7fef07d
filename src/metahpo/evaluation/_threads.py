"""One thread policy for everything that trains models: ``threads`` native threads per trial.

Gradient boosting (OpenMP) and linear algebra (BLAS) start as many threads as the machine has
cores. On small tabular data they gain little, and when other work shares the cores (parallel
trials, other workers on the same study, a benchmark) they oversubscribe them: one 3-fold CV of
``hgb`` took 1.5 s with one thread and over 90 s with the default threads on two busy cores.
Every command and API that trains models therefore runs each trial under
:func:`limit_threads`, one thread by default.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from metahpo._args import resolve_n_jobs


@contextmanager
def limit_threads(n_jobs: int | None = None, parallel: int = 1) -> Iterator[int]:
    """Limit BLAS and OpenMP thread pools (``hgb``, linear algebra) while the block runs.

    Args:
        n_jobs, parallel: See :func:`resolve_n_jobs`.

    Yields:
        The number of threads allowed.

    Example:
        >>> from sklearn.datasets import load_iris
        >>> from metahpo.datasets import load_dataset
        >>> from metahpo.evaluation import evaluate
        >>> iris = load_dataset(load_iris(as_frame=True).frame, name="iris")
        >>> with limit_threads(1) as threads:
        ...     result = evaluate(iris, "knn", {"n_neighbors": 5}, folds=3)
        >>> threads, result.error is None
        (1, True)
    """
    from threadpoolctl import threadpool_limits

    threads = resolve_n_jobs(n_jobs, parallel)
    with threadpool_limits(limits=threads):
        yield threads
