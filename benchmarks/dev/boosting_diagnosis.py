"""Development aid: why the boosting families gain little from experience (issue 26, item 2).

NOT a benchmark of record. Reads the bundled experience only (every task holds the same 129
configurations: row 0 the library default, then a shared Sobol design; 3-fold CV on at most
2,000 rows, one CV mean per configuration, no fold-level scores) and measures per family and
task type, with medians and quartiles:

1. the spread between configurations on a task, and where the library default sits in it;
2. how often the default is within noise of the task's best;
3. how much of a task's configuration ranking the meta-features explain, leave-group-out: the
   similarity-weighted mean of the ``K`` nearest tasks' normalised scores (``TaskSpace``
   distances and weights, as ``NearestTasks`` predicts) against the plain mean over all other
   tasks (a global prior, no meta-features) and ``K`` random tasks;
4. how similar the nearest tasks really are (distances, and rank agreement of their scores);
5. what a search region learned from past tasks' best configurations (a box, Perrone et al.
   2019) covers, and whether the best region moves with the number of rows.

"Other tasks" never share the held-out task's generator family (``group_key``, as the live
benchmark). The datasets the live benchmark holds out (``benchmarks/live/summary.json``,
``excluded_from_experience``) are left out entirely unless ``--keep-holdout``. The measures
are in ``boosting_measures.py``, the report in ``boosting_report.py``.

    python benchmarks/dev/boosting_diagnosis.py \
        --md benchmarks/dev/results/2026-12-06-boosting-diagnosis.md     # about a minute
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

from boosting_measures import load_groups
from boosting_report import report

from metahpo.knowledge import load_bundled

SUMMARY = Path(__file__).resolve().parents[1] / "live" / "summary.json"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--md", default=None, help="also write the report here")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--keep-holdout", action="store_true")
    args = ap.parse_args()
    exp = load_bundled()
    note = "the live benchmark's held-out generator families kept"
    if not args.keep_holdout:
        held = json.loads(SUMMARY.read_text())["excluded_from_experience"]
        drop = sorted({d for names in held.values() for d in names})
        exp = exp.select(exclude=drop)
        note = (
            f"the {len(held)} generator families the live benchmark holds out "
            f"({len(drop)} datasets) left out"
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # nan-means of all-nan slices
        text = report(exp, load_groups(exp), args.seed, note)
    print(text)
    if args.md:
        Path(args.md).write_text(text)


if __name__ == "__main__":
    main()
