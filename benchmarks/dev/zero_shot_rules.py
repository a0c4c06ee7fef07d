"""Development aid: rules for "zero-shot that is never a bad bet", compared offline.

NOT a benchmark of record (that is ``benchmarks/zero_shot.py`` and ZERO_SHOT.md). For every
(dataset, family) task of the bundle, leave-generator-family-out like ``zero_shot.py``, this
collects once the meta-learner's top-``K`` candidates, each candidate's paired gains over the
library default on the nearest training tasks (with their similarity weights), and each
candidate's true gain on the held-out task. Selection rules are then scored offline on the
same data: mean gain, share losing more than 0.02, worst loss, per task type.

    python benchmarks/dev/zero_shot_rules.py --collect /tmp/zs.json.gz   # minutes
    python benchmarks/dev/zero_shot_rules.py --load /tmp/zs.json.gz
"""

from __future__ import annotations

import argparse
import gzip
import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
from metahpo_bench._live_protocol import group_key

from metahpo.knowledge import load_bundled
from metahpo.metalearners import EVIDENCE_TASKS, get_strategy, with_metafeatures
from metahpo.spaces import get_space

K = 10  # candidates collected per task (--k)


def _top(learner: Any, mf: np.ndarray, k: int) -> list[dict[str, Any]]:
    """The meta-learner's own top ``k``, the first-suggestion rule off."""
    return [s.params for s in learner.suggest(mf, k=k, loss_aversion=None)]


_INDEX: dict[int, tuple[np.ndarray, dict[tuple[float, ...], int]]] = {}  # keeps X alive


def _row(X: np.ndarray, x: np.ndarray) -> int:
    """The first row of ``X`` equal to ``x`` (to 6 decimals), or -1."""
    if id(X) not in _INDEX:
        index: dict[tuple[float, ...], int] = {}
        for i, r in enumerate(np.round(X, 6)):
            index.setdefault(tuple(r.tolist()), i)
        _INDEX[id(X)] = (X, index)
    index = _INDEX[id(X)][1]
    return index.get(tuple(np.round(x, 6).tolist()), -1)


def collect(strategy: str, families: list[str], k: int = K) -> list[dict[str, Any]]:
    exp = load_bundled()
    out: list[dict[str, Any]] = []
    for family in families:
        for task_type in ("classification", "regression"):
            own = with_metafeatures(exp.select(family=family, task=task_type))
            space = get_space(family, task_type)
            xd = space.encode(space.default_config())
            for t in own.tasks:
                rest = [u for u in own.tasks if group_key(u.dataset) != group_key(t.dataset)]
                learner = get_strategy(strategy)().fit(replace(own, tasks=tuple(rest)))
                assert learner.task_space_ is not None
                mf = np.asarray(t.metafeatures, dtype=float)
                d = learner.task_space_.distances(mf)
                w = learner.task_space_.weights(d)
                order = np.argsort(d, kind="stable")[:EVIDENCE_TASKS]
                cands = [space.encode(space.transfer(p)[0]) for p in _top(learner, mf, k)]
                td = _row(t.X, xd)
                if td < 0 or not np.isfinite(t.y[td]):
                    continue
                rec: dict[str, Any] = {"dataset": t.dataset, "family": family, "task": task_type}
                rec["w"] = [float(w[i]) for i in order]
                cl = []
                for x in cands:
                    r = _row(t.X, x)
                    if r < 0:
                        continue
                    true = float(t.y[r]) - float(t.y[td]) if np.isfinite(t.y[r]) else -1.0
                    deltas = []
                    for i in order:
                        u = rest[i]
                        a, b = _row(u.X, x), _row(u.X, xd)
                        if a < 0 or b < 0 or not np.isfinite(u.y[b]):
                            deltas.append(None)
                            continue
                        ya = float(u.y[a]) if np.isfinite(u.y[a]) else float(u.y[b]) - 1.0
                        deltas.append(float(np.clip(ya - float(u.y[b]), -1.0, 1.0)))
                    cl.append({"true": max(true, -1.0), "deltas": deltas, "default": r == td})
                rec["cands"] = cl
                out.append(rec)
    return out


def _stats(c: dict[str, Any], w: list[float]) -> tuple[np.ndarray, np.ndarray]:
    ok = [i for i, v in enumerate(c["deltas"]) if v is not None]
    return np.asarray([c["deltas"][i] for i in ok]), np.asarray([w[i] for i in ok])


