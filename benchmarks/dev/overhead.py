"""The refinement's own time per trial, apart from training (issue 15's overhead target).

Runs ``metahpo``'s meta sampler with a given base for N trials on a stored task's surrogate
(instant to evaluate, see ``surrogate_loop.py``), so every second measured is the sampler's,
and prints the median and 95th percentile of the time per trial in windows of trials.

    python benchmarks/dev/overhead.py --base transfer-gp --trials 200 --family hgb --dataset bupa
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import optuna

sys.path.insert(0, str(Path(__file__).parent))
from metahpo_bench._live_protocol import group_key
from surrogate_loop import Surrogate

from metahpo.knowledge import load_bundled
from metahpo.optimizers import make_meta_sampler
from metahpo.spaces import get_space
from metahpo.tuning._sampler import suggest_config

optuna.logging.set_verbosity(optuna.logging.WARNING)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", default="transfer-gp")
    ap.add_argument("--family", default="hgb")
    ap.add_argument("--dataset", default="bupa")
    ap.add_argument("--trials", type=int, default=200)
    args = ap.parse_args()
    exp = load_bundled()
    task = next(t for t in exp.tasks if t.dataset == args.dataset and t.family == args.family)
    rest = replace(
        exp, tasks=tuple(t for t in exp.tasks if group_key(t.dataset) != group_key(task.dataset))
    )
    t0 = time.perf_counter()
    plan = make_meta_sampler(
        task.metafeatures, task.family, task.task, experience=rest, base=args.base, seed=0
    )
    setup = time.perf_counter() - t0
    space = get_space(task.family, task.task)
    f = Surrogate(task.X, task.y)
    study = optuna.create_study(direction="maximize", sampler=plan.sampler)
    spent: list[float] = []
    last = [time.perf_counter()]

    def fn(trial: optuna.Trial) -> float:
        cfg = suggest_config(trial, space)
        spent.append(time.perf_counter() - last[0])
        v = f(space.encode(cfg))
        last[0] = time.perf_counter()
        return v

    study.optimize(fn, n_trials=args.trials)
    s = np.asarray(spent)
    print(f"base {args.base}, {args.family} on {args.dataset}: setup {setup:.1f} s")
    for lo, hi in ((0, 10), (10, 30), (30, 50), (50, 100), (100, 150), (150, 200)):
        if hi <= len(s):
            w = s[lo:hi]
            print(
                f"trials {lo + 1:3d}-{hi:3d}: median {np.median(w):.3f} s, "
                f"p95 {np.percentile(w, 95):.3f} s"
            )


if __name__ == "__main__":
    main()
