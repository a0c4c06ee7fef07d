"""Checks of a caller's arguments, shared by every layer.

Each names the argument as the caller knows it (``label``: "tune: 'budget'", or a CLI option
"--budget") and says what it got, with its type ("got str '3'"), in a one-line
:class:`~metahpo.errors.MetaHPOError`. Like :mod:`metahpo.errors`, this module sits below
every layer and imports nothing heavy.
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Mapping
from typing import TypeVar

from metahpo.errors import MetaHPOError

_V = TypeVar("_V")


def got(value: object) -> str:
    """``value`` for an error message: its type and a short repr (``str '3'``)."""
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(value).__name__} {text}"


def registered(
    registry: Mapping[str, _V], name: str, what: str, error: type[MetaHPOError] = MetaHPOError
) -> _V:
    """``registry[name]``; a name it does not hold is a one-line ``error`` naming the choices,
    in the registry's order (``unknown {what} 'x'; choose one of a, b``)."""
    try:
        return registry[name]
    except KeyError:
        raise error(f"unknown {what} {name!r}; choose one of {', '.join(registry)}") from None


def is_int(value: object) -> bool:
    """An integer (Python or NumPy); ``bool`` is not one."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_number(value: object) -> bool:
    """A real number (Python or NumPy); ``bool`` is not one."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _int_kind(low: int | None, high: int | None) -> str:
    if high is not None:
        return f"an int in [{low}, {high}]"
    if low is None:
        return "an int"
    return {0: "a non-negative int", 1: "a positive int"}.get(low, f"an int of at least {low}")


def check_int(
    value: object,
    label: str,
    *,
    low: int | None = None,
    high: int | None = None,
    none: bool = False,
) -> None:
    """An int (``None`` too if ``none``) in ``[low, high]``, else a one-line
    :class:`MetaHPOError` naming ``label``."""
    if value is None and none:
        return
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        kind = _int_kind(low, high) + (" or None" if none else "")
        raise MetaHPOError(f"{label} must be {kind}, got {got(value)}")
    v = int(value)
    if low is not None and high is not None and not low <= v <= high:
        raise MetaHPOError(f"{label} must be in [{low}, {high}], got {v}")
    if low is not None and v < low:
        raise MetaHPOError(
            f"{label} must be {'0 or more' if low == 0 else f'at least {low}'}, got {v}"
        )


def check_positive(value: object, label: str, *, unit: str = "", none: bool = False) -> None:
    """A positive, finite number (``None`` too if ``none``)."""
    if value is None and none:
        return
    what = f"a positive number{' of ' + unit if unit else ''}"
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise MetaHPOError(f"{label} must be {what}{' or None' if none else ''}, got {got(value)}")
    v = float(value)
    if not (0 < v < math.inf):  # also catches NaN
        raise MetaHPOError(f"{label} must be {what}, got {v:g}")


def check_str(value: object, label: str, *, none: bool = False) -> None:
    """A non-empty string (``None`` too if ``none``)."""
    if value is None and none:
        return
    if not isinstance(value, str) or not value:
        kind = "a non-empty str" + (" or None" if none else "")
        raise MetaHPOError(f"{label} must be {kind}, got {got(value)}")


def check_bool(value: object, label: str) -> None:
    """``True`` or ``False`` (NumPy's too), not a truthy object."""
    if not isinstance(value, bool) and type(value).__name__ != "bool_":
        raise MetaHPOError(f"{label} must be True or False, got {got(value)}")


#: Threads per trial when the caller does not say (``None``).
DEFAULT_THREADS = 1


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity where the OS tells it)."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not Linux
        return max(os.cpu_count() or 1, 1)


def resolve_n_jobs(
    n_jobs: int | None, parallel: int = 1, option: str = "--threads", unit: str = "thread"
) -> int:
    """Native threads for one trial (or any count of ``unit``), from scikit-learn style
    ``n_jobs``.

    Args:
        n_jobs: ``None``: :data:`DEFAULT_THREADS`; a positive number: that many threads;
            ``-1``: all cores, ``-2``: all but one, and so on (shared by ``parallel``).
        parallel: Trials running at the same time; the cores that ``-1`` means are divided
            among them.
        option, unit: Name the option and what it counts in error messages.

    Raises:
        MetaHPOError: For ``n_jobs == 0`` or a value that is not an integer.
    """
    if n_jobs is None:
        return DEFAULT_THREADS
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int):
        raise MetaHPOError(f"{option} must be an integer, got {n_jobs!r}")
    if n_jobs == 0:
        raise MetaHPOError(f"{option} must not be 0 (1: one {unit}, -1: all cores)")
    if n_jobs > 0:
        return n_jobs
    cores = available_cores() + 1 + n_jobs
    return max(cores // max(parallel, 1), 1)
