"""Few-shot Bayesian optimisation with a meta-trained deep-kernel GP: the ``fsbo`` base.

Live standing: in the live ablation of ``benchmarks/LIVE.md`` (8 datasets, budget 30, one seed;
mean normalised regret) ``meta-fsbo`` reached 0.030 at 10 evaluations and 0.016 at 30, the
default (``meta``) 0.024 and 0.015: it did not beat the torch-free default (CHANGELOG); not in
the replay benchmark (``benchmarks/RESULTS.md``).

:class:`DeepKernelGP` is a Gaussian process whose kernel works on a small neural network's
features of the configuration (deep kernel learning, Wilson et al., 2016). Its network and
kernel hyperparameters are meta-trained on all past tasks of a family and task type by
maximising the GP's marginal likelihood on batches drawn from one task at a time, as in FSBO
(Wistuba and Grabocka, 2021, "Few-shot Bayesian optimization with deep kernel surrogates"). With
``inner_steps > 1`` each meta-step is a Reptile step instead (Nichol et al., 2018): a few steps
on one task, then a move of the shared weights towards the adapted ones.

:class:`DeepKernelSampler` fine-tunes a copy of the meta-trained GP on the study's results at
every trial and proposes by expected improvement on the latent score over the continuous space.
GPyTorch does the GP work; needs the torch extra (``pip install 'metahpo[torch]'``).
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from metahpo.errors import MetaHPOError
from metahpo.metalearners import one_thread, require_torch
from metahpo.optimizers._proposal import Proposal, ProposalSampler
from metahpo.optimizers._rgpe import expected_improvement, standardize
from metahpo.optimizers._unit import configs_around
from metahpo.optimizers._view import StudyView
from metahpo.optimizers.research._reptile import meta_train
from metahpo.spaces import SearchSpace


def _gpytorch() -> Any:
    try:
        import gpytorch
    except ImportError:
        raise MetaHPOError("the fsbo base needs GPyTorch: pip install 'metahpo[torch]'") from None
    return gpytorch


def _new_model(d: int, hidden: int) -> Any:
    """An untrained deep-kernel GP (features of ``d`` encoded inputs, ``hidden`` wide)."""
    torch, gpytorch = require_torch(), _gpytorch()

    class _DeepKernel(gpytorch.models.ExactGP):  # type: ignore[misc, name-defined]
        def __init__(self) -> None:
            likelihood = gpytorch.likelihoods.GaussianLikelihood(
                noise_constraint=gpytorch.constraints.Interval(1e-4, 1.0)
            )
            super().__init__(None, None, likelihood)
            self.features = torch.nn.Sequential(
                torch.nn.Linear(d, hidden),
                torch.nn.ReLU(),
                torch.nn.Linear(hidden, hidden),
                torch.nn.ReLU(),
            )
            self.mean = gpytorch.means.ConstantMean()
            self.covar = gpytorch.kernels.ScaleKernel(
                gpytorch.kernels.MaternKernel(nu=2.5, ard_num_dims=hidden)
            )

        def forward(self, x: Any) -> Any:
            z = self.features(x)
            return gpytorch.distributions.MultivariateNormal(self.mean(z), self.covar(z))

    return _DeepKernel().double()


def _steps(model: Any, X: Any, y: Any, steps: int, lr: float, batch: int, rng: Any) -> None:
    """``steps`` Adam steps on the negative marginal likelihood of (a batch of) ``X``, ``y``."""
    torch, gpytorch = require_torch(), _gpytorch()
    model.train()
    mll = gpytorch.mlls.ExactMarginalLogLikelihood(model.likelihood, model)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    with gpytorch.settings.cholesky_jitter(1e-6):
        for _ in range(steps):
            if len(y) > batch:
                idx = torch.as_tensor(rng.choice(len(y), size=batch, replace=False))
                Xb, yb = X[idx], y[idx]
            else:
                Xb, yb = X, y
            model.set_train_data(Xb, yb, strict=False)
            opt.zero_grad()
            loss = -mll(model(Xb), yb)
            loss.backward()
            opt.step()


class DeepKernelGP:
    """A deep-kernel GP meta-trained across past tasks, fine-tuned on a new one.

    Args:
        hidden: Width of the feature network's two layers (and of the kernel's input).
        meta_iterations: Meta-training steps (one task each).
        batch: Evaluations per step.
        lr: Adam's learning rate in meta-training.
        inner_steps: ``1``: FSBO's joint training (each step updates the shared weights on one
            task's batch). More: Reptile, that many steps on one task, then ``meta_lr`` of the
            way from the shared weights towards the adapted ones.
        meta_lr: Reptile's step (used when ``inner_steps > 1``).
        fine_tune_steps, fine_tune_lr: Adam steps and learning rate of the fine-tuning to a
            study.
        seed: Random seed.
    """

    def __init__(
        self,
        hidden: int = 32,
        *,
        meta_iterations: int = 1000,
        batch: int = 48,
        lr: float = 0.005,
        inner_steps: int = 1,
        meta_lr: float = 0.5,
        fine_tune_steps: int = 40,
        fine_tune_lr: float = 0.005,
        seed: int = 0,
    ) -> None:
        self.hidden = hidden
        self.meta_iterations = meta_iterations
        self.batch = batch
        self.lr = lr
        self.inner_steps = inner_steps
        self.meta_lr = meta_lr
        self.fine_tune_steps = fine_tune_steps
        self.fine_tune_lr = fine_tune_lr
        self.seed = seed
        self.model_: Any = None
        self.n_tasks_ = 0

    @one_thread
    def fit(self, experience: Any | None, space: SearchSpace) -> DeepKernelGP:
        """Meta-train on the tasks of one family and task type, encoded in ``space`` (an
        :class:`~metahpo.knowledge.Experience` or anything with ``tasks``; ``None``: untrained).
        """
        from metahpo.metalearners import normalized_scores

        torch = require_torch()
        torch.manual_seed(self.seed)
        rng = np.random.default_rng(self.seed)
        self.space_ = space
        self.model_ = _new_model(space.encoded_dim, self.hidden)
        tasks = []
        for t in experience.tasks if experience is not None else ():
            y = np.asarray(normalized_scores(t), dtype=float)
            ok = np.isfinite(y)
            if ok.sum() >= 5 and float(np.std(y[ok])) > 0:
                X = torch.as_tensor(np.asarray(t.X, dtype=float)[ok])
                tasks.append((X, torch.as_tensor(standardize(y[ok]))))
        self.n_tasks_ = len(tasks)
        if not tasks:
            return self
        model = self.model_

        def steps(X: Any, y: Any) -> None:
            _steps(model, X, y, self.inner_steps, self.lr, self.batch, rng)

        iterations = self.meta_iterations // self.inner_steps
        reptile = self.inner_steps > 1
        meta_train(
            torch, model, tasks, iterations, rng, steps, meta_lr=self.meta_lr, reptile=reptile
        )
        return self

    @one_thread
    def adapt(self, X: np.ndarray, y: np.ndarray) -> Any:
        """A copy fine-tuned on a study's encoded results ``X`` and scores ``y`` (larger is
        better); returns ``C -> (mean, latent deviation, best mean at X)`` in standardised
        units."""
        torch, gpytorch = require_torch(), _gpytorch()
        model = copy.deepcopy(self.model_)
        Xt = torch.as_tensor(np.asarray(X, dtype=float))
        yt = torch.as_tensor(standardize(np.asarray(y, dtype=float)))
        rng = np.random.default_rng(self.seed)
        _steps(model, Xt, yt, self.fine_tune_steps, self.fine_tune_lr, len(yt), rng)
        model.set_train_data(Xt, yt, strict=False)
        model.eval()

        @one_thread
        def predict(C: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
            with torch.no_grad(), gpytorch.settings.cholesky_jitter(1e-6):
                f = model(torch.cat([Xt, torch.as_tensor(np.asarray(C, dtype=float))]))
                mu = f.mean.numpy()
                sd = np.sqrt(np.maximum(f.variance.numpy(), 1e-12))
            n = len(Xt)
            return mu[n:], sd[n:], float(mu[:n].max())

        return predict


class DeepKernelSampler(ProposalSampler):
    """Proposes by expected improvement under a meta-trained deep-kernel GP fine-tuned on the
    study's results (FSBO). With fewer than two results it declines (``then`` samples).

    Args:
        space: The study's search space.
        surrogate: A fitted :class:`DeepKernelGP` (its ``space_`` encodes configurations).
        n_candidates: Random candidates per trial; as many again are perturbations of the five
            best results at three scales.
        seed: Random seed.
        kwargs: Passed to :class:`~metahpo.optimizers.ProposalSampler` (``then``,
            ``n_proposals``).
    """

    def __init__(
        self,
        space: SearchSpace,
        surrogate: DeepKernelGP,
        *,
        n_candidates: int = 512,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(seed=seed, **kwargs)
        self.space = space
        self.surrogate = surrogate
        self.n_candidates = n_candidates

    def propose(self, view: StudyView) -> Proposal:
        if self.surrogate.model_ is None:
            return None
        done = [t for t in view.completed_with(self.space.names) if np.isfinite(view.gain(t))]
        if len(done) < 2:
            return None
        best = [t.params for t in sorted(done, key=lambda t: -view.gain(t))[:5]]
        per = max(self.n_candidates // 15, 1)
        configs = configs_around(
            self.rng, self.space, best, self.n_candidates, (0.03, 0.1, 0.25), per
        )
        builtin: SearchSpace = self.surrogate.space_
        C = np.vstack([builtin.encode(c) for c in configs])
        Xd = np.vstack([builtin.encode(t.params) for t in done])
        predict = self.surrogate.adapt(Xd, np.array([view.gain(t) for t in done]))
        mu, sd, best = predict(C)
        acq = expected_improvement(mu, sd, best)
        # Best first: a repeat of an evaluated configuration gives way to the next best.
        return [configs[i] for i in np.argsort(-acq, kind="stable")]
