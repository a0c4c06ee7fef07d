"""Multi-fidelity tuning: the plan of low fidelities of a run and the staged evaluation of a trial.

With ``tune(fidelity="auto")`` a configuration is first evaluated on few training rows and
promoted to more only while it stays among the best, on Optuna's pruner interface:

* **Row rungs.** Each fold's training rows are subsampled
  (:func:`~metahpo.evaluation.subsample_rows`: seeded, stratified, nested) to ``r0``, then
  ``r0·η``, ``r0·η²``, ... rows (:data:`MIN_ROWS`, :data:`ETA`); a rung is used while it is at
  most ``1/η`` of the full training rows, so each costs at most a third of the next fidelity.
  After each rung the trial reports its mean CV score (``trial.report(value, step=rows)``)
  and asks ``trial.should_prune()``; a pruned trial is PRUNED with the user attribute
  :data:`~metahpo.tuning._run.FIDELITY_ATTR` saying where it stopped. The default pruner is
  Optuna's asynchronous successive halving with ``min_resource=r0`` and
  ``reduction_factor=η``, so its rung ``k`` is at ``r0·η^k`` rows; a user's pruner (e.g.
  ``HyperbandPruner(min_resource=r0, reduction_factor=η)``) replaces it. A trial that reaches
  full fidelity reports its score at ``step`` = the full training rows too (``should_prune``
  is not asked there: a full evaluation is never thrown away).
* **Fold early stop.** At full rows with k-fold CV, a configuration is stopped after a fold
  when even an optimistic forecast of its mean cannot beat the incumbent's (the best COMPLETE
  trial, on the same folds): :func:`~metahpo.evaluation.cannot_beat` with the
  :func:`~metahpo.evaluation.paired_spread` of the COMPLETE trials' fold scores. It is active
  only where the row rungs are.
* **Validation.** Unless the caller names the folds, a table of :data:`HOLDOUT_ROWS` rows or
  more is validated on one 20 % holdout split (:func:`~metahpo.evaluation.make_holdout`;
  ``folds`` = :data:`HOLDOUT` in the settings) instead of 5-fold CV, and so is a table too
  large for CV in the run's timeout: more than :data:`CV_CELLS_PER_SECOND` cells (rows ×
  columns) per second of it. The rule and both thresholds are FLAML's
  (``AutoML._decide_eval_method``: CV while ``rows · columns / 0.9 < 10⁷ · T / 3600`` and
  rows < 100,000): 5-fold CV of 15,000 rows × 10 columns fits a 60-s timeout, of 75,000 rows
  × 30 columns it needs 15 minutes.

Data whose training rows per fold are fewer than ``η·r0`` get no rungs at all, hence no fold
stop: every trial is evaluated exactly as with ``fidelity="none"``. The first trial of a study
(no COMPLETE trial yet) is never pruned and goes straight to full fidelity, so a run with a
timeout ends with a model unless every trial fails. Only COMPLETE trials are full-fidelity
scores: ``study.best_trial``, the budget and :class:`~metahpo.tuning.TuneResult` count them
only.

Why ``r0`` = 2,000 rows: below about that many training rows, scores of the families' most
data-hungry settings (boosting rounds, leaves, hidden units) rank configurations poorly for the
full data, and a fit is then so cheap that its fixed costs (preprocessing, predicting the whole
test fold at every rung) leave little to save; it also keeps every table of up to about 7,000
rows (5-fold CV: 5,600 training rows < 3 · 2,000) exactly as it was tuned without fidelities.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from metahpo.datasets import Dataset
from metahpo.errors import MetaHPOError
from metahpo.evaluation import (
    Evaluation,
    FoldCallback,
    Folds,
    cannot_beat,
    make_folds,
    make_holdout,
    paired_spread,
)
from metahpo.knowledge import TRIAL_FIT_TIME_ATTR, TRIAL_FOLDS_ATTR
from metahpo.tuning._options import DEFAULT_FOLDS, HOLDOUT
from metahpo.tuning._run import FIDELITY_ATTR

#: Reduction factor η: rungs grow by it, and about ``1/η`` of a rung's trials are promoted.
ETA = 3
#: Training rows per fold of the lowest rung (``r0``; see the module for why 2,000).
MIN_ROWS = 2000
#: Rows from which a run without explicit folds is validated on a holdout split.
HOLDOUT_ROWS = 100_000
#: Cells (rows × columns) of data per second of a run's timeout up to which it is validated
#: by k-fold CV; beyond, one holdout split (FLAML's 10⁷ cells an hour, × 0.9).
CV_CELLS_PER_SECOND = 2_500
#: Share of the rows held out for validation on large tables.
HOLDOUT_FRACTION = 0.2
#: ``z`` of the fold early stop (:func:`~metahpo.evaluation.cannot_beat`).
FOLD_STOP_Z = 2.0

#: ``run(train_rows, on_fold, time_limit)``: one evaluation of the trial's configuration.
Run = Callable[[int | None, FoldCallback | None, float | None], Evaluation]


@dataclass(frozen=True)
class FidelityPlan:
    """The low fidelities of a run.

    Attributes:
        rungs: Training rows per fold of each low fidelity, increasing (``r0·η^k``).
        full_rows: Training rows per fold at full fidelity (the smallest fold's).
        folds: Validation splits (1: a holdout split).
        eta: Reduction factor η.
        fold_stop: Whether a full-fidelity evaluation may stop after a fold.
    """

    rungs: tuple[int, ...]
    full_rows: int
    folds: int
    eta: int = ETA
    fold_stop: bool = True

    def describe(self) -> str:
        """``"rungs 2000, 6000 of 16000 training rows per fold"``."""
        rungs = ", ".join(str(r) for r in self.rungs)
        return f"rungs {rungs} of {self.full_rows} training rows per fold"


def resolve_validation(
    folds: int | None,
    fidelity: str | None,
    stored: tuple[int | None, str | None],
    shape: tuple[int, int],
    timeout: float | None = None,
) -> tuple[int, str]:
    """The folds and fidelity of a run: those given, else the stored study's (``stored``:
    its folds and fidelity, ``None`` for a new study), else by the data's ``shape`` (rows,
    columns) and the run's ``timeout`` (see the module)."""
    old_folds, old_fidelity = stored
    chosen = fidelity if fidelity is not None else (old_fidelity or "auto")
    if folds is None:
        if old_folds is not None:
            folds = old_folds
        elif chosen == "auto" and _too_large_for_cv(shape, timeout):
            folds = HOLDOUT
        else:
            folds = DEFAULT_FOLDS
    return folds, chosen


