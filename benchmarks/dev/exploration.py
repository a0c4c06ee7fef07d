"""How far each method's late proposals move from its incumbent, from the live run cache.

For every cached live run of 30 trials (current revision only), the median over trials 11-30
of the mean per-dimension L1 distance (unit-cube encoding) between the proposal and the best
configuration found before it, and how many of those 20 trials improved on the best so far.
A diagnostic for issue 15's weak late refinement; reads ``benchmarks/live/runs`` only,
trains nothing.

    python benchmarks/dev/exploration.py --methods gp meta skopt tpe
"""

from __future__ import annotations

import argparse
import gzip
import json
from collections import defaultdict
from pathlib import Path

import numpy as np
from metahpo_bench._live_protocol import LIVE_METHODS, LiveSettings, run_fingerprint

from metahpo.knowledge import load_bundled
from metahpo.spaces import get_space

RUNS = Path(__file__).resolve().parents[1] / "live" / "runs"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--methods", nargs="+", default=["gp", "meta", "skopt", "tpe"])
    args = ap.parse_args()
    for m in args.methods:
        per_family: dict[str, list[tuple[float, int]]] = defaultdict(list)
        with gzip.open(RUNS / f"{m}.json.gz") as fh:
            runs = json.loads(fh.read())["runs"]
        current = run_fingerprint(LIVE_METHODS[m], LiveSettings(), load_bundled().version)
        for r in runs:
            if len(r["values"]) < 30 or r["fingerprint"] != current:  # stale revisions out
                continue
            space = get_space(r["family"], r["task"])
            sign = 1.0 if r["direction"] == "maximize" else -1.0
            v = np.array([sign * x if x is not None else np.nan for x in r["values"]])
            U = [np.asarray(space.encode(space.validate(p)), dtype=float) for p in r["params"]]
            dists, gains = [], 0
            for t in range(10, 30):
                if np.all(np.isnan(v[:t])):
                    continue
                best = int(np.nanargmax(v[:t]))
                dists.append(float(np.abs(U[t] - U[best]).mean()))
                gains += int(v[t] > np.nanmax(v[:t]) + 1e-9)
            if dists:
                per_family[r["family"]].append((float(np.median(dists)), gains))
        for fam in sorted(per_family):
            a = np.asarray(per_family[fam])
            print(
                f"{m:8s} {fam:4s} runs {len(a):3d}  distance to incumbent {np.median(a[:, 0]):.3f}"
                f"  improvements in trials 11-30 {a[:, 1].mean():.2f}"
            )


if __name__ == "__main__":
    main()
