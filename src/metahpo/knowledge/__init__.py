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
from metahpo.knowledge._records import SCHEMA_VERSION, TaskRecord
from metahpo.knowledge._store import (
    DEFAULT_STORAGE,
    KnowledgeStore,
    evaluation_to_trial,
    open_storage,
)

__all__ = [
    "DEFAULT_BUNDLE",
    "DEFAULT_STORAGE",
    "SCHEMA_VERSION",
    "BuildReport",
    "BuildSettings",
    "Bundle",
    "Experience",
    "ImportReport",
    "KnowledgeStore",
    "TaskExperience",
    "TaskRecord",
    "build",
    "design",
    "evaluation_to_trial",
    "from_store",
    "import_study",
    "load_bundled",
    "open_storage",
    "refresh_metafeatures",
    "study_name",
]