def _too_large_for_cv(shape: tuple[int, int], timeout: float | None) -> bool:
    rows, columns = shape
    if rows >= HOLDOUT_ROWS:
        return True
    return timeout is not None and rows * columns > CV_CELLS_PER_SECOND * timeout


def make_splits(dataset: Dataset, folds: int, seed: int) -> Folds:
    """The run's validation splits: seeded k-fold CV, or one holdout split (``folds == 1``)."""
    if folds == HOLDOUT:
        return make_holdout(dataset, HOLDOUT_FRACTION, seed)
    return make_folds(dataset, folds, seed)


def plan_fidelity(fidelity: str, splits: Folds) -> FidelityPlan | None:
    """The low fidelities of a run on ``splits`` (``None``: none, every trial at full fidelity:
    ``fidelity="none"``, or too few training rows per fold for two rungs)."""
    if fidelity == "none" or not splits:
        return None
    full = min(len(train) for train, _ in splits)
    rungs = []
    rows = MIN_ROWS
    while rows * ETA <= full:
        rungs.append(rows)
        rows *= ETA
    if not rungs:
        return None
    return FidelityPlan(tuple(rungs), full, len(splits), ETA, fold_stop=len(splits) >= 2)


def run_pruner(
    pruner: optuna.pruners.BasePruner | None, plan: FidelityPlan | None, fidelity: str
) -> optuna.pruners.BasePruner | None:
    """The pruner of the run: the user's, else successive halving on the plan's rungs
    (``None``: the run has no rungs)."""
    if pruner is not None and fidelity == "none":
        raise MetaHPOError(
            "tune: 'pruner' needs fidelity='auto' (with fidelity='none' no trial reports a low "
            "fidelity to prune at)"
        )
    if plan is None:
        return None
    if pruner is not None:
        return pruner
    return optuna.pruners.SuccessiveHalvingPruner(
        min_resource=plan.rungs[0], reduction_factor=plan.eta
    )


