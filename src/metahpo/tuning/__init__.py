"""Python API for tuning: one function, one result record, the settings that define a run,
and the fitted model at the end (saved and loaded with skops).

The names are imported on first use: ``metahpo predict`` needs the model functions only, not
Optuna and the optimizers behind :func:`tune`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from metahpo.tuning._fidelity import FidelityPlan, plan_fidelity
    from metahpo.tuning._model import (
        TRUSTED_TYPES,
        ModelInfo,
        SavedModel,
        load_model,
    )
    from metahpo.tuning._options import check_options, check_seed
    from metahpo.tuning._parallel import resolve_workers, shared_storage_url
    from metahpo.tuning._result import TuneResult
    from metahpo.tuning._run import FIDELITY_ATTR, RunOutcome
    from metahpo.tuning._sampler import meta_sampler_for, suggest_config
    from metahpo.tuning._save import save_model
    from metahpo.tuning._settings import RunSettings
    from metahpo.tuning._tune import default_study_name, tune

#: Public names and the module that holds each.
_LAZY = {
    "meta_sampler_for": "metahpo.tuning._sampler",
    "suggest_config": "metahpo.tuning._sampler",
    "TRUSTED_TYPES": "metahpo.tuning._model",
    "ModelInfo": "metahpo.tuning._model",
    "SavedModel": "metahpo.tuning._model",
    "load_model": "metahpo.tuning._model",
    "save_model": "metahpo.tuning._save",
    "check_options": "metahpo.tuning._options",
    "check_seed": "metahpo.tuning._options",
    "resolve_workers": "metahpo.tuning._parallel",
    "shared_storage_url": "metahpo.tuning._parallel",
    "RunOutcome": "metahpo.tuning._run",
    "FIDELITY_ATTR": "metahpo.tuning._run",
    "FidelityPlan": "metahpo.tuning._fidelity",
    "plan_fidelity": "metahpo.tuning._fidelity",
    "RunSettings": "metahpo.tuning._settings",
    "TuneResult": "metahpo.tuning._result",
    "default_study_name": "metahpo.tuning._tune",
    "tune": "metahpo.tuning._tune",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'metahpo.tuning' has no attribute {name!r}")


__all__ = [
    "FIDELITY_ATTR",
    "TRUSTED_TYPES",
    "FidelityPlan",
    "ModelInfo",
    "RunOutcome",
    "RunSettings",
    "SavedModel",
    "TuneResult",
    "check_options",
    "check_seed",
    "default_study_name",
    "load_model",
    "meta_sampler_for",
    "plan_fidelity",
    "resolve_workers",
    "save_model",
    "shared_storage_url",
    "suggest_config",
    "tune",
]
