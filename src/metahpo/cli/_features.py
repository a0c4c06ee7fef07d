"""``metahpo features``: print the meta-features of one dataset."""

from __future__ import annotations

import argparse
import json
from typing import Any

from metahpo.cli._console import out, print_data_notes
from metahpo.cli._tune import add_data_arguments


def register(sub: Any) -> None:
    p = sub.add_parser("features", help="compute the meta-features of a dataset")
    add_data_arguments(p)
    p.add_argument("--seed", type=int, default=0, help="seed of subsampling and landmarkers")
    p.add_argument(
        "--json",
        dest="as_json",
        action="store_true",
        help="print a JSON object {name: value} instead of a table",
    )
    p.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    from rich.table import Table

    from metahpo.datasets import load_dataset
    from metahpo.metafeatures import METAFEATURE_FAMILIES, compute_metafeatures
    from metahpo.tuning import check_seed

    check_seed(args.seed)
    dataset = load_dataset(args.data, target=args.target, task=args.task)
    print_data_notes(dataset)
    values = compute_metafeatures(dataset, seed=args.seed)
    if args.as_json:
        out.print(json.dumps(values, indent=2), soft_wrap=True, highlight=False, markup=False)
        return 0
    table = Table(
        title=f"meta-features of {dataset.name} ({dataset.task}, "
        f"{dataset.n_rows} rows, {dataset.n_features} features)"
    )
    table.add_column("family")
    table.add_column("meta-feature")
    table.add_column("value", justify="right")
    for family, names in METAFEATURE_FAMILIES.items():
        for name in names:
            table.add_row(family, name, f"{values[name]:.4g}")
    out.print(table)
    return 0
