"""One hyperparameter of a search space: its type, range or choices, scale and default."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

import numpy as np

from metahpo.errors import SpaceError

if TYPE_CHECKING:  # imported where used: reading a space or a model needs no Optuna
    import optuna.distributions as od

ParamKind = Literal["float", "int", "categorical"]
Choice = str | int | float | bool | None
_X = TypeVar("_X", float, np.ndarray)


def _log(x: _X) -> _X:
    """``log``: of a Python float by :mod:`math`, of a numpy array or scalar by numpy."""
    return cast(_X, np.log(x)) if isinstance(x, np.ndarray | np.generic) else math.log(x)


def _exp(x: _X) -> _X:
    """``exp``, likewise."""
    return cast(_X, np.exp(x)) if isinstance(x, np.ndarray | np.generic) else math.exp(x)


@dataclass(frozen=True)
class UnitInterval:
    """The one map between a numeric range and the unit interval ``[0, 1]``.

    Linear in the value, or in its logarithm where ``log``. Without a ``step``, ``low`` maps to
    0 and ``high`` to 1: the encoding of every numeric :class:`Param` (integers included, their
    end values owning half a cell). With a ``step`` (a grid ``low, low + step, ..., high``) the
    range is widened by half a step on each side, so that every grid value owns a cell of equal
    width: the option :class:`~metahpo.optimizers.research.GPEISampler` uses for Optuna's
    integer and stepped distributions, as Optuna's own GP sampler does.

    Each method takes a float or an array: Python floats are mapped with :mod:`math`, numpy
    arrays and scalars with numpy, element by element alike.
    """

    low: float
    high: float
    log: bool = False
    step: float = 0.0

    def __post_init__(self) -> None:
        lo, hi = self.low - 0.5 * self.step, self.high + 0.5 * self.step
        if not (self.step >= 0.0 and lo < hi and (lo > 0.0 or not self.log)):
            raise SpaceError(
                f"unit interval [{self.low}, {self.high}] (step {self.step}): needs low < high "
                "(or a step), and low - step / 2 > 0 on a log scale"
            )

    @property
    def ends(self) -> tuple[float, float]:
        """The (log-scaled where ``log``) values that map to 0 and 1."""
        lo, hi = self.low - 0.5 * self.step, self.high + 0.5 * self.step
        return (math.log(lo), math.log(hi)) if self.log else (lo, hi)

    def to_unit(self, value: _X) -> _X:
        """The coordinate of ``value`` (not clipped)."""
        lo, hi = self.ends
        v = _log(value) if self.log else value
        return (v - lo) / (hi - lo)

    def from_unit(self, u: _X) -> _X:
        """The value at coordinate ``u`` (before clipping and rounding)."""
        lo, hi = self.ends
        x = lo + u * (hi - lo)
        return _exp(x) if self.log else x

    def snap(self, u: np.ndarray) -> np.ndarray:
        """Coordinates moved to the grid's nearest value's coordinate (no step: unchanged)."""
        if self.step == 0.0:
            return u
        step, low = self.step, self.low
        v = np.clip((self.from_unit(u) - low + 0.5 * step) // step * step + low, low, self.high)
        return self.to_unit(v)


@dataclass(frozen=True)
class Param:
    """One hyperparameter.

    Attributes:
        name: Name, as the estimator factory and Optuna see it.
        kind: ``"float"``, ``"int"`` or ``"categorical"``.
        low, high: Inclusive bounds (numeric kinds).
        log: Sample and normalise on a log scale (numeric kinds, ``low > 0``).
        choices: The values of a categorical parameter.
        default: The value used by the library default configuration.
        doc: One line on what the parameter means when it differs from the estimator's own.
    """

    name: str
    kind: ParamKind
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: tuple[Choice, ...] = ()
    default: Choice = None
    doc: str = ""

    def __post_init__(self) -> None:
        if self.kind in ("float", "int"):
            if self.low is None or self.high is None or not self.low < self.high:
                raise SpaceError(f"parameter {self.name!r}: needs low < high")
            if not (math.isfinite(self.low) and math.isfinite(self.high)):
                raise SpaceError(f"parameter {self.name!r}: low and high must be finite")
            if self.log and self.low <= 0:
                raise SpaceError(f"parameter {self.name!r}: a log scale needs low > 0")
            if not isinstance(self.default, int | float) or not (
                self.low <= float(self.default) <= self.high
            ):
                raise SpaceError(
                    f"parameter {self.name!r}: default {self.default!r} is outside "
                    f"[{self.low}, {self.high}]"
                )
        elif self.kind == "categorical":
            if len(self.choices) < 2:
                raise SpaceError(f"parameter {self.name!r}: a categorical needs >= 2 choices")
            if self.default not in self.choices:
                raise SpaceError(
                    f"parameter {self.name!r}: default {self.default!r} is not among the "
                    f"choices {list(self.choices)!r}"
                )
        else:
            raise SpaceError(f"parameter {self.name!r}: unknown kind {self.kind!r}")

    # -- unit-cube coordinates -------------------------------------------------------------
    @property
    def width(self) -> int:
        """Number of :meth:`SearchSpace.encode` coordinates (1, or one per choice for
        categoricals, one-hot)."""
        return len(self.choices) if self.kind == "categorical" else 1

    @cached_property
    def interval(self) -> UnitInterval:
        """The map of a numeric parameter's range to ``[0, 1]`` (no step: ``low`` at 0,
        ``high`` at 1, on the log scale where ``log``)."""
        if self.low is None or self.high is None:
            raise SpaceError(f"parameter {self.name!r}: a categorical has no interval")
        return UnitInterval(self.low, self.high, self.log)

    def to_unit(self, value: Any) -> float:
        """The coordinate of ``value`` in ``[0, 1]``: a number's position in the range
        (clipped to it); a categorical's the middle of its choice's cell, ``(i + 0.5) / k``
        for choice ``i`` of ``k`` (a value not among them: the first cell's)."""
        if self.kind == "categorical":
            k = len(self.choices)
            idx = next((i for i, c in enumerate(self.choices) if c == value), 0)
            return (idx + 0.5) / k
        assert self.low is not None and self.high is not None
        return self.interval.to_unit(min(max(float(value), self.low), self.high))

    def from_unit(self, u: float) -> Choice:
        """The value at coordinate ``u`` (clipped to ``[0, 1]``): a categorical's choice
        ``int(u * k)`` (its cell), an integer's value rounded to the nearest."""
        u = min(max(float(u), 0.0), 1.0)
        if self.kind == "categorical":
            return self.choices[min(int(u * len(self.choices)), len(self.choices) - 1)]
        assert self.low is not None and self.high is not None
        v = min(max(self.interval.from_unit(u), self.low), self.high)
        if self.kind == "int":
            return int(min(max(round(v), math.ceil(self.low)), math.floor(self.high)))
        return float(v)

    def clip(self, value: Any) -> Choice:
        """The nearest valid value (used to transfer configurations between spaces)."""
        if self.kind == "categorical":
            if value in self.choices:
                return value  # type: ignore[no-any-return]
            return self.default
        try:
            v = float(value)
        except (TypeError, ValueError):
            return self.default
        if not math.isfinite(v):
            return self.default
        assert self.low is not None and self.high is not None
        v = min(max(v, self.low), self.high)
        return round(v) if self.kind == "int" else v

    def to_optuna(self) -> od.BaseDistribution:
        import optuna.distributions as od

        if self.kind == "categorical":
            return od.CategoricalDistribution(list(self.choices))
        assert self.low is not None and self.high is not None
        if self.kind == "int":
            return od.IntDistribution(int(self.low), int(self.high), log=self.log)
        return od.FloatDistribution(float(self.low), float(self.high), log=self.log)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"name": self.name, "kind": self.kind, "default": self.default}
        if self.kind == "categorical":
            d["choices"] = list(self.choices)
        else:
            d.update(low=self.low, high=self.high, log=self.log)
        if self.doc:
            d["doc"] = self.doc
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Param:
        try:
            kind = d["kind"]
            name = str(d["name"])
        except KeyError as exc:
            raise SpaceError(f"parameter entry {dict(d)!r} lacks {exc.args[0]!r}") from None
        if kind == "categorical":
            choices = tuple(d.get("choices", ()))
            # without a default, the first choice (a user space need not name one)
            default = d["default"] if "default" in d else (choices[0] if choices else None)
            return cls(name, "categorical", choices=choices, default=default)
        low, high = d.get("low"), d.get("high")
        default = d.get("default", low)
        if kind == "int":
            low = int(low) if low is not None else None
            high = int(high) if high is not None else None
            default = int(default) if default is not None else None
        return cls(
            name,
            kind,
            low=low,
            high=high,
            log=bool(d.get("log", False)),
            default=default,
            doc=str(d.get("doc", "")),
        )
