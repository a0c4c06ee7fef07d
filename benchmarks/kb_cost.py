"""Estimate what ``metahpo kb build`` costs for some families, from a timed sample.

Usage: python benchmarks/kb_cost.py [--datasets DIR] [--families lgbm xgb] [--sample A B C]
                                    [--configs 8] [--out cost.json]

Evaluates ``--configs`` design points, spread evenly over the build's design (index 0, the
library default, among them), of each family on each sample dataset with the build's own
protocol (:func:`evaluate_like_the_build`, from metahpo's public parts: the same subsample,
folds, design, seed and metrics), one process and one thread. ``hgb`` is evaluated on the
same points as the reference.

The estimate for the whole collection scales the bundled experience's recorded ``hgb`` fit
times (every shard stores the fit time of each of its 129 evaluations) by the measured
family/hgb ratio: ``hours(family) = hours(hgb, bundle) * mean_time(family) / mean_time(hgb)``,
the ratio pooled over the sample (total family time / total hgb time). ``hgb`` grows with rows,
features and classes as the other boosting libraries do, which is what makes it the yardstick;
both numbers of the ratio are measured at the same time, so the machine's load cancels out.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from metahpo.datasets import load_dataset
from metahpo.evaluation import BUILD_METRICS, DEFAULT_METRIC, Evaluation, evaluate, make_folds
from metahpo.knowledge import BuildSettings, Bundle, design
from metahpo.spaces import get_family

SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets"


def evaluate_like_the_build(
    path: str, family: str, indices: list[int], settings: BuildSettings
) -> list[tuple[int, Evaluation]]:
    """The design points ``indices`` of ``family`` on the dataset at ``path``, evaluated as
    ``metahpo kb build`` evaluates them: the seeded subsample, folds and design of
    ``settings``, the default metric and the build's extra metrics."""
    ds = load_dataset(path).subsample(settings.max_rows, seed=settings.seed)
    folds = make_folds(ds, settings.folds, settings.seed)
    configs = design(family, ds.task, settings.n_configs, settings.seed)
    metric, extra = DEFAULT_METRIC[ds.task], BUILD_METRICS[ds.task]
    return [
        (
            i,
            evaluate(
                ds,
                family,
                configs[i],
                metric=metric,
                extra_metrics=extra,
                folds=folds,
                seed=settings.seed,
            ),
        )
        for i in indices
    ]


def bundle_hours(bundle: Bundle) -> tuple[dict[str, float], int]:
    """Recorded fit hours per family of the bundle, and the number of shards."""
    hours: dict[str, float] = {}
    names = bundle.shard_names()
    for name in names:
        meta, _, fit_time = bundle.read_shard(name)
        for i, fam in enumerate(meta.families):
            hours[fam] = hours.get(fam, 0.0) + float(np.nansum(fit_time[i])) / 3600
    return hours, len(names)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--datasets", default=str(SHARED))
    p.add_argument("--families", nargs="+", default=["lgbm", "xgb"])
    p.add_argument("--sample", nargs="+", default=["712_chscase_geyser1", "xd6", "satimage"])
    p.add_argument("--configs", type=int, default=8)
    p.add_argument("--out", default=None, help="also write the numbers as JSON")
    args = p.parse_args()
    for fam in args.families:
        get_family(fam).check_available()
    settings = BuildSettings()  # the build's protocol: 128 configs, 2000 rows, 3 folds, seed 0
    step = (settings.n_configs + 1) / args.configs
    indices = [int(k * step) for k in range(args.configs)]
    families = ["hgb", *[f for f in args.families if f != "hgb"]]
    seconds: dict[str, dict[str, list[float]]] = {f: {} for f in families}
    failed = 0
    for name in args.sample:
        path = str(Path(args.datasets) / name)
        for fam in families:
            t = time.perf_counter()
            results = evaluate_like_the_build(path, fam, indices, settings)
            wall = time.perf_counter() - t
            seconds[fam][name] = [ev.fit_time for _, ev in results]
            failed += sum(not ev.ok for _, ev in results)
            print(
                f"{name:24s} {fam:5s} {len(indices)} configs: fit {sum(seconds[fam][name]):7.1f} s"
                f" (wall {wall:7.1f} s), per evaluation mean "
                f"{np.mean(seconds[fam][name]):6.2f} s, max {max(seconds[fam][name]):6.2f} s",
                flush=True,
            )
    hours, n_shards = bundle_hours(Bundle())
    hgb_total = sum(sum(v) for v in seconds["hgb"].values())
    estimate = {}
    for fam in families[1:]:
        ratio = sum(sum(v) for v in seconds[fam].values()) / hgb_total
        mean = float(np.mean([t for v in seconds[fam].values() for t in v]))
        naive = mean * n_shards * (settings.n_configs + 1) / 3600
        estimate[fam] = {"ratio_to_hgb": ratio, "fit_hours": hours["hgb"] * ratio}
        estimate[fam]["naive_fit_hours"] = naive
        print(
            f"{fam}: {ratio:.2f} x hgb -> {hours['hgb'] * ratio:.1f} fit hours for "
            f"{n_shards} datasets x {settings.n_configs + 1} configurations (the sample's mean "
            f"{mean:.2f} s per evaluation times all of them: {naive:.1f} h)"
        )
    total = sum(e["fit_hours"] for e in estimate.values())
    print(
        f"bundle hgb: {hours['hgb']:.1f} fit hours; new families together {total:.1f} fit hours,"
        f" about {total / 2:.1f} h wall with --workers 2 on two free cores ({failed} failed)"
    )
    if args.out:
        body = {
            "indices": indices,
            "seconds": seconds,
            "bundle_fit_hours": hours,
            "shards": n_shards,
            "estimate": estimate,
        }
        Path(args.out).write_text(json.dumps(body, indent=1))


if __name__ == "__main__":
    main()
