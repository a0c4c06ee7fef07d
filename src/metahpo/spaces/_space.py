"""Search spaces: typed hyperparameters with ranges, scales, a default and a stable signature.

A configuration is a plain ``dict`` from parameter name to value. Every space maps
configurations to and from the unit cube ``[0, 1]^d`` (log-scaled where the parameter is), which is
the coordinate system meta-learners work in: it is what makes experience from one run usable in
another run whose ranges differ.

This is the one place that maps values to coordinates and back (the samplers move in these
coordinates; none maps values itself). Two forms of the same map:

- the unit cube, :meth:`SearchSpace.to_unit` / :meth:`SearchSpace.from_unit`, one coordinate
  per parameter (:attr:`SearchSpace.dim`): a number's position in its range
  (:class:`UnitInterval`: ``low`` at 0, ``high`` at 1, an integer rounded to the nearest), a
  categorical's the middle of its choice's cell, ``(i + 0.5) / k`` for choice ``i`` of ``k``
  (any coordinate in the cell maps back to the choice);
- the encoding, :meth:`SearchSpace.encode` / :meth:`SearchSpace.decode`, the same numbers but
  each categorical one-hot (:attr:`SearchSpace.encoded_dim`): the rows of the experience and
  the inputs of every model. :meth:`SearchSpace.units_of_encoded` maps encoded rows to the
  unit cube.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from metahpo.errors import SpaceError
from metahpo.spaces._param import Choice, Param, ParamKind, UnitInterval

if TYPE_CHECKING:  # imported where used: reading a space or a model needs no Optuna
    import optuna.distributions as od

__all__ = ["Choice", "Param", "ParamKind", "SearchSpace", "UnitInterval"]


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

    def to_unit(self, config: Mapping[str, Any]) -> np.ndarray:
        """The point of ``config`` in ``[0, 1]^dim`` (:meth:`Param.to_unit` of each parameter;
        one the configuration lacks at its default)."""
        return np.array(
            [p.to_unit(config.get(p.name, p.default)) for p in self.params], dtype=float
        )

    def from_unit(self, u: Sequence[float] | np.ndarray) -> dict[str, Any]:
        """Configuration at point ``u`` of ``[0, 1]^dim`` (one coordinate per parameter)."""
        if len(u) != self.dim:
            raise SpaceError(f"expected {self.dim} coordinates, got {len(u)}")
        return {p.name: p.from_unit(x) for p, x in zip(self.params, u, strict=True)}

    def units_of_encoded(self, X: np.ndarray) -> np.ndarray:
        """The unit-cube points (shape ``(n, dim)``) of rows of :meth:`encode` (shape
        ``(n, encoded_dim)``): numbers as they are, a categorical the middle of the cell of
        its largest one-hot column."""
        cols, at = [], 0
        for p in self.params:
            if p.kind == "categorical":
                k = len(p.choices)
                cols.append((np.argmax(X[:, at : at + k], axis=1) + 0.5) / k)
            else:
                cols.append(X[:, at])
            at += p.width
        return np.column_stack(cols).astype(float)

    @property
    def encoded_dim(self) -> int:
        """Width of :meth:`encode` (categoricals are one-hot)."""
        return sum(p.width for p in self.params)

    def encode(self, config: Mapping[str, Any]) -> np.ndarray:
        """Numeric vector in ``[0, 1]^encoded_dim`` for meta-learners (one-hot categoricals).

        Parameters the configuration lacks take the default; values are clipped to the range,
        a categorical value not among the choices counts as the default, and names the space
        does not have are ignored: a configuration of another version of the space encodes as
        its :meth:`transfer` into this one does.
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
            blocks.append(p.interval.to_unit(np.clip(v, p.low, p.high))[:, None])
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
    def from_json(cls, text_or_path: str | Path, base: SearchSpace | None = None) -> SearchSpace:
        """Read a space from JSON text or a ``.json`` file, in the full form (as
        :meth:`to_json` writes it) or the short form ``{"param": [low, high], "other": ["a",
        "b"]}``, which needs ``base``, the family's built-in space for the task (see
        :mod:`metahpo.spaces._user`).

        Raises:
            SpaceError: For anything that is not a valid space, in one line.
        """
        from metahpo.spaces._user import read_space_document

        return cls.from_document(read_space_document(text_or_path), base)

    @classmethod
    def from_document(
        cls, document: Mapping[str, Any], base: SearchSpace | None = None
    ) -> SearchSpace:
        """The space a JSON object describes (:meth:`from_json`, read already)."""
        from metahpo.spaces._user import space_parts

        try:
            known = None if base is None else (base.family, base.task, base.params, base.version)
            family, task, params, version = space_parts(document, known)
            return cls(family, task, params, version)
        except SpaceError:
            raise
        except (TypeError, ValueError, AttributeError, OverflowError) as exc:
            detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise SpaceError(f"search space JSON is malformed ({detail})") from None


#: Relative tolerance under which two numbers of a configuration are the same value (a
#: round trip through a log scale or a unit cube changes 0.1 into 0.10000000000000002).
SAME_VALUE_RTOL = 1e-9


def same_config(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Whether configurations ``a`` and ``b`` name the same parameters with the same values,
    numbers compared to a relative :data:`SAME_VALUE_RTOL` (they train the same model)."""
    if a.keys() != b.keys():
        return False
    for name, x in a.items():
        y = b[name]
        if _number(x) and _number(y):
            if not math.isclose(float(x), float(y), rel_tol=SAME_VALUE_RTOL, abs_tol=1e-300):
                return False
        elif x != y:
            return False
    return True


def _number(v: Any) -> bool:
    return isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool)
