"""Python API for tuning: one function, one result record, the settings that define a run."""

from metahpo.tuning._meta import meta_sampler_for, suggest_config
from metahpo.tuning._run import RunOutcome
from metahpo.tuning._settings import RunSettings
from metahpo.tuning._tune import TuneResult, default_study_name, tune

__all__ = [
    "RunOutcome",
    "RunSettings",
    "TuneResult",
    "default_study_name",
    "meta_sampler_for",
    "suggest_config",
    "tune",
]
