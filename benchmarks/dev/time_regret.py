"""Mean normalised test regret at T of TIME runs from several caches, on their common cells
(one family and budget; issue 25's dev loop; the grid of record's rule, `_time_stats`).

    python benchmarks/dev/time_regret.py PATH.jsonl.gz=LABEL [...] [--budget 60] [--family lgbm]

Per cell, between the worst and best final score of the runs given. A direction from a few
cells and one seed, never a verdict (the TIME grid of record decides).
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np
from metahpo_bench._time_stats import normalised_regret
from time_ab import _runs  # this folder is the script's first path entry


def _gains(r: dict[str, Any]) -> np.ndarray:
    sign = 1.0 if r["direction"] == "maximize" else -1.0
    tests = [c["test"] if c["test"] is not None else r["no_model"] for c in r["checkpoints"]]
    return sign * np.asarray(tests, dtype=float)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="+", help="PATH=LABEL of a TIME cache file")
    p.add_argument("--budget", type=float, default=60.0)
    p.add_argument("--family", default="lgbm")
    args = p.parse_args()
    sets = {}
    for item in args.runs:
        path, label = item.rsplit("=", 1)
        sets[label] = _runs(path, args.budget, args.family)
    names = sorted(set.intersection(*(set(s) for s in sets.values())))
    print("cells:", ", ".join(names))
    regrets: dict[str, list[float]] = {label: [] for label in sets}
    for name in names:
        curves = {label: _gains(s[name]) for label, s in sets.items()}
        finals = np.array([c[-1] for c in curves.values()])
        for label, c in curves.items():
            regrets[label].append(float(normalised_regret(finals, c)[-1]))
    for label, v in regrets.items():
        each = " ".join(f"{x:.2f}" for x in v)
        print(f"{label}: mean {np.mean(v):.3f}, median {np.median(v):.3f} ({each})")


if __name__ == "__main__":
    main()
