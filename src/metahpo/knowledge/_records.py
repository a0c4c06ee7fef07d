"""Records of the experience store: what a tuning run was about."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from metahpo.datasets import Dataset
from metahpo.errors import KnowledgeBaseError
from metahpo.spaces import SearchSpace

#: Version of the task-record layout stored in Optuna study attributes.
SCHEMA_VERSION = 1
#: Study user attribute that holds the :class:`TaskRecord` JSON.
RECORD_ATTR = "metahpo:task"
#: Trial user attributes written by metahpo.
TRIAL_METRICS_ATTR = "metahpo:metrics"
TRIAL_FOLDS_ATTR = "metahpo:fold_values"
TRIAL_FIT_TIME_ATTR = "metahpo:fit_time"
TRIAL_INDEX_ATTR = "metahpo:config_index"
TRIAL_ERROR_ATTR = "metahpo:error"


@dataclass(frozen=True)
class TaskRecord:
    """What one tuning run (one Optuna study) was about.

    Attributes:
        dataset: Dataset name.
        fingerprint: Content hash of the data actually evaluated (after any subsampling).
        family: Model family.
        task: ``"classification"`` or ``"regression"``.
        metric: Primary metric (the study's objective).
        direction: ``"maximize"`` or ``"minimize"``.
        space: The search space as JSON-able dict (see ``SearchSpace.to_dict``).
        space_signature: ``SearchSpace.signature`` of ``space``.
        n_rows: Rows evaluated.
        n_features: Feature columns after cleaning.
        metafeatures: Meta-feature name -> value (may be empty until computed).
        source: ``"build"``, ``"tune"``, ``"import"`` or ``"sklearn"`` (a ``MetaSearchCV`` fit).
        folds: Number of cross-validation folds.
        seed: Seed of the folds.
        schema: Layout version (:data:`SCHEMA_VERSION`).
    """

    dataset: str
    fingerprint: str
    family: str
    task: str
    metric: str
    direction: str
    space: dict[str, Any]
    space_signature: str
    n_rows: int
    n_features: int
    metafeatures: dict[str, float] = field(default_factory=dict)
    source: str = "tune"
    folds: int = 5
    seed: int = 0
    schema: int = SCHEMA_VERSION

    @classmethod
    def describe(
        cls,
        dataset: Dataset,
        space: SearchSpace,
        *,
        metric: str,
        direction: str,
        metafeatures: dict[str, float],
        source: str,
        folds: int = 5,
        seed: int = 0,
    ) -> TaskRecord:
        """The record of a run of ``space``'s family on ``dataset``."""
        return cls(
            dataset=dataset.name,
            fingerprint=dataset.fingerprint(),
            family=space.family,
            task=dataset.task,
            metric=metric,
            direction=direction,
            space=space.to_dict(),
            space_signature=space.signature,
            n_rows=dataset.n_rows,
            n_features=dataset.n_features,
            metafeatures=metafeatures,
            source=source,
            folds=folds,
            seed=seed,
        )

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> TaskRecord:
        data: Mapping[str, Any] = json.loads(text)
        schema = int(data.get("schema", 0))
        if schema > SCHEMA_VERSION:
            raise KnowledgeBaseError(
                f"this store was written by a newer metahpo (record schema {schema}, this version "
                f"reads up to {SCHEMA_VERSION}); upgrade with: pip install -U metahpo"
            )
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)
