"""TIME benchmark: one run's tuning, in a process of its own (``python -m
metahpo_bench._time_child SPEC.json``).

The parent (:mod:`metahpo_bench._time_runner`) starts this process with one thread allowed
(``OMP_NUM_THREADS=1`` and the like, set before anything is imported) and kills it once the
deadline and :data:`~metahpo_bench._time_protocol.GRACE_S` are past; a watchdog thread here
ends it at the same moment. The clock starts once the training split is in memory; the
incumbents go to the incumbent file as they are found (:mod:`metahpo_bench._time_curve`).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from metahpo.datasets import Dataset
from metahpo.evaluation import get_metric
from metahpo_bench._time_protocol import (
    FLAML_ESTIMATORS,
    GRACE_S,
    TIME_METHODS,
    rows_of,
    split_rows,
)


class Recorder:
    """Appends one JSON line per event to the incumbent file, flushed at once."""

    def __init__(self, path: str | Path, start: float) -> None:
        self._fh = open(path, "a", encoding="utf-8")  # noqa: SIM115 (open while the run lasts)
        self.start = start
        self._lock = threading.Lock()

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def write(self, event: dict[str, Any]) -> None:
        with self._lock:
            self._fh.write(json.dumps(event, default=_plain) + "\n")
            self._fh.flush()

    def incumbent(self, value: float, config: dict[str, Any]) -> None:
        self.write({"t": round(self.elapsed(), 4), "value": value, "config": config})


def _plain(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    return str(v)


def load_training_split(spec: dict[str, Any]) -> Dataset:
    """The run's training split (the test rows are never loaded into a method's reach)."""
    from metahpo_bench._time_runner import load_full

    full = load_full(spec["folder"], spec["dataset"])
    train, _ = split_rows(full, int(spec["split_seed"]))
    return rows_of(full, train)


def _remaining(rec: Recorder, budget: float) -> float:
    return max(budget - rec.elapsed(), 0.01)


def run_tune(spec: dict[str, Any], train: Dataset, rec: Recorder) -> None:
    """``metahpo.tune`` with the method's options until the deadline; each COMPLETE trial that
    beats the best so far is an incumbent."""
    from optuna import Study
    from optuna.trial import FrozenTrial, TrialState

    import metahpo
    from metahpo_bench._live import _experience, _without_group

    method = TIME_METHODS[spec["method"]]
    sign = 1.0 if get_metric(None, train.task).direction == "maximize" else -1.0
    best: list[float] = []

    def on_trial(study: Study, trial: FrozenTrial) -> None:
        if trial.state != TrialState.COMPLETE or trial.value is None:
            return
        value = float(trial.value)
        if not best or sign * value > sign * best[0]:
            best[:] = [value]
            rec.incumbent(value, dict(trial.params))

    kwargs: dict[str, Any] = dict(method.options)
    if kwargs.get("pruner") == "hyperband":
        kwargs["pruner"] = _hyperband(train, int(spec["seed"]))
    if method.meta:  # inside the clock: what tune would load by default
        kwargs["experience"] = _without_group(_experience(spec.get("bundle")), train.name)
    metahpo.tune(
        train,
        spec["family"],
        budget=None,
        timeout=_remaining(rec, float(spec["budget"])),
        storage=None,
        seed=int(spec["seed"]),
        folds=None if spec["folds"] is None else int(spec["folds"]),
        callbacks=[on_trial],
        **kwargs,
    )


def _hyperband(train: Dataset, seed: int) -> Any:
    """Optuna's ``HyperbandPruner`` as an Optuna user would set it on tune's row rungs: the
    lowest rung as its minimum resource, the same reduction factor, the maximum read from the
    first full-fidelity report (``None``: the data has no rungs)."""
    import optuna

    from metahpo.evaluation import make_folds
    from metahpo.tuning import plan_fidelity

    plan = plan_fidelity("auto", make_folds(train, 5, seed))
    if plan is None:
        return None
    return optuna.pruners.HyperbandPruner(min_resource=plan.rungs[0], reduction_factor=plan.eta)


def run_flaml(spec: dict[str, Any], train: Dataset, rec: Recorder) -> None:
    """FLAML ``AutoML`` with the family's estimator, one thread, the project's metric, its
    defaults otherwise (no final retrain: the harness refits every incumbent itself)."""
    import flaml

    lib: Any = flaml  # its names are not re-exported for type checkers

    metric = get_metric(None, train.task)
    sign = 1.0 if metric.direction == "maximize" else -1.0
    automl = lib.AutoML()
    told: list[bool] = []

    def project_metric(
        X_val: Any, y_val: Any, estimator: Any, *args: Any, **kwargs: Any
    ) -> tuple[float, dict[str, float]]:
        if not told:
            told.append(True)
            rec.write({"full_size": automl.max_resource})
        value = float(metric.fn(np.asarray(y_val), estimator.predict(X_val)))
        return -sign * value, {metric.name: value}

    rec.write({"flaml_offset": round(rec.elapsed(), 4)})
    automl.fit(
        X_train=train.X,
        y_train=train.y,
        task=train.task,
        time_budget=_remaining(rec, float(spec["budget"])),
        estimator_list=[FLAML_ESTIMATORS[spec["family"]]],
        metric=project_metric,
        n_jobs=1,
        seed=int(spec["seed"]),
        log_file_name=spec["flaml_log"],
        log_type="all",
        retrain_full=False,
        verbose=0,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the spec's method until its deadline; always exits 0 (errors go to the file)."""
    spec = json.loads(Path((argv or sys.argv[1:])[0]).read_text(encoding="utf-8"))
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.simplefilter("ignore")
    train = load_training_split(spec)
    rec = Recorder(spec["out"], time.perf_counter())
    rec.write({"start": 0.0, "rows": train.n_rows})
    budget = float(spec["budget"])
    watchdog = threading.Timer(budget + GRACE_S, os._exit, (0,))
    watchdog.daemon = True
    watchdog.start()
    try:
        if TIME_METHODS[spec["method"]].kind == "flaml":
            run_flaml(spec, train, rec)
        else:
            run_tune(spec, train, rec)
    except Exception as exc:
        rec.write({"error": f"{type(exc).__name__}: {exc}"[:300]})
    rec.write({"end": round(rec.elapsed(), 4)})
    os._exit(0)  # no lingering threads of a peer keep the process alive


if __name__ == "__main__":
    sys.exit(main())
