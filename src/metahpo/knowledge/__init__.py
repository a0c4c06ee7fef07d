"""Knowledge layer: the experience store, knowledge-base builds and the bundled experience."""

from metahpo.knowledge._build import (
    BuildReport,
    BuildSettings,
    build,
    design,
    refresh_metafeatures,
    study_name,
)
from metahpo.knowledge._bundle import DEFAULT_BUNDLE, Bundle
from metahpo.knowledge._experience import Experience, TaskExperience, from_store, load_bundled
from metahpo.knowledge._import import ImportReport, import_study
from metahpo.knowledge._locks import DEFAULT_LOCK_TIMEOUT, StorageLockedError, lock_failure
from metahpo.knowledge._records import (
    RECORD_ATTR,
    SCHEMA_VERSION,
    TRIAL_ERROR_ATTR,
    TRIAL_FIT_TIME_ATTR,
    TRIAL_FOLDS_ATTR,
    TRIAL_METRICS_ATTR,
    TaskRecord,
)
from metahpo.knowledge._store import (
    DEFAULT_STORAGE,
    KnowledgeStore,
    evaluation_to_trial,
    open_storage,
    require_existing,
)

__all__ = [
    "DEFAULT_BUNDLE",
    "DEFAULT_LOCK_TIMEOUT",
    "DEFAULT_STORAGE",
    "RECORD_ATTR",
    "SCHEMA_VERSION",
    "TRIAL_ERROR_ATTR",
    "TRIAL_FIT_TIME_ATTR",
    "TRIAL_FOLDS_ATTR",
    "TRIAL_METRICS_ATTR",
    "BuildReport",
    "BuildSettings",
    "Bundle",
    "Experience",
    "ImportReport",
    "KnowledgeStore",
    "StorageLockedError",
    "TaskExperience",
    "TaskRecord",
    "build",
    "design",
    "evaluation_to_trial",
    "from_store",
    "import_study",
    "load_bundled",
    "lock_failure",
    "open_storage",
    "refresh_metafeatures",
    "require_existing",
    "study_name",
]
