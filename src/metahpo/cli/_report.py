"""``metahpo report``: an HTML report of the tuning runs in a store."""

from __future__ import annotations

import argparse
from typing import Any

from metahpo.cli._console import out


def register(sub: Any) -> None:
    from metahpo.cli._names import DEFAULT_STORAGE

    p = sub.add_parser(
        "report",
        help="write an HTML report (figures included) of the tuning runs in a store",
        description=(
            "One self-contained HTML page: for each study its task, best configuration, "
            "meta-learned warm starts and guard, the objective per trial, parameter importances "
            "and the objective against each parameter. Plain Optuna studies work too."
        ),
    )
    p.add_argument(
        "--storage", default=DEFAULT_STORAGE, help=f"Optuna storage URL (default {DEFAULT_STORAGE})"
    )
    p.add_argument(
        "--study",
        nargs="+",
        default=None,
        metavar="NAME",
        help="studies to report (default: all, the 50 most recent)",
    )
    p.add_argument("--out", default="metahpo-report.html", help="HTML file to write")
    p.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    from metahpo._files import check_outputs
    from metahpo.knowledge import require_existing
    from metahpo.report import write_report

    require_existing(args.storage)
    check_outputs({"--out": args.out}, storage=args.storage)
    path = write_report(args.storage, args.out, args.study)
    out.print(f"report written to {path}")
    return 0
