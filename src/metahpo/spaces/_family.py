"""What a model family is: its search spaces, its estimator factory and what it needs installed.

The parameter helpers below are shared by the built-in families (:mod:`._families`,
:mod:`._boost`).
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from sklearn.base import BaseEstimator

from metahpo._args import got, is_int, is_number
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
class Bound:
    """The values a parameter may take in a configuration, whatever its search range: the
    model's own domain (a user's space may widen the built-in range up to it).

    A parameter without a bound of its family's own takes :data:`POSITIVE` when its space is
    log-scaled, any finite number otherwise; a categorical one takes values of its choices'
    type (``choices_only``: its choices only, where metahpo maps them to the model's
    arguments, so that another value would be silently wrong).
    """

    low: float = -math.inf
    high: float = math.inf
    low_open: bool = False
    high_open: bool = False
    choices_only: bool = False

    def contains(self, v: float) -> bool:
        above = v > self.low if self.low_open else v >= self.low
        below = v < self.high if self.high_open else v <= self.high
        return above and below

    def text(self, whole: bool = False) -> str:
        """The interval in words: ``in (0, 1]``, ``above 0``, ``at least 1`` (``whole``:
        for a whole number, ``above 0`` is ``at least 1``)."""
        if whole and self.low_open and self.low == math.floor(self.low):
            return replace(self, low=self.low + 1, low_open=False).text()
        if math.isinf(self.high):
            return f"{'above' if self.low_open else 'at least'} {self.low:g}"
        left, right = "(" if self.low_open else "[", ")" if self.high_open else "]"
        return f"in {left}{self.low:g}, {self.high:g}{right}"


#: The bound of a log-scaled parameter without a bound of its own.
POSITIVE = Bound(0.0, low_open=True)
#: Zero or more (penalties whose log range's lower end stands for 0).
NON_NEGATIVE = Bound(0.0)
#: A fraction of rows or columns.
FRACTION = Bound(0.0, 1.0, low_open=True)
#: Only the choices of the built-in space.
CHOICES = Bound(choices_only=True)


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
    bounds: tuple[tuple[str, Bound], ...] = ()

    def bound(self, param: Param) -> Bound:
        """The values ``param`` may take (see :class:`Bound`)."""
        own = dict(self.bounds).get(param.name)
        if own is not None:
            return own
        return POSITIVE if param.log else Bound()

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


def _family(
    name: str,
    description: str,
    params: tuple[Param, ...],
    factory: Factory,
    *,
    scaled: bool,
    bounds: tuple[tuple[str, Bound], ...],
    regression: tuple[Param, ...] | None = None,
    requires: tuple[tuple[str, str, str], ...] = (),
) -> ModelFamily:
    """A built-in family: the space ``params`` for both tasks (``regression``: other ones for
    regression), features and target both standardised or neither (``scaled``)."""
    return ModelFamily(
        name,
        description,
        _space(name, "classification", params),
        _space(name, "regression", params if regression is None else regression),
        factory,
        scale_features=scaled,
        scale_target=scaled,
        requires=requires,
        bounds=bounds,
    )


#: Lower bound of a log-scaled penalty that stands for the library's 0 (set to 0 when built).
ZERO = 1e-6


def _zero(value: Any) -> float:
    """A penalty at :data:`ZERO` or below is the library's 0."""
    return 0.0 if float(value) <= ZERO else float(value)


def _among(value: Any, choices: tuple[Any, ...]) -> bool:
    """Whether ``value`` is one of ``choices`` (``True`` is not the choice 1)."""
    try:
        return any(type(c) is type(value) and bool(c == value) for c in choices) or any(
            not isinstance(c, bool) and not isinstance(value, bool) and bool(c == value)
            for c in choices
        )
    except (TypeError, ValueError):  # arrays and the like
        return False


def _same_kind(value: Any, choices: tuple[Any, ...]) -> bool:
    """Whether ``value`` is of the type of ``choices`` (all text, all booleans, all ints...)."""
    if all(isinstance(c, str) for c in choices):
        return isinstance(value, str)
    if all(isinstance(c, bool) for c in choices):
        return isinstance(value, bool)
    if all(is_int(c) for c in choices):
        return is_int(value)
    if all(is_number(c) for c in choices):
        return is_number(value)
    return True


def check_value(family: ModelFamily, param: Param, value: Any) -> None:
    """A :class:`SpaceError` naming the parameter and what it takes, unless ``value`` is a
    valid value of ``param`` (a parameter of ``family``'s space) for the model."""
    value = value.item() if hasattr(value, "item") and getattr(value, "ndim", None) == 0 else value
    where = f"{family.name} parameter {param.name!r}"
    bound = family.bound(param)
    whole = param.kind == "int" or all(is_int(c) for c in param.choices or (0.5,))
    limits = bound.text(whole)
    if param.kind == "categorical":
        if _among(value, param.choices):
            return
        shown = ", ".join(map(repr, param.choices))
        if bound.choices_only or not _same_kind(value, param.choices):
            raise SpaceError(f"{where} must be one of {shown}, got {got(value)}")
        if not is_number(value):
            return  # text the model itself checks (e.g. another activation)
    elif not is_number(value):
        kind = "an int" if param.kind == "int" else "a number"
        raise SpaceError(f"{where} must be {kind} ({limits}), got {got(value)}")
    v = float(value)
    if not math.isfinite(v):
        raise SpaceError(f"{where} must be a finite number ({limits}), got {got(value)}")
    if param.kind == "int" and v != math.floor(v):
        raise SpaceError(f"{where} must be a whole number, got {value!r}")
    if not bound.contains(v):
        raise SpaceError(f"{where} must be {limits}, got {value!r}")


def check_config(family: ModelFamily, space: SearchSpace, config: Any) -> None:
    """Every value that ``config`` gives a parameter of ``space`` (``family``'s built-in
    space) is valid for the model (:func:`check_value`)."""
    if not isinstance(config, Mapping):
        raise SpaceError(
            f"a {family.name} configuration must be a dict of parameter values, got {got(config)}"
        )
    for param in space.params:
        if param.name in config:
            check_value(family, param, config[param.name])


def check_space(family: ModelFamily, space: SearchSpace) -> None:
    """The range (or choices) of every parameter of a user's ``space`` that the family's
    built-in space has stays within what the model takes."""
    builtin = {p.name: p for p in family.space(space.task).params}
    for param in space.params:
        own = builtin.get(param.name)
        if own is None:
            continue
        values = param.choices if param.kind == "categorical" else (param.low, param.high)
        try:
            for value in values:
                check_value(family, own, value)
        except SpaceError as exc:
            raise SpaceError(f"search space: {exc}") from None