def lower(c: dict[str, Any], w: list[float], z: float) -> float:
    d, ww = _stats(c, w)
    if len(d) < 2:
        return -np.inf
    p = ww / ww.sum()
    m = float(p @ d)
    se = float(np.sqrt(p @ (d - m) ** 2)) * float(np.sqrt(np.sum(p**2)))
    return m - z * se


def risk(c: dict[str, Any], w: list[float], lam: float, tol: float) -> float:
    """Mean gain minus lam times the mean loss beyond tol (weighted)."""
    d, ww = _stats(c, w)
    if len(d) < 2:
        return -np.inf
    p = ww / ww.sum()
    return float(p @ d) - lam * float(p @ np.maximum(-d - tol, 0.0))


Rule = Callable[[dict[str, Any]], float]  # true gain of the chosen configuration


def best_guarded(lam: float, worst: float, k: int) -> Rule:
    """The shipped utility, among only the candidates that lost no more than ``worst`` on any
    of the nearest training tasks with paired evidence (a minimax guard on the evidence)."""

    def rule(rec: dict[str, Any]) -> float:
        best, true = -np.inf, 0.0
        for c in rec["cands"][:k]:
            d, _ = _stats(c, rec["w"])
            if len(d) < 2 or float(d.min()) < -worst:
                continue
            u = risk(c, rec["w"], lam, 0.0)
            if u > best:
                best, true = u, float(c["true"])
        return true if best > 0 else 0.0

    return rule


def shipped(z: float) -> Rule:
    def rule(rec: dict[str, Any]) -> float:
        c = rec["cands"][0]
        if c["default"] or lower(c, rec["w"], z) <= 0:
            return 0.0
        return float(c["true"])

    return rule


def best_lower(z: float, k: int) -> Rule:
    def rule(rec: dict[str, Any]) -> float:
        scores = [(lower(c, rec["w"], z), c["true"]) for c in rec["cands"][:k]]
        s, true = max(scores, key=lambda p: p[0])
        return float(true) if s > 0 else 0.0

    return rule


def best_risk(lam: float, tol: float, k: int) -> Rule:
    def rule(rec: dict[str, Any]) -> float:
        scores = [(risk(c, rec["w"], lam, tol), c["true"]) for c in rec["cands"][:k]]
        s, true = max(scores, key=lambda p: p[0])
        return float(true) if s > 0 else 0.0

    return rule


def table(recs: list[dict[str, Any]], rules: dict[str, Rule]) -> str:
    lines = [
        "| rule | cls mean | cls >0.02 loss | cls worst | reg mean | reg >0.02 loss | reg worst |"
    ]
    lines.append("| --- | --: | --: | --: | --: | --: | --: |")
    for name, rule in rules.items():
        cells = [name]
        for tt in ("classification", "regression"):
            g = np.asarray([rule(r) for r in recs if r["task"] == tt])
            cells += [f"{g.mean():+.4f}", f"{np.mean(g < -0.02):.1%}", f"{g.min():+.3f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--collect", default=None)
    ap.add_argument("--load", default=None)
    ap.add_argument("--strategy", default="portfolio")
    ap.add_argument("--k", type=int, default=K)
    ap.add_argument("--families", nargs="+", default=["hgb", "rf", "svm", "linear", "knn", "mlp"])
    args = ap.parse_args()
    if args.collect:
        recs = collect(args.strategy, args.families, args.k)
        with gzip.open(args.collect, "wt") as fh:
            json.dump(recs, fh)
    else:
        with gzip.open(args.load, "rt") as fh:
            recs = json.load(fh)
    rules: dict[str, Rule] = {"shipped z=1": shipped(1.0), "top-1 always": shipped(-1e12)}
    for z in (1.0, 2.0, 3.0):
        for k in (3, 10):
            rules[f"best lower z={z} k={k}"] = best_lower(z, k)
    for lam in (1.0, 3.0, 10.0):
        for tol in (0.0, 0.01):
            rules[f"risk lam={lam} tol={tol} k=10"] = best_risk(lam, tol, 10)
    for worst in (0.005, 0.01, 0.015, 0.02, 0.03, 0.05):
        rules[f"guarded lam=10 worst={worst} k=10"] = best_guarded(10.0, worst, 10)
    print(table(recs, rules))


if __name__ == "__main__":
    main()
