"""A configuration as plain scikit-learn: the model's class and its arguments for one dataset.

Configurations are in metahpo's own encoding: some parameters are relative to the data
(``rf.max_features_exp``, ``svm.gamma_scale``), some are split (``mlp.width`` and ``depth``), and
some are capped by the data (``knn.n_neighbors``). :func:`estimator_spec` does not translate them
a second time: it builds the pipeline exactly as evaluation does (:func:`build_estimator`) and
reads the model's class, its arguments and the preprocessing steps back from that pipeline, so
``spec.make()`` (or pasting ``spec.snippet()``) gives the estimator metahpo evaluated.
"""

from __future__ import annotations

import importlib
import inspect
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sklearn
from sklearn.base import BaseEstimator
from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
from sklearn.pipeline import Pipeline

from metahpo._args import check_int, got
from metahpo.datasets import Dataset
from metahpo.errors import SpaceError
from metahpo.spaces._families import build_estimator, get_family
from metahpo.spaces._family import ModelFamily


@dataclass(frozen=True)
class PreprocessingStep:
    """One preprocessing step of the pipeline, as a class path and its arguments.

    Attributes:
        name: Where the step sits, ``group/step`` (``num/impute``, ``num/scale``, ``cat``) or
            ``target`` for the transformation of a regression target.
        estimator: Import path of the transformer (``sklearn.preprocessing.StandardScaler``).
        params: Its arguments that differ from scikit-learn's defaults.
        columns: The columns it applies to (after metahpo's cleaning of the table); empty for
            the target.
    """

    name: str
    estimator: str
    params: dict[str, Any]
    columns: tuple[str, ...] = ()

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "step": self.name,
            "estimator": self.estimator,
            "params": json_safe(self.params),
            "columns": list(self.columns),
        }


@dataclass(frozen=True)
class EstimatorSpec:
    """A configuration resolved for one dataset: the scikit-learn model metahpo fits.

    Attributes:
        family: The model family.
        task: ``"classification"`` or ``"regression"``.
        estimator: Import path of the model class (``sklearn.ensemble.RandomForestClassifier``).
        params: The model's arguments that differ from scikit-learn's defaults, resolved for the
            dataset (``max_features`` as a fraction, ``hidden_layer_sizes`` as a tuple, ...).
        preprocessing: The steps before the model (imputation, scaling, one-hot encoding).
        target_transform: The transformation of a regression target (scale-sensitive families
            standardise it), or ``None``.
    """

    family: str
    task: str
    estimator: str
    params: dict[str, Any]
    preprocessing: tuple[PreprocessingStep, ...]
    target_transform: PreprocessingStep | None = None

    @property
    def class_name(self) -> str:
        return self.estimator.rsplit(".", 1)[-1]

    def import_line(self) -> str:
        """``from MODULE import CLASS`` for the model class."""
        module, name = self.estimator.rsplit(".", 1)
        return f"from {module} import {name}"

    def snippet(self) -> str:
        """One line of Python that constructs the model (after :meth:`import_line`)."""
        args = ", ".join(f"{k}={python_literal(v)}" for k, v in self.params.items())
        return f"{self.class_name}({args})"

    def make(self) -> BaseEstimator:
        """A new, unfitted instance of the model (without the preprocessing)."""
        module, name = self.estimator.rsplit(".", 1)
        cls = getattr(importlib.import_module(module), name)
        model: BaseEstimator = cls(**self.params)
        return model

    def pipeline_note(self) -> str:
        """The preprocessing in one line (``num: SimpleImputer -> StandardScaler (4 columns)``)."""
        groups: dict[str, list[str]] = {}
        widths: dict[str, int] = {}
        for step in self.preprocessing:
            group = step.name.split("/", 1)[0]
            groups.setdefault(group, []).append(step.estimator.rsplit(".", 1)[-1])
            widths[group] = len(step.columns)
        parts = [
            f"{group}: {' -> '.join(names)} ({widths[group]} columns)"
            for group, names in groups.items()
        ]
        if self.target_transform is not None:
            parts.append(f"target: {self.target_transform.estimator.rsplit('.', 1)[-1]}")
        return "; ".join(parts)

    def to_json_dict(self) -> dict[str, Any]:
        """Plain JSON types only (tuples become lists)."""
        return {
            "estimator": self.estimator,
            "estimator_params": json_safe(self.params),
            "pipeline": [s.to_json_dict() for s in self.preprocessing],
            "target_transform": (
                None if self.target_transform is None else self.target_transform.to_json_dict()
            ),
            "pipeline_note": self.pipeline_note(),
            "snippet": self.snippet(),
            "sklearn_version": sklearn.__version__,
        }


