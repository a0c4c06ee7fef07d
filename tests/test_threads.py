"""One thread policy for training (issue 13, finding 5): ``n_jobs`` native threads per trial."""

from __future__ import annotations

import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from metahpo.cli import main
from metahpo.datasets import Dataset
from metahpo.errors import MetaHPOError
from metahpo.evaluation import limit_threads, resolve_n_jobs
from metahpo.tuning import _tune, tune


def _threads() -> set[int]:
    return {int(i["num_threads"]) for i in threadpool_info()}


def test_resolve_n_jobs() -> None:
    assert resolve_n_jobs(None) == 1 and resolve_n_jobs(3) == 3
    assert resolve_n_jobs(-1) >= 1
    with pytest.raises(MetaHPOError, match="--n-jobs"):
        resolve_n_jobs(0)
    with threadpool_limits(limits=2), limit_threads(1) as n:
        assert n == 1 and _threads() == {1}


@pytest.mark.parametrize(("n_jobs", "family", "expected"), [(None, "hgb", {1}), (2, "knn", {2})])
def test_tune_trains_with_n_jobs_threads(
    n_jobs: int | None,
    family: str,
    expected: set[int],
    tiny_clf: Dataset,
    sqlite_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Trials ran with every core's worth of OpenMP / BLAS threads, whatever else ran."""
    seen: list[set[int]] = []
    real = _tune.evaluate

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(_threads())
        return real(*args, **kwargs)

    monkeypatch.setattr(_tune, "evaluate", spy)
    with threadpool_limits(limits=2):  # what an unlimited process has on two cores
        tune(
            tiny_clf, family, budget=2, optimizer="random", storage=sqlite_url, folds=2,
            metafeatures={}, n_jobs=n_jobs,
        )  # fmt: skip
    assert seen and all(s == expected for s in seen), seen


def test_suggest_takes_n_jobs(data_dir, capsys) -> None:
    assert main(["suggest", str(data_dir / "1027_ESL"), "--model", "knn", "--n-jobs", "1"]) == 0
    assert main(["suggest", str(data_dir / "1027_ESL"), "--model", "knn", "--n-jobs", "0"]) == 2
    assert "--n-jobs" in capsys.readouterr().err
