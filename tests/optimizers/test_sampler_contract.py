"""The contract every registered base and every proposal sampler passes.

The contract itself ships in :mod:`metahpo.testing` (as Optuna ships
``optuna/testing/pytest_samplers.py``): seeds, enqueued trials, objectives whose parameters
differ from metahpo's space, failures, several workers on one SQLite study, a pruner,
reseeding and a resumed study. Here it runs over the registry (:data:`metahpo.optimizers.BASES`,
each through :func:`~metahpo.optimizers.make_meta_sampler` on a tiny experience) and over every
:class:`~metahpo.optimizers.ProposalSampler` subclass, plus what only metahpo's samplers
promise (a parameter a custom space adds, two processes on one study). A user's sampler passes
the shipped suite and broken samplers fail it.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pytest
from optuna.samplers import BaseSampler
from optuna.trial import Trial

from metahpo.errors import MetaHPOError
from metahpo.knowledge import Experience
from metahpo.optimizers import (
    BASES,
    DEFAULT_BASE,
    REGISTRY,
    ProposalSampler,
    RandomProposer,
    StudyView,
    make_meta_sampler,
)
from metahpo.optimizers.research import (
    DeepKernelGP,
    DeepKernelSampler,
    MAMLSampler,
    MetaTrainedSurrogate,
    PolicySampler,
    QPolicy,
    SeededEvolutionSampler,
    TransferSampler,
)
from metahpo.spaces import Param, SearchSpace
from metahpo.testing import (
    CHECKS,
    DESIGN,
    KNN,
    SamplerContract,
    check_sampler,
    knn_experience,
    knn_score,
)
from metahpo.testing._contract import claimed, patient_storage
from metahpo.testing._toy import knn

optuna.logging.set_verbosity(optuna.logging.WARNING)
Factory = Callable[[int], BaseSampler]

TINY: Experience = knn_experience(np.linspace(-1.0, 1.0, 6))
X = np.vstack([KNN.encode(c) for c in DESIGN])


def _plan(base: str, space: SearchSpace = KNN) -> Factory:
    def make(seed: int) -> BaseSampler:
        model = {"maml": _surrogate, "fsbo": _deep_kernel}.get(base, lambda: None)()  # small
        return make_meta_sampler(
            np.array([0.3, 0.0]),
            "knn",
            "classification",
            experience=TINY,
            n_warm_start=3,
            base=base,
            space=space,
            seed=seed,
            base_model=model,
        ).sampler

    return make


def _transfer(seed: int) -> BaseSampler:
    scores = [np.array([knn_score(m0, c) for c in DESIGN]) for m0 in (-0.5, 0.0, 0.5)]
    return TransferSampler(KNN, KNN, [X] * 3, scores, np.array([1.0, 0.5, 0.2]), seed=seed)


def _transfer_gp(seed: int) -> BaseSampler:
    from metahpo.optimizers._transfer_gp import TransferGPSampler

    scores = [np.array([knn_score(m0, c) for c in DESIGN]) for m0 in (-0.5, 0.0, 0.5)]
    return TransferGPSampler(KNN, KNN, [X] * 3, scores, np.array([1.0, 0.5, 0.2]), seed=seed)


_SURROGATE: list[MetaTrainedSurrogate] = []


def _surrogate() -> MetaTrainedSurrogate:
    if not _SURROGATE:
        _SURROGATE.append(MetaTrainedSurrogate(hidden=8, meta_iterations=5).fit(TINY, KNN))
    return _SURROGATE[0]


def _maml(seed: int) -> BaseSampler:
    return MAMLSampler(KNN, _surrogate(), n_candidates=32, seed=seed)


_DEEP_KERNEL: list[DeepKernelGP] = []


def _deep_kernel() -> DeepKernelGP:
    if not _DEEP_KERNEL:
        model = DeepKernelGP(hidden=8, meta_iterations=5, fine_tune_steps=5)
        _DEEP_KERNEL.append(model.fit(TINY, KNN))
    return _DEEP_KERNEL[0]


def _fsbo(seed: int) -> BaseSampler:
    return DeepKernelSampler(KNN, _deep_kernel(), n_candidates=32, seed=seed)


PROPOSERS: dict[str, Factory] = {
    "RandomProposer": lambda seed: RandomProposer(KNN, seed=seed),
    "RandomProposer-ranked": lambda seed: RandomProposer(KNN, best_first=4, seed=seed),
    "TransferSampler": _transfer,
    "TransferGPSampler": _transfer_gp,
    "SeededEvolutionSampler": lambda seed: SeededEvolutionSampler(
        KNN, DESIGN[:3], population=4, seed=seed
    ),
    "PolicySampler": lambda seed: PolicySampler(KNN, QPolicy(), DESIGN[:3], seed=seed),
    "MAMLSampler": _maml,
    "DeepKernelSampler": _fsbo,
}
SAMPLERS: dict[str, Factory] = {**{f"base-{b}": _plan(b) for b in BASES}, **PROPOSERS}


class TestEverySampler(SamplerContract):
    """The shipped contract (:class:`metahpo.testing.SamplerContract`) over :data:`SAMPLERS`."""

    @pytest.fixture(autouse=True, params=sorted(SAMPLERS))
    def _sampler(self, request: pytest.FixtureRequest) -> None:
        if request.param.endswith(("maml", "gpsampler")) or request.param == "MAMLSampler":
            pytest.importorskip("torch")
        if request.param.endswith("fsbo") or request.param == "DeepKernelSampler":
            pytest.importorskip("gpytorch")
        if request.param == "base-gpsampler" and "narrowed_integer" in request.node.name:
            # Optuna's GPSampler, registered as shipped (the live ablation's meta-gpsampler),
            # proposes evaluated configurations again once it exploits a small discrete range
            # (9 distinct in 20 trials over 44 configurations): a known breach, kept visible.
            request.applymarker(pytest.mark.xfail(strict=True, reason="GPSampler repeats"))
        self.factory = SAMPLERS[request.param]

    def make_sampler(self, seed: int) -> BaseSampler:
        return self.factory(seed)


def test_every_registered_base_and_proposal_sampler_is_covered() -> None:
    assert set(BASES) == set(REGISTRY)
    proposers = {c.__name__ for c in _subclasses(ProposalSampler)}
    assert proposers <= {name.split("-")[0] for name in PROPOSERS}


def _subclasses(cls: type) -> set[type]:
    out = set()
    for sub in cls.__subclasses__():
        if sub.__module__.startswith("metahpo."):
            out.add(sub)
        out |= _subclasses(sub)
    return out


def test_an_unknown_base_is_a_clear_error() -> None:
    with pytest.raises(MetaHPOError, match=r"unknown base sampler 'tpee'.*transfer"):
        make_meta_sampler(np.zeros(2), "knn", "classification", experience=TINY, base="tpee")


# -- a parameter that a custom space adds ------------------------------------------------------
CUSTOM = SearchSpace(
    "knn",
    "classification",
    (
        *KNN.params,
        Param("algorithm", "categorical", choices=("auto", "kd_tree", "brute"), default="auto"),
    ),
)


@pytest.mark.parametrize("base", [b for b in BASES if b != "maml"])
def test_a_parameter_the_custom_space_adds_is_varied_from_the_start(base: str) -> None:
    if base == "fsbo":
        pytest.importorskip("gpytorch")
    if base == "gpsampler":
        pytest.importorskip("torch")

    def objective(trial: Trial) -> float:
        value = knn(trial)
        trial.suggest_categorical("algorithm", ["auto", "kd_tree", "brute"])
        return value

    study = optuna.create_study(direction="maximize", sampler=_plan(base, CUSTOM)(0))
    study.optimize(objective, n_trials=12)
    assert len({t.params["algorithm"] for t in study.trials}) >= 2


# -- two processes on one SQLite study ---------------------------------------------------------
def _process_worker(url: str, name: str, seed: int) -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(
        study_name="p", storage=patient_storage(url), sampler=SAMPLERS[name](seed)
    )
    study.optimize(knn, n_trials=6)


@pytest.mark.parametrize("name", [f"base-{DEFAULT_BASE}", "RandomProposer-ranked"])
def test_two_processes_on_one_sqlite_study_never_evaluate_a_configuration_twice(
    name: str, tmp_path: Path
) -> None:
    import multiprocessing

    url = f"sqlite:///{tmp_path / 'processes.db'}"
    optuna.create_study(study_name="p", storage=url, direction="maximize")
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_process_worker, args=(url, name, s)) for s in (0, 1)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
    assert [w.exitcode for w in workers] == [0, 0]
    trials = optuna.load_study(study_name="p", storage=url).trials
    assert len(trials) == 12, [(t.number, t.state) for t in trials]
    found = claimed(trials)
    detail = [(t.number, t.params, t.system_attrs) for t in trials]
    assert len(found) >= 6 and len(found) == len(set(found)), detail


# -- the shipped suite on samplers that are not metahpo's -----------------------------------------
class UsersProposer(ProposalSampler):
    """A sampler as a user writes one: a proposer of uniform draws from the unit cube."""

    def propose(self, view: StudyView) -> Any:
        return KNN.from_unit(self.rng.rand(KNN.dim))


class TestAUsersOwnSamplerPassesTheShippedSuite(SamplerContract):
    def make_sampler(self, seed: int) -> BaseSampler:
        return UsersProposer(seed=seed)


class IgnoresTheSeed(optuna.samplers.RandomSampler):
    """Broken: draws from fresh entropy whatever the seed."""

    def __init__(self, seed: int | None = None) -> None:
        super().__init__(seed=None)


class Constant(BaseSampler):
    """Broken: proposes the lowest value (the first choice) of every parameter, always."""

    def infer_relative_search_space(self, study: Any, trial: Any) -> dict[str, Any]:
        return {}

    def sample_relative(self, study: Any, trial: Any, search_space: Any) -> dict[str, Any]:
        return {}

    def sample_independent(self, study: Any, trial: Any, name: str, distribution: Any) -> Any:
        if isinstance(distribution, optuna.distributions.CategoricalDistribution):
            return distribution.choices[0]
        return distribution.low


class BestSoFar(optuna.samplers.RandomSampler):
    """Broken under a pruner: after three trials it reads ``study.best_params``, which Optuna
    refuses while every trial so far is pruned (and Hyperband's bracket study does not have)."""

    def sample_independent(self, study: Any, trial: Any, name: str, distribution: Any) -> Any:
        if trial.number >= 3:
            return study.best_params[name]
        return super().sample_independent(study, trial, name, distribution)


def test_broken_samplers_fail_the_shipped_suite(tmp_path: Path) -> None:
    for check in ("successive_halving", "hyperband"):
        with pytest.raises(AssertionError, match=r"stopped with \w+Error.*PRUNED"):
            CHECKS[f"{check}_pruner_reaches_the_wanted_complete_trials"](BestSoFar, tmp_path)
    with pytest.raises(AssertionError, match="seed 3 gave"):
        CHECKS["same_seed_same_configurations"](IgnoresTheSeed, tmp_path)
    with pytest.raises(AssertionError, match="only 1 distinct configurations in 20 trials"):
        CHECKS["narrowed_integer_range_gives_distinct_configurations"](
            lambda seed: Constant(), tmp_path
        )
    with pytest.raises(AssertionError, match="the unknown parameter is frozen"):
        CHECKS["wider_range_other_types_conditional_and_unknown_parameters"](
            lambda seed: Constant(), tmp_path
        )
    with pytest.raises(AssertionError, match="seed 3 gave"):
        check_sampler(IgnoresTheSeed)  # the whole suite stops at the first breach


def test_the_suite_is_neither_imported_by_metahpo_nor_needs_pytest() -> None:
    code = (
        "import sys, metahpo; assert 'metahpo.testing' not in sys.modules\n"
        "import metahpo.testing; assert 'pytest' not in sys.modules, 'pytest imported'\n"
        "assert sorted(metahpo.testing.CHECKS) == sorted(\n"
        "    n[5:] for n in dir(metahpo.testing.SamplerContract) if n.startswith('test_'))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
