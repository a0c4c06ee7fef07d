"""Parallel trials: ``metahpo tune --n-jobs 2`` against ``--n-jobs 1``, on a quiet machine.

    python benchmarks/n_jobs.py --out benchmarks/parallel/n_jobs.json

Runs the same tuning job (``tests/data/vehicle``, ``--model rf``, ``--budget 20``, SQLite) with
one and with two worker processes, each into a fresh study, and records the wall time, the
completed trials and whether any configuration was evaluated twice. The load average before
each run is recorded too: a timing taken next to other jobs is not a speed-up of record.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import optuna

HERE = Path(__file__).resolve().parents[1]


def one(n_jobs: int, budget: int, model: str, data: Path, folder: Path) -> dict[str, object]:
    url = f"sqlite:///{folder / f'n{n_jobs}.db'}"
    cmd = [sys.executable, "-m", "metahpo", "tune", str(data), "--model", model]
    cmd += ["--budget", str(budget), "--n-jobs", str(n_jobs), "--storage", url, "--study", "s"]
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, cwd=HERE)
    wall = time.perf_counter() - t0
    trials = optuna.load_study(study_name="s", storage=url).trials
    done = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    keys = [tuple(sorted(t.params.items())) for t in done]
    return {
        "n_jobs": n_jobs,
        "wall_s": round(wall, 2),
        "complete": len(done),
        "trials": len(trials),
        "distinct_configurations": len(set(keys)),
        "load_average_before": round(load, 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(HERE / "tests" / "data" / "vehicle"))
    ap.add_argument("--model", default="rf")
    ap.add_argument("--budget", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeats):
            for n in (1, 2):
                folder = Path(tmp) / f"r{r}"
                folder.mkdir(exist_ok=True)
                runs.append(one(n, args.budget, args.model, Path(args.data), folder))
                print(runs[-1], flush=True)
    walls = {n: [float(x["wall_s"]) for x in runs if x["n_jobs"] == n] for n in (1, 2)}  # type: ignore[arg-type]
    result = {
        "command": " ".join(["python", "benchmarks/n_jobs.py", *sys.argv[1:]]),
        "machine": {"cores": os.cpu_count(), "python": platform.python_version()},
        "settings": {"data": Path(args.data).name, "model": args.model, "budget": args.budget},
        "runs": runs,
        "speedup_median": round(statistics.median(walls[1]) / statistics.median(walls[2]), 2),
    }
    print(json.dumps(result, indent=1))
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