def fold_stop(complete: Sequence[FrozenTrial], maximize: bool, k: int) -> FoldCallback | None:
    """The fold early stop against the best of the ``complete`` trials that has ``k`` finite
    fold scores (``None``: no such trial)."""
    scored: list[tuple[float, list[float]]] = []
    for t in complete:
        values = t.user_attrs.get(TRIAL_FOLDS_ATTR)
        if t.value is None or not isinstance(values, list) or len(values) != k:
            continue
        if all(isinstance(v, int | float) and math.isfinite(v) for v in values):
            scored.append((float(t.value), [float(v) for v in values]))
    if k < 2 or not scored:
        return None
    best = (max if maximize else min)(scored, key=lambda s: s[0])[1]
    spread = paired_spread([s[1] for s in scored], best)

    def stop(_: int, values: tuple[float, ...]) -> bool:
        return cannot_beat(values, best, maximize=maximize, spread=spread, z=FOLD_STOP_Z)

    return stop


def evaluate_staged(
    trial: optuna.Trial,
    plan: FidelityPlan | None,
    run: Run,
    *,
    maximize: bool,
    time_limit: float | None,
    deadline: float | None = None,
) -> Evaluation:
    """The trial's configuration evaluated up the plan's rungs to full fidelity (see the
    module); raises :class:`optuna.TrialPruned` where it is stopped early. ``fit_time`` of the
    result is the time of every fidelity together; ``time_limit`` bounds that sum.

    ``deadline`` (``time.time()`` of the run's timeout): once it has passed, a trial with rungs
    stops at its next rung or fold boundary, provided the study holds a complete model, so a
    run ends soon after its timeout instead of finishing an expensive full evaluation. A trial
    also stops after a rung when its next fidelity, priced at the rung's seconds times the
    ratio of their rows (an estimate: fits grow at least linearly with the rows), would end
    after the deadline: it could not become the result, and its time goes to configurations
    that can. Without rungs (``plan`` ``None``) a started trial finishes, as in Optuna.
    """
    if plan is None:
        return run(None, None, time_limit)
    complete = trial.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    late = _late(deadline) if complete else _never
    spent = 0.0
    if complete:  # the first model of a study goes straight to full fidelity
        for i, rows in enumerate(plan.rungs):
            if late():
                _stop(trial, spent, rows, 0, plan, deadline=True)
            ev = run(rows, None, _left(time_limit, spent))
            spent += ev.fit_time
            if not ev.ok:
                return _total(ev, spent, time_limit)
            trial.report(ev.value, step=rows)
            if trial.should_prune():
                _stop(trial, spent, rows, len(ev.fold_values), plan)
            after = plan.rungs[i + 1] if i + 1 < len(plan.rungs) else plan.full_rows
            if _cannot_finish(deadline, ev.fit_time * after / rows):
                _stop(trial, spent, rows, len(ev.fold_values), plan, deadline=True)
        if late():
            _stop(trial, spent, plan.full_rows, 0, plan, deadline=True)
    fold_rule = fold_stop(complete, maximize, plan.folds) if plan.fold_stop else None
    ev = run(None, _either(late, fold_rule), _left(time_limit, spent))
    spent += ev.fit_time
    if ev.stopped:
        _stop(trial, spent, plan.full_rows, len(ev.fold_values), plan, deadline=late())
    if ev.ok:
        trial.report(ev.value, step=plan.full_rows)
    return _total(ev, spent, time_limit)


