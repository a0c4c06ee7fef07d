"""Zero-shot top-1 against the library default, leave-datasets-out on the bundled experience.

For every (dataset, family) task of the bundle, the meta-learner is fitted on the same family's
tasks of the same task type without the dataset's whole generator family (the live
benchmark's ``group_key`` rule), asked for its top-1 suggestion for the dataset's stored
meta-features, and that configuration's stored score (the bundle evaluated all 129 design
configurations, the library default among them, with the same folds) is compared with the
default's. Gains are in the metric's own units (balanced accuracy, R²).

    python benchmarks/zero_shot.py --md benchmarks/ZERO_SHOT.md

Writes (and prints) the mean gain per task type and family, the share of tasks that lose more
than 0.02, and the worst loss, once as shipped (the library default first unless the similar
tasks clearly favour the top suggestion, ``metahpo.metalearners._default_first``) and once
with that rule off (the meta-learner's own top-1).
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from typing import Any

import numpy as np

from metahpo.bench._live_protocol import group_key
from metahpo.knowledge import load_bundled
from metahpo.metalearners import _default_first, get_strategy
from metahpo.metalearners._api import with_metafeatures
from metahpo.spaces import get_space


def top1_gains(strategy: str, families: list[str], z: float | None = None) -> list[dict[str, Any]]:
    exp = load_bundled()
    rows: list[dict[str, Any]] = []
    for family in families:
        for task_type in ("classification", "regression"):
            own = with_metafeatures(exp.select(family=family, task=task_type))
            space = get_space(family, task_type)
            default = space.encode(space.default_config())
            for t in own.tasks:
                rest = replace(
                    own,
                    tasks=tuple(
                        u for u in own.tasks if group_key(u.dataset) != group_key(t.dataset)
                    ),
                )
                learner = get_strategy(strategy)().fit(rest)
                if z is not None:
                    _default_first.DEFAULT_EVIDENCE_Z = z
                s = learner.suggest(np.asarray(t.metafeatures, dtype=float), k=1)[0]
                x = space.encode(space.transfer(s.params)[0])
                hit = np.flatnonzero(np.abs(t.X - x).sum(axis=1) < 1e-6)
                dflt = np.flatnonzero(np.abs(t.X - default).sum(axis=1) < 1e-6)
                if not len(hit) or not len(dflt):
                    continue
                yc, yd = float(t.y[hit[0]]), float(t.y[dflt[0]])
                rows.append(
                    {
                        "dataset": t.dataset,
                        "family": family,
                        "task": task_type,
                        "top1": yc,
                        "default": yd,
                        "gain": (yc if np.isfinite(yc) else -np.inf) - yd,
                        "is_default": bool(hit[0] == dflt[0]),
                        "confidence": float(s.confidence),
                    }
                )
    return rows


def summary(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| group | tasks | mean gain | median | share losing > 0.02 | worst | default chosen |",
        "| --- | --: | --: | --: | --: | --: | --: |",
    ]
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault(r["task"], []).append(r)
        groups.setdefault(f"{r['task']} / {r['family']}", []).append(r)
    for g in sorted(groups):
        gains = np.asarray([max(r["gain"], -1.0) for r in groups[g]])
        lines.append(
            f"| {g} | {len(gains)} | {gains.mean():+.4f} | {np.median(gains):+.4f} | "
            f"{np.mean(gains < -0.02):.0%} | {gains.min():+.4f} | "
            f"{np.mean([r['is_default'] for r in groups[g]]):.0%} |"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--strategy", default="portfolio")
    ap.add_argument("--families", nargs="+", default=["hgb", "rf", "svm", "linear", "knn", "mlp"])
    ap.add_argument("--md", default=None, help="write the tables here (Markdown)")
    args = ap.parse_args()
    shipped = top1_gains(args.strategy, args.families)
    off = top1_gains(args.strategy, args.families, z=-1e12)  # always convinced: rule off
    text = "\n".join(
        [
            "# Zero-shot top-1 against the library default",
            "",
            "Leave-datasets-out on the bundled experience: for every (dataset, family) task the "
            f"`{args.strategy}` meta-learner is fitted without the dataset's generator family "
            "and its top-1 configuration's stored score is compared with the library default's "
            "(same folds). Gain in the metric's units (balanced accuracy, R²; a failed "
            "configuration counts as -1). Regenerate with",
            "",
            f"    python benchmarks/zero_shot.py --strategy {args.strategy} "
            "--md benchmarks/ZERO_SHOT.md",
            "",
            "## As shipped: the default first unless the similar tasks clearly favour the top "
            "suggestion (paired gain minus one standard error > 0)",
            "",
            summary(shipped),
            "",
            "## Without that rule (the meta-learner's own top-1)",
            "",
            summary(off),
            "",
        ]
    )
    print(text)
    if args.md:
        with open(args.md, "w") as fh:
            fh.write(text)


if __name__ == "__main__":
    main()
