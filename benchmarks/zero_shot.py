"""Zero-shot top-1 against the library default, leave-datasets-out on the bundled experience.

For every (dataset, family) task of the bundle, the meta-learner is fitted on the same family's
tasks of the same task type without the dataset's whole generator family (the live
benchmark's ``group_key`` rule), asked for its top-1 suggestion for the dataset's stored
meta-features, and that configuration's stored score (the bundle evaluated all 129 design
configurations, the library default among them, with the same folds) is compared with the
default's. Gains are in the metric's own units (balanced accuracy, R²).

    python benchmarks/zero_shot.py --md benchmarks/ZERO_SHOT.md

Writes (and prints) the mean gain per task type and family, the share of tasks that lose more
than 0.02, and the worst loss: as shipped (the best bet against the default among the top
suggestions, or the default, ``metahpo.metalearners._default_first``), along the curve of loss
aversions, and with the rule off (the meta-learner's own top-1).
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from typing import Any

import numpy as np
from metahpo_bench._live_protocol import group_key

from metahpo.knowledge import load_bundled
from metahpo.metalearners import (
    CANDIDATES,
    LOSS_AVERSION,
    SAME_TASK,
    default_evidence,
    get_strategy,
    with_metafeatures,
)
from metahpo.spaces import get_space

#: Loss aversions measured for the curve (the shipped one, ``metahpo.metalearners.LOSS_AVERSION``,
#: among them); ``None``: the rule off, the meta-learner's own top-1; ``-1``: the rule shipped
#: before (until META_REVISION 3): the top-1 unless its paired gain minus one standard error
#: is not above zero.
AVERSIONS: tuple[float | None, ...] = (None, -1.0, 0.0, 3.0, 10.0, 30.0)
PREVIOUS = -1.0


def top1_gains(
    strategy: str, families: list[str], aversions: tuple[float | None, ...] = AVERSIONS
) -> dict[float | None, list[dict[str, Any]]]:
    """Per aversion, one row per task: the top-1's and the default's stored scores."""
    exp = load_bundled()
    rows: dict[float | None, list[dict[str, Any]]] = {a: [] for a in aversions}
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
                mf = np.asarray(t.metafeatures, dtype=float)
                assert learner.task_space_ is not None
                for aversion in aversions:
                    if aversion is None or aversion == PREVIOUS:
                        d = learner.task_space_.distances(mf)
                        params = learner.suggest(mf, k=1, loss_aversion=None)[0].params
                        confidence = learner.task_space_.confidence(d)
                        x = space.encode(space.transfer(params)[0])
                        if aversion == PREVIOUS and np.abs(x - default).max() >= 1e-7:
                            ev = default_evidence(
                                learner.experience_.tasks,  # type: ignore[union-attr]
                                d,
                                learner.task_space_.weights(d),
                                x,
                                default,
                                same_task=SAME_TASK,
                            )
                            if ev.n >= 2 and ev.lower <= 0.0:
                                params = space.default_config()
                    else:
                        s = learner.suggest(mf, k=1, loss_aversion=aversion)[0]
                        params, confidence = s.params, s.confidence
                    x = space.encode(space.transfer(params)[0])
                    hit = np.flatnonzero(np.abs(t.X - x).sum(axis=1) < 1e-6)
                    dflt = np.flatnonzero(np.abs(t.X - default).sum(axis=1) < 1e-6)
                    if not len(hit) or not len(dflt):
                        continue
                    yc, yd = float(t.y[hit[0]]), float(t.y[dflt[0]])
                    rows[aversion].append(
                        {
                            "dataset": t.dataset,
                            "family": family,
                            "task": task_type,
                            "top1": yc,
                            "default": yd,
                            "gain": (yc if np.isfinite(yc) else -np.inf) - yd,
                            "is_default": bool(hit[0] == dflt[0]),
                            "confidence": float(confidence),
                        }
                    )
    return rows


def curve(rows: dict[float | None, list[dict[str, Any]]]) -> str:
    """One line per aversion and task type: the trade of mean gain for a short tail."""
    lines = [
        "| loss aversion | task | mean gain | share losing > 0.02 | worst | default chosen |",
        "| --- | --- | --: | --: | --: | --: |",
    ]
    for aversion, rs in rows.items():
        name = "rule off" if aversion is None else f"{aversion:g}"
        if aversion == PREVIOUS:
            name = "previous rule (gain - 1 SE > 0)"
        if aversion == LOSS_AVERSION:
            name += " (shipped)"
        for tt in ("classification", "regression"):
            g = np.asarray([max(r["gain"], -1.0) for r in rs if r["task"] == tt])
            dflt = np.mean([r["is_default"] for r in rs if r["task"] == tt])
            lines.append(
                f"| {name} | {tt} | {g.mean():+.4f} | {np.mean(g < -0.02):.1%} | "
                f"{g.min():+.4f} | {dflt:.0%} |"
            )
    return "\n".join(lines)


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
    ap.add_argument(
        "--families",
        nargs="+",
        default=["hgb", "rf", "svm", "linear", "knn", "mlp", "lgbm", "xgb"],
    )
    ap.add_argument("--md", default=None, help="write the tables here (Markdown)")
    args = ap.parse_args()
    rows = top1_gains(args.strategy, args.families)
    aversion = LOSS_AVERSION
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
            f"## As shipped: the best bet against the default (loss aversion {aversion:g})",
            "",
            "Among the meta-learner's top "
            f"{CANDIDATES} suggestions, the one whose paired gains over the "
            "default on the nearest training tasks have the highest loss-averse utility "
            f"(mean gain minus {aversion:g} times the mean loss) goes first, if that utility is "
            "positive; otherwise the library default (`metahpo.metalearners._default_first`).",
            "",
            summary(rows[aversion]),
            "",
            "## The trade: mean gain against the tail, by loss aversion",
            "",
            "0 takes any bet of positive mean gain; larger values take only bets that rarely "
            "lose on the similar tasks.",
            "",
            curve(rows),
            "",
            "## Without the rule (the meta-learner's own top-1)",
            "",
            summary(rows[None]),
            "",
        ]
    )
    print(text)
    if args.md:
        with open(args.md, "w") as fh:
            fh.write(text)


if __name__ == "__main__":
    main()
