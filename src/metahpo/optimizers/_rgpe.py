"""A ranking-weighted Gaussian-process ensemble over past tasks and this one (RGPE).

The continuous transfer model behind the ``transfer-gp`` base (Feurer, Letham, Hutter and
Bakshy, 2018, "Scalable meta-learning for Bayesian optimization using ranking-weighted Gaussian
process ensembles"):

* one Gaussian process per similar past task, fitted once on its evaluated configurations
  (scores standardised within the task), and one on this study's results, refitted each time;
* the weight of each model is the share of posterior samples in which it ranks this study's
  results best (fewest misordered pairs; the study's own model is judged on leave-one-out
  predictions, so it cannot win by memorising). A past model whose median ranking loss is
  worse than the 95th percentile of the study's own model's gets no weight. Before three
  results exist, the weights are the meta-feature similarities. So the handover from past
  tasks to this one follows the evidence, with no trial number in it;
* the ensemble predicts ``sum w_i mu_i`` with variance ``sum w_i^2 sigma_i^2``; the next point
  maximises expected improvement over the best ensemble prediction at an evaluated point,
  searched over the continuous space (random points, the best configurations of the heaviest
  past tasks, and perturbations of the best results at three scales), never an evaluated one.

Everything lives in the unit-cube encoding of a :class:`~metahpo.spaces.SearchSpace`
(one-hot categoricals); scikit-learn's :class:`~sklearn.gaussian_process.GaussianProcessRegressor`
does the GP work, so no torch is needed.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
from scipy.stats import norm
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel
from threadpoolctl import threadpool_limits

from metahpo.optimizers._time_cost import TimeCost
from metahpo.spaces import SearchSpace


def fit_gp(X: np.ndarray, y: np.ndarray, seed: int = 0) -> GaussianProcessRegressor:
    """A GP with an ARD Matern-5/2 kernel and a noise term, hyperparameters by marginal
    likelihood (``y`` is expected standardised: the prior mean is 0)."""
    d = X.shape[1]
    kernel = ConstantKernel(1.0, (1e-2, 1e2)) * Matern(
        length_scale=np.full(d, 0.3), length_scale_bounds=(1e-2, 1e2), nu=2.5
    ) + WhiteKernel(1e-2, (1e-6, 1.0))
    gp = GaussianProcessRegressor(kernel, normalize_y=False, random_state=seed)
    with warnings.catch_warnings(), threadpool_limits(1):
        warnings.simplefilter("ignore")
        gp.fit(X, y)
    return gp


def _noise(gp: GaussianProcessRegressor) -> float:
    """The fitted observation-noise variance of a GP from :func:`fit_gp` (0 if none)."""
    k = gp.kernel_
    return float(k.k2.noise_level) if isinstance(getattr(k, "k2", None), WhiteKernel) else 0.0


def standardize(y: np.ndarray) -> np.ndarray:
    s = float(np.std(y))
    return (y - float(np.mean(y))) / (s if s > 1e-12 else 1.0)


def expected_improvement(mu: np.ndarray, sd: np.ndarray, best: float) -> np.ndarray:
    """Expected improvement over ``best`` of a Gaussian with mean ``mu`` and deviation ``sd``."""
    z = (mu - best) / sd
    return np.asarray((mu - best) * norm.cdf(z) + sd * norm.pdf(z))


def ranking_losses(samples: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Misordered pairs of each sample column against ``y``: shape ``(n_samples,)``."""
    i, j = np.triu_indices(len(y), 1)
    truth = np.sign(y[i] - y[j])
    return np.asarray((np.sign(samples[i] - samples[j]) != truth[:, None]).sum(axis=0))


