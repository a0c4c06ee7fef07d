"""What a model family is: its search spaces, its estimator factory and what it needs installed.

The parameter helpers below are shared by the built-in families (:mod:`._families`,
:mod:`._boost`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sklearn.base import BaseEstimator

from metahpo.errors import SpaceError
from metahpo.spaces._space import Param, SearchSpace


@dataclass(frozen=True)
class BuildContext:
    """What an estimator factory may know about the data (the training schema only)."""

    task: str
    n_features: int
    n_rows: int
    seed: int
    needs_proba: bool = False


Factory = Callable[[Mapping[str, Any], BuildContext], BaseEstimator]


@dataclass(frozen=True)
class ModelFamily:
    """A model family: one search space per task type and a factory for the estimator.

    Attributes:
        requires: Modules the factory imports, each with the package and extra that bring
            it, as ``(module, package, extra)``; the spaces never need them, only building an
            estimator does (see :meth:`check_available`).
    """

    name: str
    description: str
    classification: SearchSpace
    regression: SearchSpace
    factory: Factory
    scale_features: bool
    scale_target: bool
    requires: tuple[tuple[str, str, str], ...] = ()

    def space(self, task: str) -> SearchSpace:
        if task == "classification":
            return self.classification
        if task == "regression":
            return self.regression
        raise SpaceError(f"unknown task {task!r}")

    def check_available(self) -> None:
        """Raise :class:`SpaceError` (one line naming the extra) if a required module is
        missing; the import is the real one, so a broken install is caught too."""
        for module, package, extra in self.requires:
            try:
                importlib.import_module(module)
            except (ImportError, OSError) as exc:
                why = "not installed" if isinstance(exc, ModuleNotFoundError) else "broken"
                raise SpaceError(
                    f"model family {self.name!r} needs {package} ({why}): "
                    f"pip install 'metahpo[{extra}]'"
                ) from None


def _f(
    name: str, low: float, high: float, default: float, log: bool = True, doc: str = ""
) -> Param:
    return Param(name, "float", low=low, high=high, log=log, default=default, doc=doc)


def _i(name: str, low: int, high: int, default: int, log: bool = True, doc: str = "") -> Param:
    return Param(name, "int", low=low, high=high, log=log, default=default, doc=doc)


def _c(name: str, choices: tuple[Any, ...], default: Any) -> Param:
    return Param(name, "categorical", choices=choices, default=default)


def _space(family: str, task: str, params: tuple[Param, ...]) -> SearchSpace:
    return SearchSpace(family, task, params, version=1)


#: Lower bound of a log-scaled penalty that stands for the library's 0 (set to 0 when built).
ZERO = 1e-6


def _zero(value: Any) -> float:
    """A penalty at :data:`ZERO` or below is the library's 0."""
    return 0.0 if float(value) <= ZERO else float(value)