def estimator_spec(
    family: str | ModelFamily,
    config: Mapping[str, Any],
    dataset: Dataset,
    *,
    seed: int = 0,
    needs_proba: bool = False,
) -> EstimatorSpec:
    """The scikit-learn model (class and arguments) and preprocessing of a configuration.

    Args:
        family: A family name or :class:`ModelFamily`.
        config: A configuration, as :func:`build_estimator` takes it.
        dataset: The dataset the configuration is resolved for (its schema and size:
            ``max_features``, ``gamma``, ``n_neighbors`` depend on them).
        seed: The model's ``random_state``.
        needs_proba: As in :func:`build_estimator` (SVC's ``probability``).

    Returns:
        An :class:`EstimatorSpec` read back from the pipeline :func:`build_estimator` makes,
        so ``spec.make()`` equals that pipeline's model.

    Raises:
        SpaceError: A configuration the model cannot take, in one line naming the parameter
            and what it takes: as :func:`build_estimator` checks it, and the model's other
            arguments as scikit-learn checks them when fitting.
    """
    if not isinstance(dataset, Dataset):
        raise SpaceError(
            f"estimator_spec: 'dataset' must be a Dataset (load_dataset(...)), got {got(dataset)}"
        )
    check_int(seed, "estimator_spec: 'seed'", low=0, high=2**32 - 1)
    if not isinstance(family, str | ModelFamily):
        raise SpaceError(f"estimator_spec: 'family' must be a family name, got {got(family)}")
    fam = get_family(family) if isinstance(family, str) else family
    built = build_estimator(fam, config, dataset, seed=seed, needs_proba=needs_proba)
    _check_arguments(fam.name, built)
    target: PreprocessingStep | None = None
    pipe = built
    if isinstance(built, TransformedTargetRegressor):
        target = _step("target", built.transformer, ())
        pipe = built.regressor
    if not isinstance(pipe, Pipeline):  # a bare model: no preprocessing
        path = class_path(type(pipe))
        return EstimatorSpec(fam.name, dataset.task, path, _args(pipe), (), target)
    *before, (_, model) = pipe.steps
    steps: list[PreprocessingStep] = []
    for name, transformer in before:
        steps.extend(_steps(name, transformer, tuple(dataset.X.columns)))
    return EstimatorSpec(
        fam.name, dataset.task, class_path(_public(type(model))), _args(model), tuple(steps), target
    )


def _check_arguments(family: str, built: Any) -> None:
    """The model's arguments as scikit-learn checks them when fitting (its parameter
    constraints), checked now: a spec is shown, not fitted."""
    from sklearn.utils._param_validation import InvalidParameterError

    model = built.regressor if isinstance(built, TransformedTargetRegressor) else built
    model = model.steps[-1][1] if isinstance(model, Pipeline) else model
    if not hasattr(type(model), "_parameter_constraints"):
        return  # LightGBM, XGBoost: checked when fitted
    try:
        model._validate_params()
    except InvalidParameterError as exc:
        first = str(exc).strip().splitlines()[0]
        raise SpaceError(f"{family}: {first}") from None


