"""One thread policy for training (issue 13, finding 5): ``threads`` native threads per trial
(``--threads``; ``--n-jobs`` runs trials in parallel since issue 14)."""

from __future__ import annotations

import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from metahpo.cli import main
from metahpo.datasets import Dataset
from metahpo.errors import MetaHPOError
from metahpo.evaluation import available_cores, limit_threads, resolve_n_jobs
from metahpo.tuning import _prepare, tune


def _threads() -> set[int]:
    return {int(i["num_threads"]) for i in threadpool_info()}


def test_resolve_n_jobs() -> None:
    assert resolve_n_jobs(None) == 1 and resolve_n_jobs(3) == 3
    assert resolve_n_jobs(-1) >= 1
    with pytest.raises(MetaHPOError, match="--threads"):
        resolve_n_jobs(0)
    assert resolve_n_jobs(-1, parallel=available_cores()) == 1  # all cores, divided
    with threadpool_limits(limits=2), limit_threads(1) as n:
        assert n == 1 and _threads() == {1}


@pytest.mark.parametrize(("threads", "family", "expected"), [(None, "hgb", {1}), (2, "knn", {2})])
def test_tune_trains_with_threads(
    threads: int | None,
    family: str,
    expected: set[int],
    tiny_clf: Dataset,
    sqlite_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Trials ran with every core's worth of OpenMP / BLAS threads, whatever else ran."""
    seen: list[set[int]] = []
    real = _prepare.evaluate

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(_threads())
        return real(*args, **kwargs)

    monkeypatch.setattr(_prepare, "evaluate", spy)
    with threadpool_limits(limits=2):  # what an unlimited process has on two cores
        tune(
            tiny_clf, family, budget=2, optimizer="random", storage=sqlite_url, folds=2,
            metafeatures={}, threads=threads,
        )  # fmt: skip
    assert seen and all(s == expected for s in seen), seen


def test_suggest_takes_threads(data_dir, capsys) -> None:
    assert main(["suggest", str(data_dir / "1027_ESL"), "--model", "knn", "--threads", "1"]) == 0
    assert main(["suggest", str(data_dir / "1027_ESL"), "--model", "knn", "--threads", "0"]) == 2
    assert "--threads" in capsys.readouterr().err
