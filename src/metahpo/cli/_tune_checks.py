"""``metahpo tune``'s options checked against each other, its ``--space``, and what the data
changes in a search space: one-line errors before any work, notes after it."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from metahpo._args import check_int
from metahpo.cli._names import BASE_OPTIONS, DEFAULT_BASE, DEFAULT_STRATEGY, DEFAULT_WARM_START
from metahpo.errors import MetaHPOError

#: Options of the meta-learned optimizer only, and the ``argparse`` attribute of each.
META_ONLY = (
    ("--base", "base"),
    ("--strategy", "strategy"),
    ("--warm-start", "warm_start"),
    ("--base-option", "base_option"),
    ("--transfer", "transfer"),
)
#: The note for the deprecated ``--transfer N``.
TRANSFER_NOTE = "note: --transfer N is deprecated; it is read as --base-option n_transfer=N"


def check_option_combinations(args: argparse.Namespace) -> None:
    """Refuse options that contradict each other or mean something else than they say, then
    fill in the defaults of the meta-only options (``None`` tells "not given" apart).

    Imports nothing heavy: these errors come at once (``metahpo`` runs it before anything
    else; checking ``args`` again does nothing).
    """
    if getattr(args, "options_checked", False):
        return
    if args.study is not None and not args.study.strip():
        raise MetaHPOError(
            "--study must not be empty (leave it out for the default name, "
            "DATASET:MODEL:METRIC:OPTIMIZER:sSEED)"
        )
    for option, value, meaning in (
        ("--n-jobs", args.n_jobs, "one worker per core"),
        ("--threads", args.threads, "all cores"),
    ):
        if value is not None and value < -1:
            raise MetaHPOError(f"{option} must be -1 ({meaning}) or at least 1, got {value}")
    if args.optimizer != "meta":
        given = [option for option, attr in META_ONLY if getattr(args, attr) is not None]
        if given:
            raise MetaHPOError(
                f"{given[0]} applies to --optimizer meta only (the meta-learned warm start, "
                f"then --base), not --optimizer {args.optimizer}"
            )
    args.base = DEFAULT_BASE if args.base is None else args.base
    args.base_options = base_options(args.base, args.base_option or (), args.transfer)
    args.strategy = DEFAULT_STRATEGY if args.strategy is None else args.strategy
    args.warm_start = DEFAULT_WARM_START if args.warm_start is None else args.warm_start
    args.options_checked = True


def base_options(
    base: str, given: Sequence[str], transfer: int | None
) -> dict[str, int | bool] | None:
    """``--base-option NAME=VALUE`` (each given once: an integer, or ``true`` / ``false`` for a
    flag) and the deprecated ``--transfer N`` (``n_transfer=N``), checked against the options
    ``base`` takes (:data:`~metahpo.cli._names.BASE_OPTIONS`; an unknown base is ``tune``'s
    error); ``None``: none given."""
    takes = BASE_OPTIONS.get(base)
    if takes is None and (given or transfer is not None):
        raise MetaHPOError(
            f"--base: unknown base sampler {base!r}; choose one of {', '.join(BASE_OPTIONS)}"
        )
    pairs: list[tuple[str, str, int | bool]] = []  # (option named in messages, name, value)
    for text in given:
        name, sep, value = (part.strip() for part in text.partition("="))
        if not sep or not name:
            raise MetaHPOError(
                f"--base-option {text!r}: give NAME=VALUE (e.g. --base-option n_transfer=10)"
            )
        _check_known(takes, base, "--base-option", name)
        pairs.append(("--base-option", name, _option_value(takes, name, value)))
    if transfer is not None:
        _check_known(takes, base, "--transfer", "n_transfer")
        pairs.append(("--transfer", "n_transfer", transfer))
    options: dict[str, int | bool] = {}
    for option, name, number in pairs:
        if name in options:
            raise MetaHPOError(f"{option}: option {name!r} of --base {base} given twice")
        low = takes.get(name) if takes is not None else None
        if not isinstance(number, bool):
            label = option if option == "--transfer" else f"{option} {name}"
            check_int(number, label, low=low if isinstance(low, int) else None)
        options[name] = number
    return options or None


def _check_known(takes: dict[str, int | str] | None, base: str, option: str, name: str) -> None:
    if takes is not None and name not in takes:
        raise MetaHPOError(
            f"{option}: base {base!r} takes no option {name!r} "
            f"(its options: {', '.join(takes) or 'none'})"
        )


def _option_value(takes: dict[str, int | str] | None, name: str, value: str) -> int | bool:
    """``VALUE`` of ``--base-option NAME=VALUE`` as the option's kind."""
    if takes is not None and takes.get(name) == "bool":
        flags = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
        if value.lower() not in flags:
            raise MetaHPOError(f"--base-option {name}: VALUE must be true or false, got {value!r}")
        return flags[value.lower()]
    try:
        return int(value)
    except ValueError:
        raise MetaHPOError(
            f"--base-option {name}: VALUE must be an integer, got {value!r}"
        ) from None


