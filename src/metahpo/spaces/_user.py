"""Search spaces written by users (``metahpo tune --space``), in one of two JSON forms.

Short form, one entry per parameter to tune (the family's other parameters keep their
default)::

    {"n_neighbors": [1, 30], "weights": ["uniform", "distance"], "leaf_size": [10, 50, "log"]}

* ``[low, high]``: a numeric range. A parameter of the family's space keeps its kind (integer or
  float) and its scale (log or linear; linear when ``low <= 0``); any other parameter is an
  integer when both bounds are integers, a float otherwise, on a linear scale.
  ``[low, high, "log"]`` or ``[low, high, "linear"]`` sets the scale.
* ``[a, b, c, ...]``: categorical choices (any list that is not a numeric range, and any list
  for a parameter that is categorical in the family's space).
* ``{"low": .., "high": .., "log": .., "default": ..}`` or ``{"choices": [..], "default": ..}``:
  the same with an explicit default.

The default (the configuration tried first) is the family's default, clipped into the range,
or, when the family has none (or, for a categorical, when it is not among the choices), the low
bound or the first choice.

Full form, as :meth:`SearchSpace.to_json` writes it::

    {"family": "knn", "task": "classification",
     "params": [{"name": "n_neighbors", "kind": "int", "low": 1, "high": 30, "log": true,
                 "default": 5}, ...]}

There a numeric parameter without ``default`` starts at its low bound, and a categorical one at
the family's default when that is among the choices, else at its first choice.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from metahpo.errors import SpaceError
from metahpo.spaces._param import Choice, Param

#: What a space document describes: family, task, parameters and version.
SpaceParts = tuple[str, str, tuple[Param, ...], int]

#: The scale words of a short-form range, ``[low, high, "log"]``.
SCALES = ("log", "linear")


def read_space_document(text_or_path: str | Path) -> dict[str, Any]:
    """The JSON object of a search space, from JSON text or a file."""
    text = str(text_or_path)
    if not text.lstrip().startswith(("{", "[")):
        path = Path(text)
        if not path.is_file():
            raise SpaceError(f"{path}: no such search space file")
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise SpaceError(f"{path}: cannot read the search space ({exc})") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SpaceError(f"search space is not valid JSON ({exc.msg}, line {exc.lineno})") from None
    if not isinstance(document, dict):
        raise SpaceError(
            'a search space is a JSON object, e.g. {"n_neighbors": [1, 30]}, '
            f"not {type(document).__name__}"
        )
    return document


def is_full_form(document: Mapping[str, Any]) -> bool:
    """Whether ``document`` is the full form (with ``params``) rather than the short one."""
    return "params" in document


def space_parts(document: Mapping[str, Any], base: SpaceParts | None = None) -> SpaceParts:
    """What ``document`` describes (either form), for :meth:`SearchSpace.from_document`.

    Args:
        document: The JSON object (:func:`read_space_document`).
        base: The parts of the family's built-in space for the task; needed by the short
            form (family, task, each known parameter's kind, scale and default), used by the
            full form for the default of a categorical parameter that has none.
    """
    if is_full_form(document):
        return _full_form(document, base)
    if base is None:
        raise SpaceError(
            'a short-form search space ({"param": [low, high], ...}) needs the model family '
            "and task: give base=get_space(family, task), or use the full form"
        )
    if not document:
        raise SpaceError('the search space names no parameter; e.g. {"n_neighbors": [1, 30]}')
    family, task, base_params, version = base
    known = {p.name: p for p in base_params}
    params = tuple(
        _short_param(str(name), value, known.get(str(name))) for name, value in document.items()
    )
    return family, task, params, version


def _full_form(document: Mapping[str, Any], base: SpaceParts | None) -> SpaceParts:
    known = {p.name: p for p in base[2]} if base is not None else {}
    try:
        entries = document["params"]
        family, task = str(document["family"]), str(document["task"])
    except KeyError as exc:
        raise SpaceError(f"search space JSON lacks {exc.args[0]!r}") from None
    if not isinstance(entries, list):
        raise SpaceError("search space JSON: 'params' must be a list of parameter objects")
    params = []
    for entry in entries:
        if not isinstance(entry, Mapping):
            raise SpaceError(f"search space JSON: parameter entry {entry!r} is not an object")
        if entry.get("kind") == "categorical" and "default" not in entry:
            choices = tuple(entry.get("choices", ()))
            entry = {
                **entry,
                "default": _choice_default(choices, known.get(str(entry.get("name")))),
            }
        params.append(Param.from_dict(entry))
    return family, task, tuple(params), int(document.get("version", 1))


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def _short_param(name: str, value: Any, known: Param | None) -> Param:
    if isinstance(value, Mapping):
        return _long_entry(name, value, known)
    if not isinstance(value, list) or len(value) < 2:
        raise SpaceError(
            f'parameter {name!r}: give [low, high], [low, high, "log"] or a list of choices, '
            f"got {value!r}"
        )
    numeric_range = (
        len(value) in (2, 3)
        and _is_number(value[0])
        and _is_number(value[1])
        and (len(value) == 2 or value[2] in SCALES)
    )
    if (known is not None and known.kind == "categorical") or not numeric_range:
        return _categorical(name, value, None, known)
    log = None if len(value) == 2 else value[2] == "log"
    return _numeric(name, value[0], value[1], log, None, known)


def _long_entry(name: str, value: Mapping[str, Any], known: Param | None) -> Param:
    unknown = sorted(set(value) - {"low", "high", "log", "default", "choices"})
    if unknown:
        raise SpaceError(
            f"parameter {name!r}: unknown key(s) {', '.join(map(repr, unknown))} (use low, "
            "high, log, default, or choices, default)"
        )
    if "choices" in value:
        choices = value["choices"]
        if not isinstance(choices, list):
            raise SpaceError(f"parameter {name!r}: choices must be a list, got {choices!r}")
        return _categorical(name, choices, value.get("default"), known, "default" in value)
    if "low" not in value or "high" not in value:
        raise SpaceError(f"parameter {name!r}: give low and high, or choices")
    log = value.get("log")
    if log is not None and not isinstance(log, bool):
        raise SpaceError(f"parameter {name!r}: log must be true or false, got {log!r}")
    return _numeric(name, value["low"], value["high"], log, value.get("default"), known)


def _choice_default(choices: tuple[Any, ...], known: Param | None) -> Choice:
    """The family's default when it is among ``choices``, else the first choice."""
    if known is not None and known.kind == "categorical" and known.default in choices:
        return known.default
    return choices[0] if choices else None


def _categorical(
    name: str, choices: list[Any], default: Any, known: Param | None, explicit: bool = False
) -> Param:
    if any(isinstance(c, list | dict) for c in choices):
        raise SpaceError(
            f"parameter {name!r}: choices must be strings, numbers, true/false or null"
        )
    if len({json.dumps(c) for c in choices}) != len(choices):
        raise SpaceError(f"parameter {name!r}: the choices {choices!r} repeat a value")
    if len(choices) < 2:
        raise SpaceError(f"parameter {name!r}: a categorical needs >= 2 choices")
    if explicit and default not in choices:
        raise SpaceError(f"parameter {name!r}: default {default!r} is not among {choices!r}")
    chosen = default if explicit else _choice_default(tuple(choices), known)
    return Param(name, "categorical", choices=tuple(choices), default=chosen)


def _numeric(
    name: str, low: Any, high: Any, log: bool | None, default: Any, known: Param | None
) -> Param:
    if not (_is_number(low) and _is_number(high)):
        raise SpaceError(f"parameter {name!r}: low and high must be numbers, got {low!r}, {high!r}")
    if not (math.isfinite(low) and math.isfinite(high)):
        raise SpaceError(f"parameter {name!r}: low and high must be finite")
    if known is not None and known.kind in ("int", "float"):
        kind = known.kind
    else:
        kind = "int" if isinstance(low, int) and isinstance(high, int) else "float"
    if kind == "int":
        if not (float(low).is_integer() and float(high).is_integer()):
            raise SpaceError(f"parameter {name!r} takes integers: give integer bounds")
        low, high = int(low), int(high)
    if log is None:  # the family's scale where it can apply
        log = bool(known is not None and known.kind != "categorical" and known.log and low > 0)
    if default is None:
        default = low
        if known is not None and _is_number(known.default) and known.kind != "categorical":
            default = min(max(known.default, low), high)
    if kind == "int":
        if not _is_number(default) or not float(default).is_integer():
            raise SpaceError(f"parameter {name!r}: default {default!r} is not an integer")
        default = int(default)
    return Param(name, kind, low=low, high=high, log=log, default=default)
