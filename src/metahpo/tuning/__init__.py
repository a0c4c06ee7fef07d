"""Python API for tuning: one function, one result record."""

from metahpo.tuning._tune import TuneResult, default_study_name, meta_sampler_for, tune

__all__ = ["TuneResult", "default_study_name", "meta_sampler_for", "tune"]