def read_space_document(text: str | None) -> dict[str, Any] | None:
    """``--space`` read as JSON (text or file), before the data; ``None`` without it."""
    from metahpo.errors import SpaceError
    from metahpo.spaces import read_space_document as read

    if text is None:
        return None
    if not text.strip():
        raise SpaceError("--space is empty: give JSON text or a file (see tune --help)")
    try:
        return read(text)
    except SpaceError as exc:
        raise SpaceError(f"--space: {exc}") from None


def space_from_option(document: dict[str, Any] | None, model: str, task: str | None) -> Any:
    """The search space of ``--space`` for ``model`` on a ``task`` dataset (``None``: the
    family's own). With ``task=None`` (the data not read yet): the full form only, which names
    its task; ``None`` for the short form."""
    from metahpo.errors import SpaceError
    from metahpo.spaces import SearchSpace, get_space, is_full_form

    if document is None or (task is None and not is_full_form(document)):
        return None
    try:
        if task is None:
            try:
                base = get_space(model, str(document.get("task")))
            except SpaceError:  # another task: tune says so once the data is read
                base = None
        else:
            base = get_space(model, task)
        return SearchSpace.from_document(document, base)
    except SpaceError as exc:
        raise SpaceError(f"--space: {exc}") from None
    except (TypeError, ValueError, KeyError, AttributeError, OverflowError) as exc:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SpaceError(f"--space: invalid search space ({detail})") from None


def _model_argument(estimator: Any, name: str) -> Any:
    """The value the built model has for its argument ``name`` (``None``: no such argument)."""
    for key, value in estimator.get_params(deep=True).items():
        if key == f"model__{name}" or key.endswith(f"__model__{name}"):
            return value
    return None


def capped_ranges(space: Any, model: str, dataset: Any, seed: int) -> dict[str, int]:
    """Integer parameters whose upper values the data caps when the model is built (``knn``'s
    ``n_neighbors`` at half the rows): the name and the largest value that is used as given."""
    from metahpo.errors import SpaceError
    from metahpo.spaces import build_estimator

    capped: dict[str, int] = {}
    for p in space.params:
        if p.kind != "int":
            continue
        config = {**space.default_config(), p.name: int(p.high)}
        try:
            used = _model_argument(build_estimator(model, config, dataset, seed=seed), p.name)
        except SpaceError:
            return {}
        if isinstance(used, int) and not isinstance(used, bool) and used < int(p.high):
            capped[p.name] = used
    return capped


def capped_notes(space: Any, capped: dict[str, int], dataset: Any) -> list[str]:
    """One note per capped parameter: the range that is used."""
    notes = []
    for name, top in capped.items():
        p = space[name]
        low, high = int(p.low), int(p.high)
        head = f"note: on this data ({dataset.n_rows} rows) {name} is capped at {top}"
        if low >= top:
            notes.append(f"{head}: every value of [{low}, {high}] acts as {top}")
        else:
            notes.append(
                f"{head}: the range used is [{low}, {top}], not [{low}, {high}] (larger values "
                f"act as {top})"
            )
    return notes
