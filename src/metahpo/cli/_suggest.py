"""``metahpo suggest``: zero-shot configurations for a dataset, with the reasons why."""

from __future__ import annotations

import argparse
import itertools
import json
from typing import TYPE_CHECKING, Any

from metahpo.cli._console import out, print_data_notes
from metahpo.cli._tune import add_data_arguments, add_threads_argument

if TYPE_CHECKING:
    from metahpo.spaces import EstimatorSpec


def register(sub: Any) -> None:
    from metahpo.cli._names import FAMILY_NAMES

    p = sub.add_parser(
        "suggest",
        help="suggest configurations for a dataset without tuning (zero-shot)",
        description="Rank configurations of a model family for a dataset from the experience "
        "of similar past tasks, without training a single model on the dataset.",
    )
    add_data_arguments(p)
    p.add_argument("--model", required=True, choices=FAMILY_NAMES, help="model family")
    p.add_argument("-k", type=int, default=5, help="how many configurations (default 5)")
    p.add_argument(
        "--strategy",
        default="portfolio",
        help="meta-learner: portfolio (default, fast), nearest, surrogate, mapping; with the "
        "torch extra: neural, nearest-ae",
    )
    p.add_argument(
        "--storage",
        default=None,
        help="also learn from the runs in this Optuna storage URL (default: bundled only)",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of the meta-feature computation and the suggested models' random_state",
    )
    p.add_argument(
        "--json",
        dest="as_json",
        action="store_true",
        help="print a JSON list of {params, predicted_score, confidence, neighbors, estimator, "
        "estimator_params, pipeline, ...}",
    )
    add_threads_argument(p)
    p.set_defaults(run=_run)


def _experience(storage: str | None) -> Any:
    from metahpo.knowledge import KnowledgeStore, from_store, load_bundled
    from metahpo.metafeatures import METAFEATURE_NAMES

    bundled = load_bundled()
    if storage is None:
        return bundled
    names = bundled.metafeature_names or METAFEATURE_NAMES
    return bundled + from_store(KnowledgeStore(storage), names)


def _value(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _run(args: argparse.Namespace) -> int:
    from rich.table import Table

    from metahpo.datasets import load_dataset
    from metahpo.errors import MetaHPOError
    from metahpo.evaluation import limit_threads
    from metahpo.knowledge import require_existing
    from metahpo.metalearners import suggest_for_dataset
    from metahpo.spaces import estimator_spec
    from metahpo.tuning import check_seed

    if args.k < 1:
        raise MetaHPOError(f"-k must be at least 1, got {args.k}")
    check_seed(args.seed)
    if args.storage:
        require_existing(args.storage)
    with limit_threads(args.threads):
        dataset = load_dataset(args.data, target=args.target, task=args.task)
        print_data_notes(dataset)
        suggestions = suggest_for_dataset(
            dataset,
            args.model,
            k=args.k,
            strategy=args.strategy,
            experience=_experience(args.storage),
            seed=args.seed,
        )
    # each configuration as the scikit-learn model metahpo would fit on this dataset
    missing = _missing_library(args.model)
    specs = (
        []
        if missing
        else [estimator_spec(args.model, s.params, dataset, seed=args.seed) for s in suggestions]
    )
    if args.as_json:
        payload = [
            {**s.to_json_dict(), **(spec.to_json_dict() if spec is not None else {})}
            for s, spec in itertools.zip_longest(suggestions, specs)
        ]
        out.print(json.dumps(payload, indent=2), soft_wrap=True, highlight=False, markup=False)
        return 0
    table = Table(
        title=f"{args.model} for {dataset.name} ({dataset.task}, {dataset.n_rows} rows): "
        f"{args.strategy}, zero-shot"
    )
    table.add_column("#", justify="right")
    table.add_column("configuration")
    table.add_column("predicted", justify="right")
    table.add_column("confidence", justify="right")
    for i, s in enumerate(suggestions, 1):
        config = ", ".join(f"{k}={_value(v)}" for k, v in s.params.items())
        table.add_row(str(i), config, f"{s.predicted_score:.3f}", f"{s.confidence:.2f}")
    out.print(table)
    if missing:
        out.print(f"[dim]{missing}: no estimator line[/dim]")
    else:
        _print_snippets(specs)
    first = suggestions[0]
    if first.source == "default":
        out.print(f"no experience for {args.model} on {dataset.task} tasks: the library default")
        return 0
    why = Table(title="why: the most similar past tasks")
    why.add_column("dataset")
    why.add_column("similarity", justify="right")
    for name, sim in first.neighbors:
        why.add_row(name, f"{sim:.2f}")
    out.print(why)
    out.print(
        "predicted: expected normalised score on similar tasks (1 = best known, 0 = poor); "
        "confidence falls when the dataset is unlike every past task",
        style="dim",
    )
    return 0


def _missing_library(family: str) -> str | None:
    """Why the family's estimator cannot be built here (an extra not installed), or None."""
    from metahpo.errors import SpaceError
    from metahpo.spaces import get_family

    try:
        get_family(family).check_available()
    except SpaceError as exc:
        return str(exc)
    return None


def _print_snippets(specs: list[EstimatorSpec]) -> None:
    """One line of Python per suggestion, unwrapped so that it can be pasted."""

    def plain(line: str, style: str | None = None) -> None:
        out.print(line, soft_wrap=True, highlight=False, markup=False, style=style)

    plain("as scikit-learn (the model metahpo evaluates, resolved for this dataset):")
    for line in dict.fromkeys(spec.import_line() for spec in specs):
        plain(line)
    for i, spec in enumerate(specs, 1):
        plain(f"{spec.snippet()}  # {i}")
    plain(f"preprocessing before the model: {specs[0].pipeline_note()} (arguments: --json)", "dim")
