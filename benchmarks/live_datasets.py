"""Draw the datasets of the live check: a seeded random sample of a datasets folder.

The live benchmark (``metahpo bench --live``) trains for real, so it runs on a few datasets.
This script draws them at random (fixed seed, no hand-picking) among the datasets small enough
for a run of minutes (at most ``--max-rows`` rows and ``--max-features`` features according to
the folder's ``index.json``) and links them into ``OUT``, a folder in the same layout. The live
benchmark leaves each of them out of the meta-learners' experience, so every one is unseen.

Run (``make bench-live`` does this and then the benchmark):
    python benchmarks/live_datasets.py ../shared/datasets bench-live-data
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("source", type=Path, help="datasets folder with index.json")
    p.add_argument("out", type=Path, help="folder to create with links to the drawn datasets")
    p.add_argument("-n", type=int, default=6, help="datasets to draw (default 6)")
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--max-rows", type=int, default=3000)
    p.add_argument("--max-features", type=int, default=60)
    args = p.parse_args()
    index = json.loads((args.source / "index.json").read_text(encoding="utf-8"))
    eligible = sorted(
        name
        for name, info in index.items()
        if info["n"] <= args.max_rows and info["p"] <= args.max_features
    )
    drawn = np.random.default_rng(args.seed).choice(eligible, args.n, replace=False)
    args.out.mkdir(parents=True, exist_ok=True)
    for old in args.out.iterdir():
        if old.is_symlink():
            old.unlink()
    for name in drawn:
        (args.out / str(name)).symlink_to((args.source / str(name)).resolve())
    print(f"{len(drawn)} of {len(eligible)} eligible datasets: {' '.join(map(str, drawn))}")


if __name__ == "__main__":
    main()
