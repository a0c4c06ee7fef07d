"""Spaces layer: model families, their search spaces and estimator construction."""

from metahpo.spaces._estimator import EstimatorSpec, PreprocessingStep, estimator_spec
from metahpo.spaces._families import (
    FAMILIES,
    FAMILY_NAMES,
    build_estimator,
    encoded_width,
    get_family,
    get_space,
    sobol_design,
)
from metahpo.spaces._family import Bound, BuildContext, ModelFamily, check_config, check_space
from metahpo.spaces._space import Param, SearchSpace, UnitInterval, same_config
from metahpo.spaces._user import is_full_form, read_space_document

__all__ = [
    "FAMILIES",
    "FAMILY_NAMES",
    "Bound",
    "BuildContext",
    "EstimatorSpec",
    "ModelFamily",
    "Param",
    "PreprocessingStep",
    "SearchSpace",
    "UnitInterval",
    "build_estimator",
    "check_config",
    "check_space",
    "encoded_width",
    "estimator_spec",
    "get_family",
    "get_space",
    "is_full_form",
    "read_space_document",
    "same_config",
    "sobol_design",
]
