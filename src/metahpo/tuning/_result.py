"""What :func:`~metahpo.tuning.tune` returns: :class:`TuneResult`, read from the study."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import optuna
from optuna.trial import TrialState

from metahpo.datasets import Dataset
from metahpo.errors import MetaHPOError
from metahpo.knowledge import TRIAL_ERROR_ATTR, TRIAL_FOLDS_ATTR
from metahpo.tuning._fidelity import stopped_early
from metahpo.tuning._run import RunOutcome
from metahpo.tuning._settings import RunSettings


@dataclass(frozen=True)
class TuneResult:
    """Outcome of :func:`tune`.

    Attributes:
        best_value: Best mean CV score (in the metric's own units).
        best_std: Its standard deviation over folds.
        best_params: The best configuration.
        metric, direction: The objective.
        n_trials: Completed trials in the study (earlier runs included).
        n_new: Trials completed by this call (this process).
        n_failed: Failed trials in the study.
        study, storage: Where the run is stored.
        model, task, dataset: What was tuned.
        settings: The settings that define the run (stored in the study).
        n_new_failed: Trials of this call that failed.
        stopped: What stopped this call: ``"budget"`` (met), ``"timeout"``, ``"failures"``
            (``max_failures``), ``"duplicates"`` (the space may be exhausted) or ``"workers"``
            (every worker process died).
        stop_message: Why this call ended short of its budget, in one line (``None``: it
            did not).
        changed_settings: Settings changed on resume (``allow_changed_settings``).
        n_pruned: Trials of the study stopped early at a low fidelity (``fidelity="auto"``;
            PRUNED, not counted in ``n_trials``).
        pruned_at: How many of them stopped at each fidelity, e.g. ``{"2000 rows": 12,
            "6000 rows": 3, "2 of 5 folds": 1}`` (row rungs, then the fold early stop).
    """

    best_value: float
    best_std: float
    best_params: dict[str, Any]
    metric: str
    direction: str
    n_trials: int
    n_new: int
    n_failed: int
    study: str
    storage: str
    model: str
    task: str
    dataset: str
    optimizer: str
    trials: list[dict[str, Any]] = field(default_factory=list, repr=False)
    meta: dict[str, Any] | None = None
    settings: RunSettings | None = None
    n_new_failed: int = 0
    stopped: str = "budget"
    stop_message: str | None = None
    changed_settings: tuple[str, ...] = ()
    n_pruned: int = 0
    pruned_at: dict[str, int] = field(default_factory=dict)
    _data: Dataset | None = field(default=None, repr=False, compare=False)

    def best_estimator(self, dataset: Dataset | None = None, *, threads: int | None = None) -> Any:
        """The trials' pipeline with the best configuration, fitted anew on all rows of
        ``dataset`` (default: the one tuned); see :func:`~metahpo.tuning._model.refit`."""
        from metahpo.tuning._model import refit, refit_data

        seed = self.settings.seed if self.settings else 0
        data = refit_data(dataset, self._data, self.task)
        return refit(self.model, self.best_params, data, seed=seed, threads=threads)

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "best_value": self.best_value,
            "best_std": self.best_std,
            "best_params": self.best_params,
            "metric": self.metric,
            "direction": self.direction,
            "n_trials": self.n_trials,
            "n_failed": self.n_failed,
            "study": self.study,
            "storage": self.storage,
            "model": self.model,
            "task": self.task,
            "dataset": self.dataset,
            "optimizer": self.optimizer,
            "meta": self.meta,
            "n_new": self.n_new,
            "n_new_failed": self.n_new_failed,
            "stopped": self.stopped,
            "stop_message": self.stop_message,
            "n_pruned": self.n_pruned,
            "pruned_at": self.pruned_at,
            "settings": json.loads(self.settings.to_json()) if self.settings else None,
        }


def _stop_message(outcome: RunOutcome, budget: int | None, done: int) -> str | None:
    of = f"{done} of {budget}" if budget is not None else f"{done}"
    if outcome.stop == "failures":
        return (
            f"stopped after {outcome.failed} failed trials ({of} completed); "
            f"last: {outcome.last_error}; rerun to go on"
        )
    if outcome.stop == "duplicates":
        return (
            f"stopped after {outcome.duplicates} proposals of configurations evaluated already "
            f"({of} completed): the search space may be exhausted"
        )
    if outcome.stop == "workers":
        return f"every worker process died ({of} trials completed); rerun to go on"
    if outcome.stop == "timeout" and budget is not None and done < budget:
        return f"timeout: {of} trials completed; rerun to go on"
    return None


def tune_result(
    study: optuna.Study,
    storage: str,
    family: str,
    dataset: Dataset,
    settings: RunSettings,
    outcome: RunOutcome,
    budget: int | None,
    meta: dict[str, Any] | None,
    changed: list[str],
) -> TuneResult:
    trials = study.get_trials(deepcopy=False)
    done = [t for t in trials if t.state == TrialState.COMPLETE]
    failed = sum(t.state == TrialState.FAIL for t in trials)
    pruned = stopped_early(trials)
    if not done:
        errors = {t.user_attrs.get(TRIAL_ERROR_ATTR) for t in trials if t.state == TrialState.FAIL}
        detail = "; ".join(sorted(e for e in errors if e))[:300]
        raise MetaHPOError(
            f"no trial completed in study {study.study_name!r}" + (f": {detail}" if detail else "")
        )
    best = study.best_trial
    folds_values = [v for v in best.user_attrs.get(TRIAL_FOLDS_ATTR, []) if v is not None]
    std = float(np.std(folds_values)) if folds_values else 0.0
    return TuneResult(
        best_value=float(best.value),  # type: ignore[arg-type]
        best_std=std,
        best_params=dict(best.params),
        metric=settings.metric,
        direction=study.direction.name.lower(),
        n_trials=len(done),
        n_new=outcome.completed,
        n_failed=failed,
        study=study.study_name,
        storage=storage,
        model=family,
        task=dataset.task,
        dataset=dataset.name,
        optimizer=settings.optimizer,
        trials=[{"number": t.number, "value": t.value, "params": t.params} for t in done],
        meta=meta,
        settings=settings,
        n_new_failed=outcome.failed,
        stopped=outcome.stop,
        stop_message=_stop_message(outcome, budget, len(done)),
        changed_settings=tuple(changed),
        n_pruned=sum(pruned.values()),
        pruned_at=pruned,
        _data=dataset,
    )
