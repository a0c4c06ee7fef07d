"""Merge live-benchmark run caches computed elsewhere into this one.

A grid can be split by ``--holdout`` over machines (each with its own copy of
``benchmarks/live/runs``); this adds every run of the other caches that this cache lacks (same
method, dataset, family and seed). A run present in both is kept as it is here, so merging is
idempotent, and nothing here is overwritten. Stop any training into the target first (the
folder's lock is taken).

    python benchmarks/live_merge.py benchmarks/live/runs OTHER_RUNS [OTHER_RUNS ...]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from metahpo_bench._live_cache import RunCache


def merge(target: Path, others: list[Path]) -> dict[str, int]:
    """Add the runs of ``others`` missing from ``target``; return the count added per method."""
    store = RunCache(target)
    added: dict[str, int] = {}
    with store.writing():
        for other in others:
            source = RunCache(other)
            methods = sorted(p.name.removesuffix(".json.gz") for p in other.glob("*.json.gz"))
            for run in source.runs(methods):
                have = {r.key for r in store.runs([run.method])}
                if run.key not in have:
                    store.put(run)
                    added[run.method] = added.get(run.method, 0) + 1
    return added


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", type=Path)
    parser.add_argument("others", type=Path, nargs="+")
    args = parser.parse_args(argv)
    added = merge(args.target, args.others)
    for method, n in sorted(added.items()):
        print(f"{method}: +{n}")
    print(f"{sum(added.values())} runs added")
    return 0


if __name__ == "__main__":
    sys.exit(main())