def _steps(name: str, transformer: Any, columns: tuple[str, ...]) -> list[PreprocessingStep]:
    if isinstance(transformer, ColumnTransformer):
        out: list[PreprocessingStep] = []
        for group, inner, cols in transformer.transformers:
            if isinstance(inner, str):  # "drop" / "passthrough"
                continue
            out.extend(_steps(group, inner, tuple(str(c) for c in cols)))
        return out
    if isinstance(transformer, Pipeline):
        return [_step(f"{name}/{sub}", t, columns) for sub, t in transformer.steps]
    return [_step(name, transformer, columns)]


def _step(name: str, transformer: Any, columns: tuple[str, ...]) -> PreprocessingStep:
    return PreprocessingStep(name, class_path(type(transformer)), _args(transformer), columns)


def class_path(cls: type) -> str:
    """The shortest public import path of ``cls`` (``sklearn.svm.SVC``, not its private module)."""
    parts = cls.__module__.split(".")
    for i in range(1, len(parts) + 1):
        if parts[i - 1].startswith("_"):
            break
        module = ".".join(parts[:i])
        try:
            if getattr(importlib.import_module(module), cls.__name__, None) is cls:
                return f"{module}.{cls.__name__}"
        except ImportError:  # pragma: no cover - the class's own package imports
            break
    return f"{cls.__module__}.{cls.__name__}"


def _public(cls: type) -> type:
    """The class a user constructs for ``cls``: itself, or the library class a metahpo wrapper
    stands for (its ``public_class``, e.g. XGBoost's classifier behind metahpo's label
    encoding)."""
    return getattr(cls, "public_class", cls)


def _args(estimator: Any) -> dict[str, Any]:
    """The estimator's constructor arguments that differ from their defaults, in plain types
    (defaults read from a fresh instance of its public class where that constructs, so that
    libraries whose constructors take ``**kwargs`` report only what was set)."""
    cls = _public(type(estimator))
    try:
        defaults = dict(cls().get_params(deep=False))
    except Exception:  # a class that needs arguments: its signature's defaults
        defaults = {
            name: p.default
            for name, p in inspect.signature(cls).parameters.items()
            if p.default is not inspect.Parameter.empty
        }
    out: dict[str, Any] = {}
    for name, value in estimator.get_params(deep=False).items():
        value = _native(value)
        if name in defaults and _same(value, defaults[name]):
            continue
        out[name] = value
    return out


def _native(value: Any) -> Any:
    """NumPy scalars as Python scalars (containers kept, their items converted)."""
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:
        return value.item()
    if isinstance(value, tuple):
        return tuple(_native(v) for v in value)
    if isinstance(value, list):
        return [_native(v) for v in value]
    if isinstance(value, dict):
        return {k: _native(v) for k, v in value.items()}
    return value


def _same(value: Any, default: Any) -> bool:
    """Whether an argument equals its default (1.0 and 1 do; True and 1, or "1" and 1, do not)."""
    if isinstance(value, bool) or isinstance(default, bool):
        return value is default
    if isinstance(value, int | float) and isinstance(default, int | float):
        return value == default or (math.isnan(value) and math.isnan(default))
    if type(value) is not type(default):
        return False
    try:
        return bool(value == default)
    except (TypeError, ValueError):  # arrays and the like: keep them
        return False


def json_safe(value: Any) -> Any:
    """``value`` in JSON's types: tuples as lists, non-finite floats and other objects as text."""
    value = _native(value)
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    return repr(value)


def python_literal(value: Any) -> str:
    """Python source for ``value`` (``float('nan')`` for non-finite floats)."""
    value = _native(value)
    if isinstance(value, float) and not math.isfinite(value):
        return f"float({repr(value)!r})"
    if isinstance(value, tuple):
        inner = ", ".join(python_literal(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, list):
        return "[" + ", ".join(python_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {python_literal(v)}" for k, v in value.items()) + "}"
    return repr(value)
