"""Python API for tuning: one function, one result record."""

from metahpo.tuning._tune import (
    TuneResult,
    default_study_name,
    meta_sampler_for,
    suggest_config,
    tune,
)

__all__ = ["TuneResult", "default_study_name", "meta_sampler_for", "suggest_config", "tune"]
