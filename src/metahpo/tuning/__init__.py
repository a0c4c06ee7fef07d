"""Python API for tuning: one function, one result record, the settings that define a run,
and the fitted model at the end (saved and loaded with skops)."""

from metahpo.tuning._meta import meta_sampler_for, suggest_config
from metahpo.tuning._model import TRUSTED_TYPES, ModelInfo, SavedModel, load_model, save_model
from metahpo.tuning._run import RunOutcome
from metahpo.tuning._settings import RunSettings
from metahpo.tuning._tune import TuneResult, default_study_name, tune

__all__ = [
    "TRUSTED_TYPES",
    "ModelInfo",
    "RunOutcome",
    "RunSettings",
    "SavedModel",
    "TuneResult",
    "default_study_name",
    "load_model",
    "meta_sampler_for",
    "save_model",
    "suggest_config",
    "tune",
]
