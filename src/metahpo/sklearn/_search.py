"""``MetaSearchCV``: a scikit-learn hyperparameter search driven by metahpo's MetaSampler."""

from __future__ import annotations

import datetime as dt
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
import optuna
from optuna.samplers import BaseSampler
from sklearn.base import is_classifier
from sklearn.model_selection import check_cv
from sklearn.model_selection._search import BaseSearchCV
from sklearn.utils import Tags, get_tags
from sklearn.utils._param_validation import Interval, InvalidParameterError, StrOptions

from metahpo.datasets import Dataset, from_frame
from metahpo.errors import MetaHPOError
from metahpo.evaluation import limit_threads
from metahpo.knowledge import Experience, KnowledgeStore, TaskRecord, from_store, load_bundled
from metahpo.metalearners import STRATEGIES
from metahpo.optimizers import (
    BASES,
    DEFAULT_BASE,
    TimeCost,
    check_base_options,
    make_meta_sampler,
    time_cost,
)
from metahpo.sklearn._fidelity import Rungs, climb, plan_rungs, stopped_early
from metahpo.sklearn._model import TASKS, FamilyModel
from metahpo.sklearn._validation import check_features, check_target
from metahpo.spaces import SearchSpace, get_family


class InvalidParameter(MetaHPOError, InvalidParameterError):  # type: ignore[misc]
    """A parameter of :class:`MetaSearchCV` of the wrong type or value, found by ``fit``:
    scikit-learn's error (a ``ValueError`` and a ``TypeError``, with its one-line message
    naming the parameter and what it got) that is also a :class:`~metahpo.errors.MetaHPOError`."""


@dataclass(frozen=True)
class _Input:
    """What ``_run_search`` needs besides the candidates' scores; not kept after ``fit``."""

    data: Dataset
    metafeatures: dict[str, float]
    rungs: Rungs | None
    deadline: float | None  # time.monotonic() of the timeout


