"""``MetaSearchCV``: a scikit-learn hyperparameter search driven by metahpo's MetaSampler."""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import optuna
from optuna.samplers import BaseSampler
from sklearn.model_selection._search import BaseSearchCV

from metahpo.datasets import from_frame
from metahpo.knowledge import Experience, KnowledgeStore, TaskRecord, from_store, load_bundled
from metahpo.optimizers import DEFAULT_BASE, make_meta_sampler
from metahpo.sklearn._model import FamilyModel
from metahpo.spaces import SearchSpace, get_family


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

    Args:
        family: ``hgb``, ``rf``, ``svm``, ``linear``, ``knn`` or ``mlp``.
        n_iter: Candidates to evaluate.
        scoring, n_jobs, refit, cv, verbose, pre_dispatch, error_score, return_train_score:
            As in scikit-learn's searches. ``scoring=None`` means balanced accuracy for
            classification and R² for regression (metahpo's defaults). With several metrics,
            the sampler optimises the one named by ``refit``.
        task: ``"classification"``, ``"regression"`` or ``"auto"``.
        strategy: Meta-learner for the warm starts (``portfolio``, ``nearest``, ``surrogate``,
            ``mapping``).
        warm_start: Meta-learned candidates evaluated first.
        base: Refining sampler (default ``transfer``; see
            :func:`~metahpo.optimizers.make_meta_sampler`).
        experience: What to learn from (default: the bundled experience, plus the runs in
            ``storage`` when given).
        storage: An Optuna storage URL (as for ``metahpo tune``). When given, the search is
            recorded there as it runs, one study per ``fit`` with metahpo's task record, so it
            becomes experience for later searches and ``metahpo tune`` runs (and survives a
            crash); ``None`` keeps it in memory.
        dataset_name: The dataset's name in the stored task record.
        random_state: Seeds the sampler and the models.

    Attributes (after ``fit``, besides scikit-learn's):
        study_: The Optuna study of the search (in memory).
        meta_: What the meta-learner decided: strategy, confidence, out-of-distribution flag,
            the warm-start count and the nearest past tasks.
    """

    def __init__(
        self,
        family: str = "hgb",
        *,
        n_iter: int = 30,
        scoring: Any = None,
        n_jobs: int | None = None,
        refit: bool | str | Callable[..., Any] = True,
        cv: Any = None,
        verbose: int = 0,
        pre_dispatch: str | int = "2*n_jobs",
        error_score: Any = np.nan,
        return_train_score: bool = False,
        task: str = "auto",
        strategy: str = "portfolio",
        warm_start: int = 5,
        base: str = DEFAULT_BASE,
        experience: Experience | None = None,
        storage: str | None = None,
        dataset_name: str = "data",
        random_state: int = 0,
    ) -> None:
        self.family = family
        self.n_iter = n_iter
        self.task = task
        self.strategy = strategy
        self.warm_start = warm_start
        self.base = base
        self.experience = experience
        self.storage = storage
        self.dataset_name = dataset_name
        self.random_state = random_state
        super().__init__(
            estimator=FamilyModel(family, task=task, random_state=random_state),
            scoring=scoring,
            n_jobs=n_jobs,
            refit=refit,
            cv=cv,
            verbose=verbose,
            pre_dispatch=pre_dispatch,
            error_score=error_score,
            return_train_score=return_train_score,
        )

    def fit(self, X: Any, y: Any = None, **params: Any) -> MetaSearchCV:
        from metahpo.metafeatures import compute_metafeatures

        get_family(self.family)  # a clear error for an unknown family, before any work
        data = from_frame(
            X,
            y,
            task=None if self.task == "auto" else self.task,  # type: ignore[arg-type]
            name=self.dataset_name,
        )
        self._data = data
        self._data_task = data.task
        self._metafeatures = compute_metafeatures(data, seed=self.random_state)
        # The task is now known: classifiers get stratified folds, scorers the right methods.
        self.estimator = FamilyModel(self.family, task=data.task, random_state=self.random_state)
        chosen: Any = getattr(self, "scoring", None)
        if chosen is None:
            # metahpo's default metric; the parameter itself stays None (scikit-learn's rule).
            self.scoring = "balanced_accuracy" if data.task == "classification" else "r2"
        try:
            super().fit(X, y, **params)
        finally:
            self.scoring = chosen
        return self

    def _run_search(self, evaluate_candidates: Callable[..., Mapping[str, Any]]) -> None:
        store = KnowledgeStore(self.storage) if self.storage is not None else None
        experience = self.experience
        if experience is None:
            experience = load_bundled()
            if store is not None:
                names = experience.metafeature_names or tuple(self._metafeatures)
                experience = experience + from_store(store, names)
        names = experience.metafeature_names or tuple(self._metafeatures)
        vector = np.asarray([self._metafeatures.get(k, 0.0) for k in names], dtype=float)
        space = get_family(self.family).space(self._data_task)
        plan = make_meta_sampler(
            vector,
            self.family,
            self._data_task,
            experience=experience,
            strategy=self.strategy,
            n_warm_start=self.warm_start,
            base=self.base,
            direction="maximize",  # scikit-learn scores are always larger-is-better
            space=space,
            seed=self.random_state,
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
        key = f"mean_test_{self.refit}" if isinstance(self.refit, str) else "mean_test_score"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            verbosity = optuna.logging.get_verbosity()
            optuna.logging.set_verbosity(optuna.logging.WARNING)
            try:
                study = self._study(store, space, plan.sampler)
                distributions = space.distributions()
                for _ in range(self.n_iter):
                    trial = study.ask(distributions)
                    results = evaluate_candidates([dict(trial.params)])
                    score = float(_last(results, key))
                    if np.isfinite(score):
                        study.tell(trial, score)
                    else:
                        study.tell(trial, state=optuna.trial.TrialState.FAIL)
            finally:
                optuna.logging.set_verbosity(verbosity)
        self.study_ = study

    def _study(
        self, store: KnowledgeStore | None, space: SearchSpace, sampler: BaseSampler
    ) -> optuna.Study:
        if store is None:
            return optuna.create_study(direction="maximize", sampler=sampler)
        metric = self.scoring if isinstance(self.scoring, str) else "score"
        if isinstance(self.refit, str):
            metric = self.refit
        record = TaskRecord.describe(
            self._data,
            space,
            metric=metric,
            direction="maximize",  # scikit-learn scores are larger-is-better
            metafeatures=self._metafeatures,
            source="sklearn",
            folds=self.cv if isinstance(self.cv, int) else 5,
            seed=self.random_state,
        )
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%f")
        name = f"{self._data.name}:{self.family}:{metric}:MetaSearchCV:{stamp}"
        study = store.create_task(name, record)
        study.sampler = sampler
        return study


def _last(results: Mapping[str, Any], key: str) -> float:
    values: Sequence[float] = results[key]
    return float(values[-1])
