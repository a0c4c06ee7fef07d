"""Gaussian-process Bayesian optimisation with expected improvement, without torch.

Live standing: not measured, live or in the replay (``benchmarks/LIVE.md`` and
``benchmarks/RESULTS.md`` have no row for the ``gp`` base or ``--optimizer gp-ei``; their
``gp`` is Optuna's GPSampler, a different sampler).

:class:`GPEISampler` is an Optuna sampler: a scikit-learn Gaussian process (Matern 5/2 with one
length scale per input, plus white noise) is fitted to the completed trials, and the next point
maximises the expected improvement over the best value so far. An optional prior mean (for
example a meta-learned performance surrogate) turns it into "predict, then refine": the GP then
models only what the prior gets wrong.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution
from optuna.samplers import BaseSampler, RandomSampler
from optuna.study import Study, StudyDirection
from optuna.trial import FrozenTrial, TrialState
from scipy.optimize import minimize
from scipy.special import erfcx, log_ndtr
from sklearn.exceptions import ConvergenceWarning
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel
from threadpoolctl import threadpool_limits

from metahpo.optimizers.research._gp_space import UnitSpace

__all__ = ["GPEISampler"]

# Maps parameter dicts to predicted objective values, in the direction of the study's values.
_PriorMean = Callable[[list[dict[str, Any]]], np.ndarray]

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_SQRT_PI_OVER_2 = math.sqrt(math.pi / 2.0)
_MIN_STD = 1e-9


class GPEISampler(BaseSampler):
    """Bayesian optimisation with a Gaussian process and expected improvement (no torch needed).

    Each relative sample:

    1. encodes the completed trials to the unit cube (log scale where the distribution is log,
       integers and stepped floats on their grid, categoricals one-hot);
    2. fits a scikit-learn :class:`~sklearn.gaussian_process.GaussianProcessRegressor` with a
       constant × Matern 5/2 kernel with one length scale per input (ARD) plus a
       :class:`~sklearn.gaussian_process.kernels.WhiteKernel`, on standardised targets (the
       white noise also absorbs duplicated points);
    3. scores a scrambled Sobol design of 2048 points plus local perturbations of the best
       trials and of the best candidates by log expected improvement, then polishes the winner
       over its continuous coordinates with a short L-BFGS-B run;
    4. returns the point in Optuna's external representation.

    Failed and pruned trials are ignored. Parameters outside the relative search space (the
    intersection of all completed trials' spaces, so conditional or dynamic parameters) are
    sampled by ``independent_sampler``, as is every parameter of the first trial, whose search
    space is not known yet. Running trials are not taken into account, so parallel workers may
    propose nearby points. Only single-objective studies are supported.

    Example:

        .. code-block:: python

            import optuna
            from metahpo.optimizers import GPEISampler


            def objective(trial):
                x = trial.suggest_float("x", -5, 5)
                return x**2


            study = optuna.create_study(sampler=GPEISampler(seed=0))
            study.optimize(objective, n_trials=20)

    Args:
        seed: Seed of the random number generator; the same seed gives the same trials.
        independent_sampler: Sampler of the startup trials and of the parameters outside the
            relative search space. Defaults to ``RandomSampler(seed)``.
        n_startup_trials: Number of completed trials sampled by ``independent_sampler`` before
            the GP is used. Applies only without ``prior_mean``: with a prior the GP is used
            from the second trial on.
        prior_mean: Optional prior mean of the objective. It receives a list of parameter dicts
            (the parameters of the relative search space, in Optuna's external representation)
            and returns one predicted objective value per dict, in the same direction as the
            study's values. The GP then models the residual ``value - prior_mean(params)`` and
            the expected improvement uses ``prior_mean + GP residual``.

    Raises:
        ValueError: If ``n_startup_trials`` is negative.
    """

    def __init__(
        self,
        *,
        seed: int | None = None,
        independent_sampler: BaseSampler | None = None,
        n_startup_trials: int = 10,
        prior_mean: Callable[[list[dict[str, Any]]], np.ndarray] | None = None,
    ) -> None:
        if n_startup_trials < 0:
            raise ValueError(
                "The 'n_startup_trials' parameter of GPEISampler must be a non-negative int. "
                f"Got {n_startup_trials} instead."
            )
        self._rng = np.random.RandomState(seed)
        self._independent_sampler = independent_sampler or RandomSampler(seed=seed)
        self._n_startup_trials = n_startup_trials
        self._prior_mean = prior_mean
        self._search_space = optuna.search_space.IntersectionSearchSpace()
        # Acquisition optimisation budget.
        self._n_sobol = 2048
        self._n_local_starts = 5
        self._n_local_per_start = 128
        self._local_scales = (0.01, 0.05, 0.2)
        self._polish_maxiter = 20

    def reseed_rng(self) -> None:
        self._rng.seed()
        self._independent_sampler.reseed_rng()

    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        _check_single_objective(study)
        return {
            name: distribution
            for name, distribution in self._search_space.calculate(study).items()
            if not distribution.single()
        }

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        _check_single_objective(study)
        if not search_space:
            return {}
        trials = [
            t
            for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
            if search_space.keys() <= t.params.keys()
        ]
        n_startup = 1 if self._prior_mean is not None else max(self._n_startup_trials, 1)
        if len(trials) < n_startup:
            return {}

        sign = 1.0 if study.direction == StudyDirection.MAXIMIZE else -1.0
        # Many small matrix operations: BLAS threads only contend (scipy/scipy#22438).
        with threadpool_limits(limits=1, user_api="blas"):
            surrogate = _Surrogate.fit(search_space, trials, sign, self._prior_mean)
            best = self._maximize_log_ei(surrogate)
        return surrogate.space.get_unnormalized_param(best)

    def sample_independent(
        self,
        study: Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        _check_single_objective(study)
        return self._independent_sampler.sample_independent(
            study, trial, param_name, param_distribution
        )

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        self._independent_sampler.before_trial(study, trial)

    def after_trial(
        self,
        study: Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        self._independent_sampler.after_trial(study, trial, state, values)

    def _maximize_log_ei(self, surrogate: _Surrogate) -> np.ndarray:
        """The normalised point (shape ``(n_params,)``) with the highest log EI found."""
        sobol = surrogate.space.sample_normalized_params(self._n_sobol, self._rng)
        starts = surrogate.X[np.argsort(-surrogate.y)[: self._n_local_starts]]
        candidates = np.vstack([sobol, self._perturb(surrogate.space, starts)])
        scores = _unseen(surrogate.log_ei(candidates), candidates, surrogate.X)
        top = candidates[np.argsort(-scores)[: self._n_local_starts]]
        refined = self._perturb(surrogate.space, top)
        candidates = np.vstack([candidates, refined])
        refined_scores = _unseen(surrogate.log_ei(refined), refined, surrogate.X)
        scores = np.concatenate([scores, refined_scores])
        best = candidates[int(np.argmax(scores))]
        return self._polish(surrogate, best, float(np.max(scores)))

    def _perturb(self, space: UnitSpace, starts: np.ndarray) -> np.ndarray:
        """Gaussian moves of the numeric coordinates and random switches of the categoricals.

        Args:
            space: The distributions of the coordinates.
            starts: Normalised points, shape ``(n_starts, n_params)``.

        Returns:
            Normalised points on the grid of the discrete parameters, shape
            ``(n_starts * n_local_per_start, n_params)``.
        """
        points = np.repeat(starts, self._n_local_per_start, axis=0)
        n, dim = points.shape
        scales = self._rng.choice(self._local_scales, size=(n, 1))
        for i, distribution in enumerate(space.distributions.values()):
            if isinstance(distribution, CategoricalDistribution):
                switch = self._rng.random_sample(n) < 1.0 / dim
                points[switch, i] = self._rng.randint(len(distribution.choices), size=switch.sum())
            else:
                points[:, i] += scales[:, 0] * self._rng.standard_normal(n)
        np.clip(points, 0.0, 1.0, out=points)
        return space.round_discrete(points)

    def _polish(self, surrogate: _Surrogate, x0: np.ndarray, score0: float) -> np.ndarray:
        """A short L-BFGS-B ascent of log EI over the continuous coordinates of ``x0``."""
        columns = surrogate.space.continuous_indices
        if columns.size == 0 or self._polish_maxiter == 0:
            return x0

        def negative_log_ei(z: np.ndarray) -> tuple[float, np.ndarray]:
            # One batched call per iteration: the point and its finite differences (backward
            # ones at the upper bound).
            h = np.where(z + 1e-6 <= 1.0, 1e-6, -1e-6)
            batch = np.repeat(x0[np.newaxis], columns.size + 1, axis=0)
            batch[:, columns] = z
            batch[np.arange(1, columns.size + 1), columns] = z + h
            values = surrogate.log_ei(batch)
            return -float(values[0]), -(values[1:] - values[0]) / h

        result = minimize(
            negative_log_ei,
            x0[columns],
            jac=True,
            method="L-BFGS-B",
            bounds=[(0.0, 1.0)] * columns.size,
            options={"maxiter": self._polish_maxiter},
        )
        if not np.isfinite(result.fun) or -float(result.fun) <= score0:
            return x0
        x: np.ndarray = x0.copy()
        x[columns] = np.clip(result.x, 0.0, 1.0)
        return x


class _Surrogate:
    """A GP on standardised residuals plus an optional prior, in the maximisation direction.

    Attributes:
        space: The search space of the normalised points.
        distributions: The distribution of each coordinate of the normalised points.
        X: Normalised training points, shape ``(n, n_params)``.
        y: Training values, oriented so that larger is better, shape ``(n,)``.
    """

    def __init__(
        self,
        space: UnitSpace,
        distributions: list[BaseDistribution],
        X: np.ndarray,
        y: np.ndarray,
        gp: GaussianProcessRegressor,
        offset: float,
        scale: float,
        prior: Callable[[np.ndarray], np.ndarray] | None,
    ) -> None:
        self.space = space
        self.distributions = distributions
        self.X = X
        self.y = y
        self._gp = gp
        self._offset = offset
        self._scale = scale
        self._prior = prior
        self._noise = float(gp.kernel_.k2.noise_level)
        self._best = float(np.max(y))

    @classmethod
    def fit(
        cls,
        search_space: dict[str, BaseDistribution],
        trials: list[FrozenTrial],
        sign: float,
        prior_mean: _PriorMean | None,
    ) -> _Surrogate:
        """Fit the GP to the trials' values (times ``sign``) minus the prior, if any.

        Args:
            search_space: The relative search space.
            trials: Completed trials that hold every parameter of ``search_space``.
            sign: 1 if the study maximises, -1 if it minimises.
            prior_mean: The user's prior mean, in the direction of the study's values.
        """
        space = UnitSpace(search_space)
        distributions = list(search_space.values())
        X = space.get_normalized_params(trials)
        y = sign * _finite(np.array([t.value for t in trials], dtype=float))
        prior: Callable[[np.ndarray], np.ndarray] | None = None
        residual = y
        if prior_mean is not None:
            bound_prior = prior_mean

            def prior(points: np.ndarray) -> np.ndarray:
                dicts = [space.get_unnormalized_param(p) for p in points]
                return sign * _call_prior(bound_prior, dicts)

            params = [{name: t.params[name] for name in search_space} for t in trials]
            residual = y - sign * _call_prior(bound_prior, params)
        offset = float(np.mean(residual))
        spread = float(np.std(residual))
        if spread <= 1e-12 * max(1.0, abs(offset)):
            # Constant residuals (e.g. an exact prior): measure them in units of the values.
            value_spread = float(np.std(y))
            spread = value_spread if value_spread > 1e-12 * max(1.0, abs(offset)) else 1.0
        features = _one_hot(distributions, X)
        kernel = ConstantKernel(1.0, (1e-2, 1e2)) * Matern(
            length_scale=np.full(features.shape[1], 0.5),
            length_scale_bounds=(5e-3, 2e1),
            nu=2.5,
        ) + WhiteKernel(1e-3, (1e-8, 1.0))
        # A single trial leaves nothing to learn: keep the initial hyperparameters. Otherwise one
        # L-BFGS-B run of the marginal likelihood from them: random restarts doubled the cost
        # without finding better optima on Branin and Hartmann-6.
        gp = GaussianProcessRegressor(
            kernel,
            optimizer="fmin_l_bfgs_b" if len(trials) > 1 else None,
            normalize_y=False,
            n_restarts_optimizer=0,
        )
        with warnings.catch_warnings():
            # Hyperparameters at their bounds (e.g. with few or constant values) are expected.
            warnings.simplefilter("ignore", ConvergenceWarning)
            gp.fit(features, (residual - offset) / spread)
        return cls(space, distributions, X, y, gp, offset, spread, prior)

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and standard deviation of the noise-free objective (larger is better).

        Args:
            X: Normalised points, shape ``(m, n_params)``.

        Returns:
            Mean and standard deviation, each of shape ``(m,)``.
        """
        mean, std = self._gp.predict(_one_hot(self.distributions, X), return_std=True)
        # The WhiteKernel adds observation noise to the predictive variance; EI wants f itself.
        latent_std = np.sqrt(np.maximum(std**2 - self._noise, 0.0))
        mean = self._offset + self._scale * mean
        if self._prior is not None:
            mean = mean + self._prior(X)
        return mean, np.maximum(self._scale * latent_std, _MIN_STD * self._scale)

    def log_ei(self, X: np.ndarray) -> np.ndarray:
        """Log expected improvement over the best training value, shape ``(m,)``."""
        mean, std = self.predict(X)
        log_ei: np.ndarray = np.log(std) + _log_h((mean - self._best) / std)
        return log_ei


def _log_h(u: np.ndarray) -> np.ndarray:
    """``log(phi(u) + u * Phi(u))``, the log EI of a standard normal, stable for negative ``u``."""
    out = np.empty_like(u)
    mid = u > -1.0
    um = u[mid]
    out[mid] = np.log(np.exp(-0.5 * um**2 - _LOG_SQRT_2PI) + um * np.exp(log_ndtr(um)))
    # phi(u) + u Phi(u) = phi(u) (1 + u Phi(u) / phi(u)), with Phi(u) / phi(u) from erfcx.
    low = (u <= -1.0) & (u >= -1e4)
    ul = u[low]
    tail = np.log1p(ul * _SQRT_PI_OVER_2 * erfcx(-ul / math.sqrt(2.0)))
    out[low] = -0.5 * ul**2 - _LOG_SQRT_2PI + tail
    # Further out that difference cancels; use its asymptote 1 / u^2.
    far = u < -1e4
    uf = u[far]
    out[far] = -0.5 * uf**2 - _LOG_SQRT_2PI - 2.0 * np.log(-uf)
    return out


def _one_hot(distributions: list[BaseDistribution], X: np.ndarray) -> np.ndarray:
    """GP inputs: numeric coordinates as they are, categorical indices one-hot encoded."""
    columns = []
    for i, distribution in enumerate(distributions):
        if isinstance(distribution, CategoricalDistribution):
            columns.append(np.eye(len(distribution.choices))[X[:, i].astype(int)])
        else:
            columns.append(X[:, i : i + 1])
    return np.hstack(columns)


def _unseen(scores: np.ndarray, candidates: np.ndarray, seen: np.ndarray) -> np.ndarray:
    """``scores`` with the candidates that repeat an evaluated point set to ``-inf``: on a
    discrete or narrowed range the best expected improvement may sit on an evaluated point
    (a bound, typically), and evaluating it again teaches nothing."""
    if len(seen) == 0 or len(candidates) == 0:
        return scores
    repeat = np.zeros(len(candidates), dtype=bool)
    for row in seen:
        repeat |= np.all(np.abs(candidates - row) < 1e-9, axis=1)
    return np.where(repeat, -np.inf, scores)


def _call_prior(prior_mean: _PriorMean, params: list[dict[str, Any]]) -> np.ndarray:
    values = np.asarray(prior_mean(params), dtype=float)
    if values.shape != (len(params),) or not np.all(np.isfinite(values)):
        raise ValueError(
            f"prior_mean must return {len(params)} finite values, one per parameter dict. "
            f"Got an array of shape {values.shape} with {int(np.sum(~np.isfinite(values)))} "
            "non-finite values instead."
        )
    return values


def _finite(values: np.ndarray) -> np.ndarray:
    """Clip infinite objective values to the range of the finite ones (0 if there are none)."""
    finite = np.isfinite(values)
    if finite.all():
        return values
    if not finite.any():
        return np.zeros_like(values)
    clipped: np.ndarray = np.clip(values, values[finite].min(), values[finite].max())
    return clipped


def _check_single_objective(study: Study) -> None:
    if len(study.directions) > 1:
        raise ValueError(
            "GPEISampler supports single-objective studies only; this study has "
            f"{len(study.directions)} objectives. Use optuna.samplers.TPESampler or "
            "optuna.samplers.NSGAIISampler for multi-objective optimisation."
        )
