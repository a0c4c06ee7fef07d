"""Merge TIME-benchmark run caches computed elsewhere into this one.

A TIME grid can be split by ``--holdout`` over processes or machines, each writing its own
cache folder (a cache folder has one writer at a time). This adds each run of the other
caches that is current (the fingerprint the grid of record's settings give its method and
budget today) where this cache has no current run of the same method, dataset, family,
budget and seed. A current run here is never replaced and a stale run elsewhere is never
copied, so merging is idempotent. Stop any training into the target first (the folder's lock
is taken).

    python benchmarks/time_merge.py benchmarks/time/runs OTHER_RUNS [OTHER_RUNS ...]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from metahpo_bench._live import _experience
from metahpo_bench._time_cache import TimeCache, TimeRun
from metahpo_bench._time_protocol import TIME_METHODS, TimeSettings, run_fingerprint


def current_fingerprint(bundle: str | None = None) -> Callable[[TimeRun], str | None]:
    """The fingerprint a run of the grid of record would have today (``None``: its method is
    not registered)."""
    version = _experience(bundle).version
    settings = TimeSettings()

    def of(run: TimeRun) -> str | None:
        method = TIME_METHODS.get(run.method)
        if method is None:
            return None
        return run_fingerprint(method, settings, run.budget_s, version)

    return of


def merge(
    target: Path, others: list[Path], fingerprint: Callable[[TimeRun], str | None]
) -> dict[str, int]:
    """Add the current runs of ``others`` that ``target`` lacks; return the count per method."""
    store = TimeCache(target)
    added: dict[str, int] = {}
    with store.writing():
        for other in others:
            source = TimeCache(other)
            methods = sorted(p.name.removesuffix(".jsonl.gz") for p in other.glob("*.jsonl.gz"))
            for run in source.runs(methods):
                now = fingerprint(run)
                if now is None or run.fingerprint != now:
                    continue
                if store.get(run.key, now) is None:
                    store.put(run)
                    added[run.method] = added.get(run.method, 0) + 1
    return added


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", type=Path)
    parser.add_argument("others", type=Path, nargs="+")
    parser.add_argument("--bundle", default=None, help="bundle folder (default: the packaged)")
    args = parser.parse_args(argv)
    added = merge(args.target, args.others, current_fingerprint(args.bundle))
    for method, n in sorted(added.items()):
        print(f"{method}: +{n}")
    print(f"{sum(added.values())} runs added")
    return 0


if __name__ == "__main__":
    sys.exit(main())
