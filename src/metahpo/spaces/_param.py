"""One hyperparameter of a search space: its type, range or choices, scale and default."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from metahpo.errors import SpaceError

if TYPE_CHECKING:  # imported where used: reading a space or a model needs no Optuna
    import optuna.distributions as od

ParamKind = Literal["float", "int", "categorical"]
Choice = str | int | float | bool | None


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
        """Number of unit-cube coordinates (1, or one per choice for categoricals)."""
        return len(self.choices) if self.kind == "categorical" else 1

    def _fwd(self, v: float) -> float:
        return math.log(v) if self.log else v

    def to_unit(self, value: Any) -> float:
        """Position of a numeric value in ``[0, 1]`` (clipped)."""
        assert self.low is not None and self.high is not None
        lo, hi = self._fwd(self.low), self._fwd(self.high)
        v = min(max(float(value), self.low), self.high)
        return (self._fwd(v) - lo) / (hi - lo)

    def from_unit(self, u: float) -> Choice:
        """The value at position ``u`` of the unit interval (categoricals: index = u * k)."""
        u = min(max(float(u), 0.0), 1.0)
        if self.kind == "categorical":
            return self.choices[min(int(u * len(self.choices)), len(self.choices) - 1)]
        assert self.low is not None and self.high is not None
        lo, hi = self._fwd(self.low), self._fwd(self.high)
        x = lo + u * (hi - lo)
        v = math.exp(x) if self.log else x
        v = min(max(v, self.low), self.high)
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
