"""Turning a plain Optuna study (made without metahpo) into experience."""

from __future__ import annotations

from dataclasses import dataclass

import optuna
from optuna.trial import TrialState

from metahpo.datasets import Dataset
from metahpo.errors import KnowledgeBaseError
from metahpo.knowledge._records import RECORD_ATTR, TaskRecord
from metahpo.knowledge._store import KnowledgeStore
from metahpo.spaces import FAMILY_NAMES, get_space


@dataclass(frozen=True)
class ImportReport:
    """What an import matched."""

    study: str
    family: str
    matched: tuple[str, ...]
    unmatched: tuple[str, ...]
    missing: tuple[str, ...]
    n_trials: int


def match_family(param_names: set[str], task: str) -> tuple[str, int]:
    """The family whose space shares the most parameter names (ties: fewer missing)."""
    best = max(
        FAMILY_NAMES,
        key=lambda f: (
            len(param_names & set(get_space(f, task).names)),
            -len(set(get_space(f, task).names) - param_names),
        ),
    )
    return best, len(param_names & set(get_space(best, task).names))


def _refuse_own_record(study_name: str, raw: object) -> None:
    """A study whose task record metahpo wrote itself (a tune, build or ``MetaSearchCV`` run)
    is experience already; rewriting its record would make that run impossible to resume."""
    if raw is None:
        return
    try:
        old = TaskRecord.from_json(str(raw))
    except (ValueError, TypeError):  # unreadable: refuse rather than overwrite it
        raise KnowledgeBaseError(
            f"study {study_name!r} already holds a metahpo task record (unreadable); it is "
            "left as it is"
        ) from None
    if old.source == "import":
        return  # an earlier import: importing again replaces it
    raise KnowledgeBaseError(
        f"study {study_name!r} is a metahpo {old.source} run ({old.family} on {old.dataset}, "
        f"{old.task}, {old.folds}-fold {old.metric}): it is experience already and its record "
        "is left as it is; kb import is for studies made without metahpo"
    )


def import_study(
    store: KnowledgeStore,
    study_name: str,
    dataset: Dataset,
    *,
    family: str | None = None,
    metric: str = "objective",
    metafeatures: dict[str, float] | None = None,
) -> ImportReport:
    """Attach a task record to an existing single-objective study, making it experience.

    The study and its trials are left as they are; only a study user attribute is added. A
    study that metahpo ran itself (its record written by a tune, a build or ``MetaSearchCV``)
    is refused: it is experience already, and its record is what resuming it checks.
    Parameters are matched to a family's space by name (the family is chosen by the best match
    unless given); unmatched parameters are reported, and space parameters the study lacks
    take their default when the experience is read.
    """
    try:
        study = optuna.load_study(study_name=study_name, storage=store.storage)
    except KeyError:
        names = ", ".join(store.study_names()[:20]) or "none"
        raise KnowledgeBaseError(
            f"no study {study_name!r} in the storage; studies: {names}"
        ) from None
    _refuse_own_record(study_name, study.user_attrs.get(RECORD_ATTR))
    if len(study.directions) != 1:
        raise KnowledgeBaseError(
            f"study {study_name!r} is multi-objective; only single-objective studies can be "
            "imported"
        )
    trials = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not trials:
        raise KnowledgeBaseError(f"study {study_name!r} has no completed trial")
    params = {k for t in trials for k in t.params}
    if family is None:
        family, overlap = match_family(params, dataset.task)
        if overlap == 0:
            raise KnowledgeBaseError(
                f"no parameter of study {study_name!r} ({', '.join(sorted(params))}) matches a "
                "metahpo search space; pass --model to choose the family"
            )
    space = get_space(family, dataset.task)
    matched = tuple(sorted(params & set(space.names)))
    if not matched:
        raise KnowledgeBaseError(
            f"no parameter of study {study_name!r} matches the {family} space "
            f"({', '.join(space.names)})"
        )
    if metafeatures is None:
        from metahpo.metafeatures import compute_metafeatures

        metafeatures = compute_metafeatures(dataset)
    record = TaskRecord.describe(
        dataset,
        space,
        metric=metric,
        direction=study.direction.name.lower(),
        metafeatures=metafeatures,
        source="import",
    )
    study.set_user_attr(RECORD_ATTR, record.to_json())
    return ImportReport(
        study=study_name,
        family=family,
        matched=matched,
        unmatched=tuple(sorted(params - set(space.names))),
        missing=tuple(sorted(set(space.names) - params)),
        n_trials=len(trials),
    )
