"""TIME benchmark: one run, from the tuning process to the scored checkpoints.

:func:`run_unit` starts the run's tuning in a process of its own
(:mod:`metahpo_bench._time_child`, one thread), kills it once the deadline and
:data:`~metahpo_bench._time_protocol.GRACE_S` are past, reads its incumbents, then (outside
the budget, in the calling thread, one thread) refits each distinct checkpoint incumbent on
the whole training split and scores it on the test split.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from metahpo.datasets import Dataset
from metahpo.evaluation import evaluate, get_metric
from metahpo_bench._replay_plan import run_seed
from metahpo_bench._time_cache import Checkpoint, TimeRun, TimeUnit
from metahpo_bench._time_curve import (
    Incumbent,
    RunLog,
    checkpoint_times,
    flaml_incumbents,
    incumbent_at,
    read_run_log,
)
from metahpo_bench._time_protocol import (
    CHECKPOINTS,
    GRACE_S,
    TIME_METHODS,
    split_rows,
    split_seed,
)

#: Seconds the tuning process may take to start (imports, loading the dataset) on top of the
#: budget before the parent kills it.
STARTUP_S = 180.0
#: Variables that hold a process to one thread (set before the child imports anything).
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")


@lru_cache(maxsize=2)
def load_full(folder: str, name: str) -> Dataset:
    """Every row of a dataset of the folder (the split is taken from it)."""
    from metahpo.datasets import load_dataset

    return load_dataset(Path(folder) / name)


def _child_env() -> dict[str, str]:
    """This environment, one thread, and the folders that hold metahpo and the lab first on
    the path (the child imports what this process imports)."""
    import metahpo
    import metahpo_bench

    env = dict(os.environ)
    env.update({v: "1" for v in THREAD_VARS})
    roots = [str(Path(m.__file__ or "").resolve().parents[1]) for m in (metahpo_bench, metahpo)]
    env["PYTHONPATH"] = os.pathsep.join([*roots, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def tune_in_process(spec: dict[str, Any], workdir: Path) -> tuple[RunLog, float, bool, str]:
    """Run the spec's tuning in its own process; ``(log, wall seconds, killed, stderr tail)``."""
    spec_path = workdir / "spec.json"
    spec_path.write_text(json.dumps(spec), encoding="utf-8")
    t0 = time.perf_counter()
    with open(workdir / "stderr.txt", "wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "metahpo_bench._time_child", str(spec_path)],
            env=_child_env(),
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
        killed = False
        try:
            proc.wait(timeout=float(spec["budget"]) + GRACE_S + STARTUP_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            killed = True
    wall = time.perf_counter() - t0
    log = read_run_log(spec["out"])
    if log.flaml_offset is not None:
        found = flaml_incumbents(spec["flaml_log"], log.flaml_offset, log.full_size)
        log = RunLog(found, log.error, log.ended, log.flaml_offset, log.full_size, log.started)
    tail = (workdir / "stderr.txt").read_text(encoding="utf-8", errors="replace").strip()
    return log, wall, killed or log.ended is None, tail.splitlines()[-1][:300] if tail else ""


def no_model_score(full: Dataset, train: np.ndarray, test: np.ndarray) -> float:
    """The test score of a constant predictor: the training split's majority class, or its
    mean (what a run without any model can offer)."""
    metric = get_metric(None, full.task)
    if full.task == "classification":
        labels, counts = np.unique(full.y[train], return_counts=True)
        pred = np.full(len(test), labels[int(np.argmax(counts))], dtype=object)
    else:
        pred = np.full(len(test), float(np.mean(full.y[train].astype(float))))
    return float(metric.fn(full.y[test], pred))


def _refit_flaml(
    inc: Incumbent, full: Dataset, train: np.ndarray, test: np.ndarray, log: str
) -> float:
    """FLAML's configuration refitted by FLAML's own learner on the whole training split."""
    import flaml

    lib: Any = flaml  # its names are not re-exported for type checkers

    automl = lib.AutoML()
    automl.retrain_from_log(
        log_file_name=log,
        X_train=full.X.iloc[train].reset_index(drop=True),
        y_train=full.y[train],
        task=full.task,
        train_full=True,
        record_id=int(inc.record_id or 0),
        n_jobs=1,
    )
    pred = automl.predict(full.X.iloc[test].reset_index(drop=True))
    return float(get_metric(None, full.task).fn(full.y[test], np.asarray(pred)))


def refit_score(
    inc: Incumbent,
    unit: TimeUnit,
    full: Dataset,
    split: tuple[np.ndarray, np.ndarray],
    flaml_log: str,
) -> tuple[float | None, str | None]:
    """The incumbent fitted on the whole training split, its test score (or why it failed)."""
    train, test = split
    try:
        if TIME_METHODS[unit[2]].kind == "flaml":
            return _refit_flaml(inc, full, train, test, flaml_log), None
        seed = run_seed(unit[4], unit[0], unit[1]) % (2**31)
        ev = evaluate(full, unit[1], inc.config, folds=[(train, test)], seed=seed)
        return (float(ev.value), None) if ev.ok else (None, ev.error or "failed")
    except Exception as exc:
        return None, f"{type(exc).__name__}: {exc}"[:300]


def score_checkpoints(
    unit: TimeUnit,
    incumbents: tuple[Incumbent, ...],
    full: Dataset,
    split: tuple[np.ndarray, np.ndarray],
    flaml_log: str,
) -> tuple[Checkpoint, ...]:
    """Each checkpoint's incumbent, refitted once per distinct incumbent and scored."""
    scored: dict[int, tuple[float | None, str | None]] = {}
    out: list[Checkpoint] = []
    for fraction, t in zip(CHECKPOINTS, checkpoint_times(unit[3], CHECKPOINTS), strict=True):
        inc = incumbent_at(incumbents, t)
        if inc is None:
            out.append(Checkpoint(fraction, None, None))
            continue
        if id(inc) not in scored:
            scored[id(inc)] = refit_score(inc, unit, full, split, flaml_log)
        test, error = scored[id(inc)]
        out.append(Checkpoint(fraction, round(inc.t, 3), test, dict(inc.config), error))
    return tuple(out)


def run_unit(
    unit: TimeUnit, folder: str, bundle: str | None, folds: int | None, fingerprint: str
) -> TimeRun:
    """One run of the grid: tune under the deadline in a process of its own, then refit and
    score each checkpoint (the test split is used here only)."""
    name, family, method, budget, seed = unit
    full = load_full(folder, name)
    split = split_rows(full, split_seed(seed, name))
    with tempfile.TemporaryDirectory(prefix="metahpo-time-") as tmp:
        work = Path(tmp)
        spec: dict[str, Any] = {
            "folder": folder,
            "dataset": name,
            "family": family,
            "method": method,
            "budget": budget,
            "seed": run_seed(seed, name, family) % (2**31),
            "split_seed": split_seed(seed, name),
            "folds": folds,
            "bundle": bundle,
            "out": str(work / "incumbents.jsonl"),
            "flaml_log": str(work / "flaml.log"),
        }
        log, wall, killed, stderr = tune_in_process(spec, work)
        t0 = time.perf_counter()
        checkpoints = score_checkpoints(unit, log.incumbents, full, split, spec["flaml_log"])
        refit_s = time.perf_counter() - t0
    error = log.error or (None if log.started else f"the run did not start: {stderr}")
    metric = get_metric(None, full.task)
    return TimeRun(
        method=method,
        dataset=name,
        family=family,
        budget_s=budget,
        seed=seed,
        fingerprint=fingerprint,
        task=full.task,
        metric=metric.name,
        direction=metric.direction,
        n_train=len(split[0]),
        n_test=len(split[1]),
        incumbents=tuple((round(i.t, 3), round(i.value, 7)) for i in log.incumbents),
        checkpoints=checkpoints,
        no_model=round(no_model_score(full, *split), 7),
        wall_s=round(wall, 2),
        refit_s=round(refit_s, 2),
        error=error,
        killed=killed,
    )
