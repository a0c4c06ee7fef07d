"""Zero-shot that is never a bad bet: the library default first unless the evidence is strong.

A meta-learner's best configuration is a bet that what worked on similar tasks works here.
The library default is the alternative a user already has, and for some families (a random
forest, say) it is strong. The bet is judged by what it would have paid on the nearest training
tasks that evaluated both it and the default (the paired gain, in the metric's own units),
valued *loss-aversely*: a loss counts ``1 + LOSS_AVERSION`` times, a gain once. Among the
meta-learner's top :data:`CANDIDATES` the configuration of the highest such utility goes first,
if that utility is above zero; otherwise the default goes first and the meta-learner's order
follows, so the best of the first two evaluations is still at least the default's and the
top suggestion's. Where fewer than two similar tasks evaluated both (experience that is not a
shared design, say), there is no paired evidence and the meta-learner's order stands; runs on
this very dataset, where they exist, are the evidence alone.

The aversion trades mean gain for a short tail of losses; ``benchmarks/ZERO_SHOT.md`` measures
the whole curve, leave-datasets-out on the bundle (``benchmarks/zero_shot.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from metahpo.knowledge import TaskExperience

#: Standard errors subtracted for :attr:`DefaultEvidence.lower` (one-sided, about 84 %); the
#: bound decides for runs on this very dataset.
DEFAULT_EVIDENCE_Z = 1.0
#: How much more a loss against the default weighs than a gain of the same size, beyond 1.
LOSS_AVERSION = 10.0
#: The meta-learner's top suggestions among which the best bet is chosen.
CANDIDATES = 10
#: Nearest training tasks that give evidence.
EVIDENCE_TASKS = 25


@dataclass(frozen=True)
class DefaultEvidence:
    """What the similar tasks say about a configuration against the library default.

    Attributes:
        gain: Similarity-weighted mean of (configuration - default), metric units, larger
            is better. lower: ``gain`` minus ``z`` standard errors. n: Tasks with both.
        utility: ``gain`` minus :data:`LOSS_AVERSION` times the weighted mean loss.
        same_task: The evidence is runs on this very dataset.
    """

    gain: float
    lower: float
    n: int
    same_task: bool = False
    utility: float = -np.inf

    @property
    def score(self) -> float:
        """What the choice among candidates maximises: the bound on this dataset's own runs,
        the loss-averse utility on similar tasks' evidence."""
        return self.lower if self.same_task else self.utility

    @property
    def paired(self) -> bool:
        """Paired evidence exists: two similar tasks or more, or runs on this very dataset.
        Without it the meta-learner's order stands."""
        return self.same_task or self.n >= 2

    @property
    def favours_default(self) -> bool:
        """Paired evidence that does not favour the configuration."""
        return self.paired and self.score <= 0.0

    @property
    def is_bet(self) -> bool:
        """Paired evidence that favours the configuration over the default."""
        return self.paired and self.score > 0.0


def _rows(task: TaskExperience, x: np.ndarray) -> np.ndarray:
    return np.flatnonzero(np.abs(task.X - x[None, :]).max(axis=1) < 1e-7)


def _both(task: TaskExperience, a: np.ndarray, b: np.ndarray) -> bool:
    return bool(len(_rows(task, a)) and len(_rows(task, b)))


def default_evidence(
    tasks: Sequence[TaskExperience],
    distances: np.ndarray,
    weights: np.ndarray,
    candidate: np.ndarray,
    default: np.ndarray,
    *,
    n_tasks: int = EVIDENCE_TASKS,
    z: float | None = None,
    same_task: float = -1.0,
    aversion: float | None = None,
) -> DefaultEvidence:
    """Paired evidence for the encoded ``candidate`` against the encoded ``default``.

    Args:
        tasks: Training tasks (one family and task type), aligned with ``distances`` and
            ``weights`` (larger weight: more similar).
        candidate, default: Encoded configurations (the tasks' encoding).
        n_tasks: The nearest tasks that count.
        z: Standard errors subtracted for :attr:`DefaultEvidence.lower` (default
            :data:`DEFAULT_EVIDENCE_Z`).
        aversion: Extra weight of a loss in :attr:`DefaultEvidence.utility` (default
            :data:`LOSS_AVERSION`).
        same_task: Distance at or below which a training task is this very dataset (run
            before): where such runs evaluated both configurations, they alone are the
            evidence, and one suffices.
    """
    z = DEFAULT_EVIDENCE_Z if z is None else z
    aversion = LOSS_AVERSION if aversion is None else aversion
    dist = np.asarray(distances, dtype=float)
    order = np.argsort(dist, kind="stable")[:n_tasks]
    own = [i for i in order if dist[i] <= same_task and _both(tasks[i], candidate, default)]
    if own:
        ev = default_evidence(
            [tasks[i] for i in own],
            dist[own],
            np.asarray(weights)[own],
            candidate,
            default,
            z=z,
            aversion=aversion,
        )
        return DefaultEvidence(ev.gain, ev.lower if ev.n > 1 else ev.gain, ev.n, True, ev.utility)
    deltas: list[float] = []
    ws: list[float] = []
    for i in order:
        t = tasks[i]
        a, b = _rows(t, candidate), _rows(t, default)
        if not len(a) or not len(b):
            continue
        g = t.gain()
        ga, gb = (
            float(np.nanmean(g[a])) if np.isfinite(g[a]).any() else -np.inf,
            float(np.nanmean(g[b])) if np.isfinite(g[b]).any() else -np.inf,
        )
        if not np.isfinite(gb):
            continue  # the default failed there: no paired evidence
        delta = ga - gb if np.isfinite(ga) else -1.0  # a failure counts as a large loss
        deltas.append(float(np.clip(delta, -1.0, 1.0)))
        ws.append(float(weights[i]))
    if not deltas:
        return DefaultEvidence(0.0, -np.inf, 0)
    d = np.asarray(deltas)
    w = np.asarray(ws) / max(float(np.sum(ws)), 1e-300)
    mean = float(np.sum(w * d))
    n_eff = 1.0 / float(np.sum(w**2))
    sd = float(np.sqrt(np.sum(w * (d - mean) ** 2)))
    se = sd / np.sqrt(max(n_eff, 1.0))
    utility = mean - aversion * float(np.sum(w * np.maximum(-d, 0.0)))
    return DefaultEvidence(mean, mean - z * se, len(d), utility=utility)


def default_score(
    tasks: Sequence[TaskExperience], distances: np.ndarray, weights: np.ndarray, default: np.ndarray
) -> float:
    """The default's similarity-weighted mean normalised score over the nearest tasks."""
    from metahpo.metalearners._pool import normalized_scores

    order = np.argsort(np.asarray(distances, dtype=float), kind="stable")[:EVIDENCE_TASKS]
    total = wsum = 0.0
    for i in order:
        rows = _rows(tasks[i], default)
        if len(rows):
            total += float(weights[i]) * float(normalized_scores(tasks[i])[rows[0]])
            wsum += float(weights[i])
    return total / wsum if wsum > 0 else 0.5
