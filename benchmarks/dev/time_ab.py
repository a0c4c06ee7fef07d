"""Compare TIME runs of one method from several caches, cell by cell (issue 25's dev loop).

    python benchmarks/dev/time_ab.py LABEL=PATH.jsonl.gz [...] [--budget 60] [--family lgbm]

Prints a Markdown table: per dataset, each run's test score at 10/25/50/100 % of T and the
time of its first full-fidelity result. Raw scores, no normalisation: a direction from a few
cells, never a verdict (the TIME grid of record decides).
"""

from __future__ import annotations

import argparse
import gzip
import json
from typing import Any


def _runs(path: str, budget: float, family: str) -> dict[str, dict[str, Any]]:
    """The runs of one budget and family by dataset (a dataset's last run in the file)."""
    out: dict[str, dict[str, Any]] = {}
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            r = json.loads(line)
            if r.get("budget_s") == budget and r.get("family", "lgbm") == family:
                out[r["dataset"]] = r
    return out


def _cell(r: dict[str, Any] | None) -> str:
    if r is None:
        return "–"
    tests = ["–" if c.get("test") is None else f"{c['test']:.4f}" for c in r["checkpoints"]]
    first = f"{r['incumbents'][0][0]:.1f} s" if r["incumbents"] else "none"
    return f"{' / '.join(tests)} (first {first})"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="+", help="LABEL=PATH of a TIME cache file (method.jsonl.gz)")
    p.add_argument("--budget", type=float, default=60.0)
    p.add_argument("--family", default="lgbm")
    args = p.parse_args()
    labelled = [s.split("=", 1) for s in args.runs]
    caches = {label: _runs(path, args.budget, args.family) for label, path in labelled}
    datasets = sorted({d for runs in caches.values() for d in runs})
    print("| dataset | " + " | ".join(caches) + " |")
    print("| --- |" + " --- |" * len(caches))
    for d in datasets:
        print(f"| {d} | " + " | ".join(_cell(runs.get(d)) for runs in caches.values()) + " |")


if __name__ == "__main__":
    main()
