"""Search spaces: typed hyperparameters with ranges, scales, a default and a stable signature.

A configuration is a plain ``dict`` from parameter name to value. Every space maps
configurations to and from the unit cube ``[0, 1]^d`` (log-scaled where the parameter is), which is
the coordinate system meta-learners work in: it is what makes experience from one run usable in
another run whose ranges differ.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import optuna.distributions as od

from metahpo.errors import SpaceError

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
                raise SpaceError(f"parameter {self.name!r}: default not among the choices")
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
            return cls(name, "categorical", choices=choices, default=d.get("default", None))
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


def _same_choice(value: Any, choice: Choice) -> bool:
    """Equality that keeps ``True`` and ``1`` apart (categorical choices may mix them)."""
    return isinstance(value, bool) == isinstance(choice, bool) and bool(value == choice)


@dataclass(frozen=True)
class SearchSpace:
    """A named, versioned set of hyperparameters for one model family and task type.

    Attributes:
        family: Model family name (``"hgb"``, ``"rf"``, ...).
        task: ``"classification"`` or ``"regression"``.
        params: The hyperparameters, in a fixed order.
        version: Bumped whenever the meaning of a configuration changes.
    """

    family: str
    task: str
    params: tuple[Param, ...]
    version: int = 1
    _by_name: dict[str, Param] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        names = [p.name for p in self.params]
        if len(set(names)) != len(names):
            raise SpaceError(f"space {self.family}: duplicate parameter names")
        if not self.params:
            raise SpaceError(f"space {self.family}: no parameters")
        self._by_name.update({p.name: p for p in self.params})

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.params]

    def __getitem__(self, name: str) -> Param:
        return self._by_name[name]

    @property
    def signature(self) -> str:
        """``family/task/vN/hash``: equal for spaces whose configurations mean the same."""
        body = json.dumps([p.to_dict() for p in self.params], sort_keys=True)
        digest = hashlib.sha256(body.encode()).hexdigest()[:10]
        return f"{self.family}/{self.task}/v{self.version}/{digest}"

    def default_config(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}

    def distributions(self) -> dict[str, od.BaseDistribution]:
        """Optuna distributions, for ``trial.suggest_*`` or ``create_trial``."""
        return {p.name: p.to_optuna() for p in self.params}

    def validate(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """Check that ``config`` has exactly this space's parameters, each in range."""
        unknown = sorted(set(config) - set(self.names))
        missing = sorted(set(self.names) - set(config))
        if unknown or missing:
            raise SpaceError(
                f"configuration for {self.family}: unknown {unknown or '-'}, "
                f"missing {missing or '-'}"
            )
        out: dict[str, Any] = {}
        for p in self.params:
            v = config[p.name]
            if p.kind == "categorical":
                if v not in p.choices:
                    raise SpaceError(f"{p.name}={v!r} is not one of {list(p.choices)}")
            else:
                assert p.low is not None and p.high is not None
                if not isinstance(v, int | float) or not p.low <= v <= p.high:
                    raise SpaceError(f"{p.name}={v!r} is outside [{p.low}, {p.high}]")
            out[p.name] = v
        return out

    def transfer(self, config: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
        """Adapt a configuration from another version of this space.

        Parameters are matched by name; values are clipped to the new range (categoricals not
        among the choices fall back to the default), missing parameters get the default and
        unknown ones are dropped. Returns the configuration and a list of what was changed.
        """
        changes: list[str] = []
        out: dict[str, Any] = {}
        for p in self.params:
            if p.name not in config:
                out[p.name] = p.default
                changes.append(f"{p.name}: missing, default {p.default!r}")
                continue
            v = p.clip(config[p.name])
            if v != config[p.name]:
                changes.append(f"{p.name}: {config[p.name]!r} -> {v!r}")
            out[p.name] = v
        for extra in sorted(set(config) - set(self.names)):
            changes.append(f"{extra}: not in the space, dropped")
        return out, changes

    # -- unit cube ------------------------------------------------------------------------
    @property
    def dim(self) -> int:
        """Number of sampling dimensions (one per parameter)."""
        return len(self.params)

    def from_unit(self, u: Sequence[float] | np.ndarray) -> dict[str, Any]:
        """Configuration at point ``u`` of ``[0, 1]^dim`` (one coordinate per parameter)."""
        if len(u) != self.dim:
            raise SpaceError(f"expected {self.dim} coordinates, got {len(u)}")
        return {p.name: p.from_unit(x) for p, x in zip(self.params, u, strict=True)}

    @property
    def encoded_dim(self) -> int:
        """Width of :meth:`encode` (categoricals are one-hot)."""
        return sum(p.width for p in self.params)

    def encode(self, config: Mapping[str, Any]) -> np.ndarray:
        """Numeric vector in ``[0, 1]^encoded_dim`` for meta-learners (one-hot categoricals).

        Parameters the configuration lacks take the default; values are clipped to the range.
        """
        vec: list[float] = []
        for p in self.params:
            v = p.clip(config.get(p.name, p.default))
            if p.kind == "categorical":
                vec.extend(1.0 if v == c else 0.0 for c in p.choices)
            else:
                vec.append(p.to_unit(v))
        return np.asarray(vec, dtype=np.float64)

    def encode_columns(self, columns: Mapping[str, np.ndarray], n: int) -> np.ndarray:
        """Vectorised :meth:`encode` of ``n`` configurations given column-wise.

        ``columns`` maps a parameter name to an array of ``n`` values (``nan`` or ``None``
        where a configuration lacks the parameter); absent parameters take the default.
        """
        blocks: list[np.ndarray] = []
        for p in self.params:
            col = columns.get(p.name)
            if p.kind == "categorical":
                values = np.full(n, p.default, dtype=object) if col is None else col.astype(object)
                onehot = np.zeros((n, p.width))
                matched = np.zeros(n, dtype=bool)
                for k, choice in enumerate(p.choices):
                    hit = np.fromiter(
                        (_same_choice(v, choice) for v in values), dtype=bool, count=n
                    )
                    onehot[hit & ~matched, k] = 1.0
                    matched |= hit
                onehot[~matched, p.choices.index(p.default)] = 1.0
                blocks.append(onehot)
                continue
            assert p.low is not None and p.high is not None
            v = np.full(n, float(p.default)) if col is None else np.asarray(col, dtype=float)  # type: ignore[arg-type]
            v = np.where(np.isfinite(v), v, float(p.default))  # type: ignore[arg-type]
            v = np.clip(v, p.low, p.high)
            lo, hi = p.low, p.high
            if p.log:
                v, lo, hi = np.log(v), math.log(lo), math.log(hi)
            blocks.append(((v - lo) / (hi - lo))[:, None])
        return np.hstack(blocks) if blocks else np.zeros((n, 0))

    def decode(self, vec: Sequence[float] | np.ndarray) -> dict[str, Any]:
        """Inverse of :meth:`encode` (arg-max for categoricals, rounding for integers)."""
        if len(vec) != self.encoded_dim:
            raise SpaceError(f"expected {self.encoded_dim} coordinates, got {len(vec)}")
        out: dict[str, Any] = {}
        i = 0
        for p in self.params:
            if p.kind == "categorical":
                out[p.name] = p.choices[int(np.argmax(vec[i : i + p.width]))]
            else:
                out[p.name] = p.from_unit(float(vec[i]))
            i += p.width
        return out

    # -- serialisation ----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "family": self.family,
            "task": self.task,
            "version": self.version,
            "params": [p.to_dict() for p in self.params],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SearchSpace:
        try:
            params = tuple(Param.from_dict(x) for x in d["params"])
            return cls(str(d["family"]), str(d["task"]), params, int(d.get("version", 1)))
        except KeyError as exc:
            raise SpaceError(f"search space JSON lacks {exc.args[0]!r}") from None
        except TypeError as exc:
            raise SpaceError(f"search space JSON is malformed ({exc})") from None

    @classmethod
    def from_json(cls, text_or_path: str | Path) -> SearchSpace:
        """Read a space from JSON text or a ``.json`` file."""
        text = str(text_or_path)
        if not text.lstrip().startswith("{"):
            path = Path(text)
            if not path.exists():
                raise SpaceError(f"{path}: no such search space file")
            text = path.read_text(encoding="utf-8")
        try:
            return cls.from_dict(json.loads(text))
        except json.JSONDecodeError as exc:
            raise SpaceError(
                f"search space is not valid JSON ({exc.msg}, line {exc.lineno})"
            ) from None