def _cannot_finish(deadline: float | None, seconds: float) -> bool:
    """Whether a next fidelity predicted to take ``seconds`` ends after ``deadline``."""
    return deadline is not None and time.time() + seconds > deadline


def _never() -> bool:
    return False


def _late(deadline: float | None) -> Callable[[], bool]:
    """Whether ``deadline`` (``time.time()``) has passed, asked when called."""
    if deadline is None:
        return _never
    return lambda: time.time() > deadline


def _either(late: Callable[[], bool], rule: FoldCallback | None) -> FoldCallback | None:
    """A fold callback that stops at the deadline or where ``rule`` says so."""
    if late is _never:
        return rule

    def stop(i: int, values: tuple[float, ...]) -> bool:
        return late() or (rule is not None and rule(i, values))

    return stop


def _left(time_limit: float | None, spent: float) -> float | None:
    return None if time_limit is None else max(time_limit - spent, 1e-9)


def _total(ev: Evaluation, spent: float, time_limit: float | None) -> Evaluation:
    """``ev`` with the time of every fidelity; a time-limit error names the trial's limit."""
    error = ev.error
    if error is not None and error.startswith("time limit exceeded") and time_limit is not None:
        error = f"time limit exceeded ({spent:.1f} s > {time_limit:g} s)"
    return replace(ev, fit_time=spent, error=error)


def _stop(
    trial: optuna.Trial,
    spent: float,
    rows: int,
    folds: int,
    plan: FidelityPlan,
    *,
    deadline: bool = False,
) -> None:
    """Record where ``trial`` stopped (``deadline``: because the run's timeout passed) and
    prune it."""
    attr: dict[str, Any] = {"train_rows": rows, "folds": folds, "of_folds": plan.folds}
    if deadline:
        attr["deadline"] = True
    trial.set_user_attr(TRIAL_FIT_TIME_ATTR, round(spent, 4))
    trial.set_user_attr(FIDELITY_ATTR, attr)
    raise optuna.TrialPruned(f"stopped early at {fidelity_label(attr)}")


def fidelity_label(attr: object) -> str:
    """Where a trial stopped, from its :data:`FIDELITY_ATTR`: ``"2000 rows"`` (a row rung) or
    ``"2 of 5 folds"`` (the fold early stop at full rows)."""
    if not isinstance(attr, dict):
        return "a low fidelity"
    if attr.get("deadline"):
        return "the timeout"
    folds, of = attr.get("folds"), attr.get("of_folds")
    if isinstance(folds, int) and isinstance(of, int) and folds < of:
        return f"{folds} of {of} folds"
    return f"{attr.get('train_rows')} rows"


def stopped_early(trials: Sequence[FrozenTrial]) -> dict[str, int]:
    """How many of ``trials`` were stopped at each low fidelity (row rungs by rows, then the
    fold stops), e.g. ``{"2000 rows": 12, "6000 rows": 3, "2 of 5 folds": 1}``."""
    found: dict[tuple[int, int, str], int] = {}
    for t in trials:
        attr = t.user_attrs.get(FIDELITY_ATTR)
        if t.state != TrialState.PRUNED or attr is None:
            continue
        got = attr if isinstance(attr, dict) else {}
        rows, folds = got.get("train_rows"), got.get("folds")
        key = (
            rows if isinstance(rows, int) else 0,
            folds if isinstance(folds, int) else 0,
            fidelity_label(attr),
        )
        found[key] = found.get(key, 0) + 1
    return {label: n for (_, _, label), n in sorted(found.items())}