class RankingWeightedEnsemble:
    """Past tasks' GPs plus this study's GP, weighted by how well each ranks the results.

    Args:
        space: The built-in space whose encoding ``X`` uses.
        tasks: Per past task ``(X, scores, similarity)``: encoded configurations, scores
            (larger is better, ``nan`` for failures) and a meta-feature similarity > 0.
        n_samples: Posterior samples for the weights.
        latent: Expected improvement on the latent score (observation noise left out of the
            deviation); ``False`` reproduces revision 2 of the live benchmark.
        seed: Random seed (weights, candidates).
        cost: For a run with a deadline: candidates ranked by expected improvement per
            second (:class:`~metahpo.optimizers._time_cost.TimeCost`).
    """

    def __init__(
        self,
        space: SearchSpace,
        tasks: Sequence[tuple[np.ndarray, np.ndarray, float]],
        *,
        n_samples: int = 64,
        latent: bool = True,
        seed: int | None = 0,
        cost: TimeCost | None = None,
    ) -> None:
        self.space = space
        self.latent = latent
        self.cost = cost
        self.n_samples = n_samples
        self.rng = np.random.default_rng(seed)
        self.bases: list[GaussianProcessRegressor] = []
        self.tops: list[np.ndarray] = []
        sims: list[float] = []
        for X, y, sim in tasks:
            ok = np.isfinite(y)
            if ok.sum() < 5 or float(np.std(y[ok])) <= 0:
                continue
            self.bases.append(fit_gp(X[ok], standardize(y[ok])))
            self.tops.append(X[ok][np.argsort(-y[ok], kind="stable")[:10]])
            sims.append(max(float(sim), 1e-12))
        self.similarity = np.asarray(sims, dtype=float)

    def weights(self, X: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Weights of the past models and, last, this study's model (they sum to 1)."""
        nb = len(self.bases)
        if len(y) < 3 or nb == 0:
            if nb == 0:
                return np.ones(1)
            return np.append(self.similarity / self.similarity.sum(), 0.0)
        S = self.n_samples
        losses = np.zeros((nb + 1, S))
        with threadpool_limits(1):
            for b, gp in enumerate(self.bases):
                samples = gp.sample_y(X, S, random_state=int(self.rng.integers(2**31)))
                losses[b] = ranking_losses(samples, y)
            ys = standardize(y)
            target = fit_gp(X, ys)
            K = target.kernel_(X) + 1e-9 * np.eye(len(y))
            Kinv = np.linalg.inv(K)
            diag = np.diag(Kinv)
            mu = ys - (Kinv @ ys) / diag  # leave-one-out means and deviations, in closed form
            sd = np.sqrt(1.0 / diag)
            samples = mu[:, None] + sd[:, None] * self.rng.standard_normal((len(y), S))
            losses[nb] = ranking_losses(samples, y)
        jitter = self.rng.random(losses.shape) * 1e-3  # ties broken at random
        w = np.bincount(np.argmin(losses + jitter, axis=0), minlength=nb + 1).astype(float)
        w[:nb][np.median(losses[:nb], axis=1) > np.quantile(losses[nb], 0.95)] = 0.0
        return w / w.sum() if w.sum() > 0 else np.append(np.zeros(nb), 1.0)

    def _encode_unit(self, U: np.ndarray) -> np.ndarray:
        sp = self.space
        return np.asarray([sp.encode(sp.from_unit(u)) for u in U], dtype=float)

    def _snap(self, C: np.ndarray) -> np.ndarray:
        sp = self.space
        return np.asarray([sp.encode(sp.decode(c)) for c in C], dtype=float)

    def candidates(
        self, X: np.ndarray, y: np.ndarray, w: np.ndarray, n_random: int = 512
    ) -> np.ndarray:
        """Where the acquisition is searched, as valid encoded configurations."""
        parts = [self._encode_unit(self.rng.random((n_random, self.space.dim)))]
        for b in np.argsort(-w[:-1], kind="stable")[:5]:
            if w[b] > 0:
                parts.append(self.tops[b])
        if len(y):
            for x in X[np.argsort(-y, kind="stable")[:5]]:
                for scale in (0.03, 0.1, 0.25):
                    noise = scale * self.rng.standard_normal((24, x.size))
                    parts.append(self._snap(np.clip(x + noise, 0.0, 1.0)))
        return np.vstack(parts)

    def predict(
        self, C: np.ndarray, w: np.ndarray, target: GaussianProcessRegressor | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Ensemble mean and standard deviation of the latent score at ``C``.

        The deviation leaves out each GP's fitted observation noise: scikit-learn's predictive
        deviation includes the :class:`WhiteKernel` term, so near evaluated points it never
        falls below the noise, and expected improvement kept proposing near-copies of the
        best results, re-measuring noise instead of exploring.
        """
        mu = np.zeros(len(C))
        var = np.zeros(len(C))
        models = [*self.bases, target]
        with threadpool_limits(1):
            for wi, gp in zip(w, models, strict=False):
                if wi <= 0 or gp is None:
                    continue
                m, s = gp.predict(C, return_std=True)
                mu += wi * m
                var += wi**2 * np.maximum(s**2 - (_noise(gp) if self.latent else 0.0), 0.0)
        return mu, np.sqrt(np.maximum(var, 1e-12))

    def _acquisition(
        self,
        C: np.ndarray,
        X: np.ndarray,
        y: np.ndarray,
        w: np.ndarray,
        target: GaussianProcessRegressor | None,
    ) -> np.ndarray:
        """Expected improvement at ``C`` over the best ensemble prediction at an evaluated point
        (before any result: the ensemble's mean, its best guess); per second with a cost."""
        mu, sd = self.predict(C, w, target)
        if len(y) == 0:
            return mu
        ei = expected_improvement(mu, sd, float(self.predict(X, w, target)[0].max()))
        return ei if self.cost is None else self.cost.per_second(ei, C)

    def rank(
        self, X: np.ndarray, y: np.ndarray, n: int = 1, exclude: np.ndarray | None = None
    ) -> np.ndarray:
        """The ``n`` best next encoded configurations, best first, given the study's encoded
        results ``X`` / ``y`` (gains; failures left out), never one of ``X`` or ``exclude``."""
        X = np.asarray(X, dtype=float).reshape(len(y), self.space.encoded_dim)
        y = np.asarray(y, dtype=float)
        w = self.weights(X, y)
        target = fit_gp(X, standardize(y)) if len(y) >= 2 and w[-1] > 0 else None
        C = self.candidates(X, y, w)
        acq = self._acquisition(C, X, y, w, target)
        taken = X if exclude is None else np.vstack([X, np.asarray(exclude, dtype=float)])
        if len(taken):
            dist = np.abs(C[:, None, :] - taken[None, :, :]).sum(axis=2).min(axis=1)
            acq = np.where(dist < 1e-9, -np.inf, acq)
        _, first = np.unique(C, axis=0, return_index=True)  # each candidate once
        order = first[np.argsort(-acq[first], kind="stable")]
        order = order[np.isfinite(acq[order])]
        return np.asarray(C[order[:n]])

    def propose(
        self, X: np.ndarray, y: np.ndarray, exclude: np.ndarray | None = None
    ) -> np.ndarray:
        """The next encoded configuration (see :meth:`rank`)."""
        return np.asarray(self.rank(X, y, 1, exclude)[0])