class MetaSearchCV(BaseSearchCV):  # type: ignore[misc]
    """Search one model family's hyperparameters, starting from meta-learned configurations.

    A drop-in for ``RandomizedSearchCV``: the same ``fit`` / ``best_params_`` /
    ``best_estimator_`` / ``cv_results_``, but the candidates come from
    :class:`~metahpo.optimizers.MetaSampler`. The first ``warm_start`` candidates are chosen by a
    meta-learner from the experience (the bundled one by default) for this dataset's
    meta-features, the library default among them; then the ``base`` sampler refines, asking
    one candidate at a time and learning from each cross-validated score. The estimator is
    :class:`FamilyModel`, so preprocessing (imputation, scaling, one-hot encoding) is part of
    every candidate, fitted inside each fold.

    Like ``RandomizedSearchCV(estimator)``, whose type is its estimator's, the search is a
    classifier or a regressor before it sees any data: ``task`` decides (``estimator`` is
    ``FamilyModel(family, task=task, random_state=random_state)``, derived from the
    parameters). ``MetaSearchCV("knn")`` is a classifier, so ``is_classifier`` is True and
    ``cross_val_score`` or ``cross_validate`` around it split stratified, as do its own
    folds for an integer ``cv``; ``MetaSearchCV("knn", task="regression")`` is a regressor.
    A continuous target given to a classifier is an error, as in scikit-learn.

    Args:
        family: ``hgb``, ``rf``, ``svm``, ``linear``, ``knn``, ``mlp``, or with the ``boost``
            extra ``lgbm`` or ``xgb``.
        n_iter: Candidates cross-validated at full rows (the entries of ``cv_results_``);
            ``None``: no limit, until ``timeout``. With low fidelities more candidates are
            proposed: those stopped at a low fidelity do not count.
        scoring, n_jobs, refit, cv, verbose, pre_dispatch, error_score, return_train_score:
            As in scikit-learn's searches (``n_jobs``: candidates' folds fitted in parallel;
            each fit in this process trains with one native thread, as ``metahpo tune``
            does by default, see :func:`~metahpo.evaluation.limit_threads`; joblib's worker
            processes divide the cores among themselves). ``scoring=None`` means balanced
            accuracy for classification and R² for regression (metahpo's defaults, which
            :meth:`FamilyModel.score` computes). With several metrics, the sampler optimises
            the one named by ``refit``.
        task: ``"classification"`` (default) or ``"regression"``.
        strategy: Meta-learner for the warm starts (``portfolio``, ``nearest``, ``surrogate``,
            ``mapping``).
        warm_start: Meta-learned candidates evaluated first (``False``, which
            scikit-learn's checks set, is none).
        base: Refining sampler (default ``transfer-gp``; see
            :func:`~metahpo.optimizers.make_meta_sampler`).
        base_options: Options of ``base`` by name (default ``None``: none, each its default),
            e.g. ``{"n_transfer": 10}`` for the ``transfer`` base's proposals after the warm
            starts, before TPE takes over (default 25 minus the warm starts used); see
            :func:`~metahpo.optimizers.make_meta_sampler`. Stored as given.
        experience: What to learn from (default: the bundled experience, plus the runs in
            ``storage`` when given).
        storage: An Optuna storage URL (as for ``metahpo tune``). When given, the search is
            recorded there as it runs, one study per ``fit`` with metahpo's task record, so it
            becomes experience for later searches and ``metahpo tune`` runs (and survives a
            crash); ``None`` keeps it in memory.
        dataset_name: The dataset's name in the stored task record.
        random_state: Seeds the sampler, the models and the row subsamples.
        timeout: Seconds for the search, counted from the start of ``fit`` (the
            meta-features included): no candidate starts after it, and a candidate on the
            low fidelities stops at its next rung once it has passed; a candidate already
            cross-validating at full rows finishes. The search always cross-validates at
            least one candidate, so it never ends without a model. With a timeout the
            ``transfer-gp`` refinement proposes by expected improvement per second (the bundled
            experience's cost model; :func:`~metahpo.optimizers.time_cost`). ``None``: no time
            limit.
        fidelity: ``"auto"`` (default): as ``metahpo tune``'s low fidelities, on data with
            enough training rows per fold (with 5-fold CV, from about 7,500 rows; fewer: no
            rungs, exactly as ``"none"``), a candidate is first scored on seeded, stratified
            subsamples of each fold's training rows (2,000, then ×3 per rung) with the
            search's ``scoring`` and ``cv``, and Optuna's ``SuccessiveHalvingPruner`` stops it
            at a rung where it is not among the best third; only the candidates that climb
            every rung are cross-validated at full rows (``cv_results_``, ``best_*_`` and the
            refit hold those only). ``"none"``: every candidate at full rows.

    Attributes (after ``fit``, besides scikit-learn's):
        study_: The Optuna study of the search (in memory).
        meta_: What the meta-learner decided: strategy, confidence, out-of-distribution flag,
            the warm-start count and the nearest past tasks; and how the search went:
            ``fidelity`` (its rungs, ``None``: none), ``stopped_early`` (candidates stopped at
            each rung or at the timeout) and ``stopped`` (``"n_iter"`` or ``"timeout"``).
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        **{k: v for k, v in BaseSearchCV._parameter_constraints.items() if k != "estimator"},
        "family": [str],
        "n_iter": [Interval(Integral, 1, None, closed="left"), None],
        "task": [StrOptions(set(TASKS))],
        "strategy": [StrOptions(set(STRATEGIES))],
        "warm_start": [Interval(Integral, 0, None, closed="left")],
        "base": [StrOptions(set(BASES))],
        "base_options": [Mapping, None],
        "experience": [Experience, None],
        "storage": [str, None],
        "dataset_name": [str],
        "random_state": [Interval(Integral, 0, 2**32 - 1, closed="both")],
        "timeout": [Interval(Real, 0, None, closed="neither"), None],
        "fidelity": [StrOptions({"auto", "none"})],
    }

    def __init__(
        self,
        family: str = "hgb",
        *,
        n_iter: int | None = 30,
        scoring: Any = None,
        n_jobs: int | None = None,
        refit: bool | str | Callable[..., Any] = True,
        cv: Any = None,
        verbose: int = 0,
        pre_dispatch: str | int = "2*n_jobs",
        error_score: Any = np.nan,
        return_train_score: bool = False,
        task: str = "classification",
        strategy: str = "portfolio",
        warm_start: int = 5,
        base: str = DEFAULT_BASE,
        base_options: Mapping[str, Any] | None = None,
        experience: Experience | None = None,
        storage: str | None = None,
        dataset_name: str = "data",
        random_state: int = 0,
        timeout: float | None = None,
        fidelity: str = "auto",
    ) -> None:
        # BaseSearchCV.__init__ would assign ``estimator``, which here is derived from the
        # parameters (a read-only property), so its other arguments are stored directly.
        self.family = family
        self.n_iter = n_iter
        self.scoring = scoring
        self.n_jobs = n_jobs
        self.refit = refit
        self.cv = cv
        self.verbose = verbose
        self.pre_dispatch = pre_dispatch
        self.error_score = error_score
        self.return_train_score = return_train_score
        self.task = task
        self.strategy = strategy
        self.warm_start = warm_start
        self.base = base
        self.base_options = base_options
        self.experience = experience
        self.storage = storage
        self.dataset_name = dataset_name
        self.random_state = random_state
        self.timeout = timeout
        self.fidelity = fidelity

    @property
    def estimator(self) -> FamilyModel:
        """The estimator searched, made from the parameters: its type is the search's type."""
        return FamilyModel(self.family, task=self.task, random_state=self.random_state)

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()  # the type and sparse support: the estimator's
        inner = get_tags(self.estimator).input_tags
        tags.input_tags.allow_nan = inner.allow_nan
        tags.input_tags.string = inner.string
        tags.input_tags.categorical = inner.categorical
        tags.target_tags.required = True
        return tags

    def fit(self, X: Any, y: Any = None, **params: Any) -> MetaSearchCV:
        """Run the search (``params`` are routed as in scikit-learn's searches).

        Raises:
            ValueError: For invalid parameters (scikit-learn's message, as
                :class:`InvalidParameter`, also a :class:`~metahpo.errors.MetaHPOError` and a
                ``TypeError``), for input
                scikit-learn rejects (see :mod:`metahpo.sklearn`), and as
                :class:`~metahpo.errors.DataError` for a table metahpo cannot use and for
                missing labels (``Input y contains NaN``, as scikit-learn's searches).
        """
        from metahpo.metafeatures import compute_metafeatures

        start = time.monotonic()  # the timeout counts from here
        self._check_params()
        # A clear error for an unknown family or a missing extra, before any work.
        get_family(self.family).check_available()
        check_features(X, min_samples=2)
        # Missing labels are an error here (a fold would score them as a class of their own).
        target = check_target(y, self.task, owner=type(self).__name__, allow_missing=False)
        data = from_frame(X, target, task=self.task, name=self.dataset_name)  # type: ignore[arg-type]
        self._input = _Input(
            data,
            compute_metafeatures(data, seed=self.random_state),
            plan_rungs(self, X, target, params, is_classifier(self)),
            None if self.timeout is None else start + float(self.timeout),
        )
        try:
            with limit_threads():  # one native thread per fit, as in ``tune``
                super().fit(X, target, **params)
        finally:
            del self._input
        return self

    def _check_params(self) -> None:
        """scikit-learn's parameter checks, and metahpo's, as :class:`InvalidParameter`."""
        try:
            self._validate_params()
        except InvalidParameterError as exc:  # also a MetaHPOError, as metahpo's errors are
            raise InvalidParameter(str(exc)) from None
        for name, kind in (
            ("n_iter", "an int"),
            ("random_state", "an int"),
            ("timeout", "a float"),
        ):
            if isinstance(getattr(self, name), bool):  # an Integral to scikit-learn
                raise InvalidParameter(
                    f"The {name!r} parameter of MetaSearchCV must be {kind}, not a bool. "
                    f"Got {getattr(self, name)!r} instead."
                )
        if self.n_iter is None and self.timeout is None:
            raise InvalidParameter(
                "The 'n_iter' parameter of MetaSearchCV may be None (no candidate limit) only "
                "with a 'timeout'. Got n_iter=None and timeout=None instead."
            )
        try:
            check_base_options(self.base, self.base_options, "MetaSearchCV")
        except MetaHPOError as exc:
            raise InvalidParameter(str(exc)) from None

    def _run_search(self, evaluate_candidates: Callable[..., Mapping[str, Any]]) -> None:
        data, metafeatures = self._input.data, self._input.metafeatures
        store = KnowledgeStore(self.storage) if self.storage is not None else None
        experience = self.experience
        if experience is None:
            experience = load_bundled()
            if store is not None:
                names = experience.metafeature_names or tuple(metafeatures)
                experience = experience + from_store(store, names)
        names = experience.metafeature_names or tuple(metafeatures)
        vector = np.asarray([metafeatures.get(k, 0.0) for k in names], dtype=float)
        space = get_family(self.family).space(data.task)
        plan = make_meta_sampler(
            vector,
            self.family,
            data.task,
            experience=experience,
            strategy=self.strategy,
            n_warm_start=int(self.warm_start),  # scikit-learn's checks set False: none
            base=self.base,
            base_options=self.base_options,
            direction="maximize",  # scikit-learn scores are always larger-is-better
            space=space,
            seed=self.random_state,
            cost=self._time_cost(data),
        )
        self.meta_ = {
            "strategy": self.strategy,
            "base": self.base,
            "confidence": round(plan.confidence, 4),
            "out_of_distribution": plan.out_of_distribution,
            "warm_start": len(plan.sampler.warm_start),
            "neighbors": [list(n) for n in plan.suggestions[0].neighbors]
            if plan.suggestions
            else [],
        }
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            verbosity = optuna.logging.get_verbosity()
            optuna.logging.set_verbosity(optuna.logging.WARNING)
            try:
                study = self._study(store, space, plan.sampler)
                stopped = self._candidates(study, space, evaluate_candidates)
            finally:
                optuna.logging.set_verbosity(verbosity)
        rungs = self._input.rungs
        self.meta_["fidelity"] = None if rungs is None else rungs.plan.describe()
        self.meta_["stopped_early"] = stopped_early(study)
        self.meta_["stopped"] = stopped
        self.study_ = study

    def _time_cost(self, data: Dataset) -> TimeCost | None:
        """With a timeout: what candidates cost on ``data`` (the refinement proposes by
        expected improvement per second until the deadline); ``None`` without one."""
        deadline = self._input.deadline
        if deadline is None or self.timeout is None:
            return None
        ends = time.time() + (deadline - time.monotonic())
        return time_cost(
            data, self.family, float(self.timeout), ends, evaluation=self._evaluation(data)
        )

    def _evaluation(self, data: Dataset) -> tuple[int, float] | None:
        """``(fits, training rows of each)`` of one candidate's full cross-validation (``None``:
        a splitter that cannot say how many splits it makes without more arguments)."""
        try:
            cv = check_cv(self.cv, data.y, classifier=data.task == "classification")
            k = int(cv.get_n_splits(data.X, data.y))
        except (TypeError, ValueError):
            return None
        return (k, data.n_rows * (k - 1) / k) if k >= 2 else None

    def _candidates(
        self,
        study: optuna.Study,
        space: SearchSpace,
        evaluate_candidates: Callable[..., Mapping[str, Any]],
    ) -> str:
        """Ask, score and tell candidates until ``n_iter`` of them are cross-validated at full
        rows or the timeout has passed (after the first); what stopped the search."""
        rungs, deadline = self._input.rungs, self._input.deadline
        distributions = space.distributions()
        evaluated = 0  # candidates cross-validated at full rows: the entries of cv_results_
        while True:
            if self.n_iter is not None and evaluated >= self.n_iter:
                return "n_iter"
            if deadline is not None and evaluated and time.monotonic() > deadline:
                return "timeout"
            trial = study.ask(distributions)
            if rungs is not None and not climb(trial, rungs, deadline):
                continue  # stopped at a low fidelity: told PRUNED, not in cv_results_
            score = _last(evaluate_candidates([dict(trial.params)]), self.refit)
            evaluated += 1
            if np.isfinite(score):
                if rungs is not None:
                    trial.report(score, step=rungs.plan.full_rows)
                study.tell(trial, score)
            else:
                study.tell(trial, state=optuna.trial.TrialState.FAIL)

    def _metric(self) -> str:
        """The name of the optimised metric, as stored in the task record."""
        if isinstance(self.refit, str):
            return self.refit
        if self.scoring is None:  # FamilyModel.score: metahpo's default metric
            return "balanced_accuracy" if self.task == "classification" else "r2"
        return self.scoring if isinstance(self.scoring, str) else "score"

    def _study(
        self, store: KnowledgeStore | None, space: SearchSpace, sampler: BaseSampler
    ) -> optuna.Study:
        rungs = self._input.rungs
        pruner = None if rungs is None else rungs.pruner()
        if store is None:
            return optuna.create_study(direction="maximize", sampler=sampler, pruner=pruner)
        data, metafeatures = self._input.data, self._input.metafeatures
        metric = self._metric()
        record = TaskRecord.describe(
            data,
            space,
            metric=metric,
            direction="maximize",  # scikit-learn scores are larger-is-better
            metafeatures=metafeatures,
            source="sklearn",
            folds=self.cv if isinstance(self.cv, int) else 5,
            seed=self.random_state,
        )
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%f")
        name = f"{data.name}:{self.family}:{metric}:MetaSearchCV:{stamp}"
        study = store.create_task(name, record)
        study.sampler = sampler
        if pruner is not None:
            study.pruner = pruner
        return study


def _last(results: Mapping[str, Any], refit: Any) -> float:
    """The latest candidate's mean test score on the metric the search optimises."""
    key = f"mean_test_{refit}" if isinstance(refit, str) else "mean_test_score"
    if key not in results:  # several metrics without a named refit: the first one
        key = next(k for k in results if k.startswith("mean_test_"))
    values: Sequence[float] = results[key]
    return float(values[-1])
