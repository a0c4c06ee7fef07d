"""A performance surrogate turned into a prior mean in the study's own units."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from optuna.study import Study, StudyDirection
from optuna.trial import TrialState

from metahpo.optimizers._view import all_trials


@dataclass
class SurrogatePrior:
    """A performance surrogate turned into a prior mean in the study's own units.

    The surrogate predicts a normalised score; ``value ≈ a + b · prediction`` is fitted by least
    squares on the study's completed trials (``b ≥ 0`` for a maximised objective, ``b ≤ 0`` for a
    minimised one). Until two trials are complete the prior is flat. ``enabled = False`` turns
    it off (the guard does so when the surrogate is wrong for this task). Mutable on purpose:
    it is calibrated as the study runs.
    """

    predict: Callable[[list[dict[str, Any]]], np.ndarray]
    maximize: bool = True
    a: float = 0.0
    b: float = 0.0
    enabled: bool = True

    def observe(self, study: Study) -> None:
        if len(study.directions) > 1:
            self.a, self.b = 0.0, 0.0
            return
        self.maximize = study.direction == StudyDirection.MAXIMIZE
        done = [
            t
            for t in all_trials(study, states=(TrialState.COMPLETE,))
            if t.value is not None and math.isfinite(t.value)  # Optuna accepts +-inf
        ]
        values = np.asarray([t.value for t in done], dtype=float)
        if len(done) < 2 or not self.enabled:
            self.a = float(values.mean()) if len(done) else 0.0
            self.b = 0.0
            return
        pred = self.predict([t.params for t in done])
        var = float(np.var(pred))
        if var < 1e-12:
            self.a, self.b = float(values.mean()), 0.0
            return
        b = float(np.cov(pred, values, bias=True)[0, 1] / var)
        b = max(b, 0.0) if self.maximize else min(b, 0.0)
        self.b = b
        self.a = float(values.mean() - b * pred.mean())

    def __call__(self, params: list[dict[str, Any]]) -> np.ndarray:
        if not self.enabled or self.b == 0.0:
            return np.full(len(params), self.a)
        return self.a + self.b * self.predict(params)
