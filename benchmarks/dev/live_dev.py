"""Development loop with real training, on datasets outside the live benchmark's held-out draw.

NOT a benchmark of record (that is ``metahpo-bench --live``). The surrogate loop
(``surrogate_loop.py``) is cheaper but cannot show how an optimizer behaves on a real model's
response away from the stored configurations; this loop trains the real models, with the live
protocol (3-fold CV, at most 1000 rows, the same folds and seeds for every method), on a seeded
draw of datasets none of whose generator families is held out, so the datasets of record are
never used to tune ideas. Meta methods learn without the dev dataset's generator family.

    python benchmarks/dev/live_dev.py --family hgb --methods gp meta \
        --variant noisy:transfer-gp:latent=false --n-datasets 10 --out /tmp/dev_hgb.json

A variant is a live method ``meta-<name>``: metahpo's default method with another base of
the public registry (:data:`metahpo.optimizers.REGISTRY`) and keyword options for it (metahpo's
``base_options``), declared with ``--variant NAME:BASE[:key=value,...]`` or in
:data:`VARIANTS`; a base that metahpo does not have is a public
:class:`metahpo.optimizers.Base` entry in :data:`DEV_BASES`, added to that registry. Nothing
of metahpo is patched. Prints the mean normalised regret at 1/5/10/20/30 (per cell: best and
worst value any method found).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
from metahpo_bench._live import _run_unit
from metahpo_bench._live_protocol import (
    LIVE_METHODS,
    LiveSettings,
    group_key,
    parse_variant,
    select_holdout,
    variant_method,
)
from region import OPTIONS as REGION_OPTIONS
from region import region_gp

from metahpo.optimizers import Base

#: Dev variants, ``name -> (base, options)``, run as ``meta-<name>`` (see the module
#: docstring; ``--variant`` adds more). The record of those tried so far follows; they were
#: keyword overrides of transfer-gp's ranking-weighted ensemble or of its sampler (their
#: keywords since removed from ``src``). Tried on 2026-11-27, for hgb's weak refinement on
#: the held-out grid, and rejected (results in
#: ``results/2026-11-27-transfer-gp-variants.json``; mean regret @30, draw seed 11):
#:
#: * ``mixture``: the ensemble's deviation as a mixture's (weighted variances plus the spread
#:   of the models' means) instead of ``sum w_i^2 sigma_i^2``: hgb, seed 0, 10 cells: 0.144
#:   against the default's 0.091 and gp's 0.078;
#: * ``residual``: this study's GP on what the weighted past tasks' mean (scaled by a
#:   non-negative least-squares slope) does not explain, with its own deviation: hgb, seeds
#:   0-1, 19 cells: 0.087 against the default's 0.088 (gp 0.117); svm, seed 0, 10 cells:
#:   0.035 against the default's 0.005 (gp 0.154).
#:
#: Tried later on 2026-11-27 (session 9) and not adopted:
#:
#: * ``ls`` (``local_scales``, since removed from ``src``): a local search on the expected
#:   improvement, perturbing its 8 best candidates at unit-cube scales 0.1, 0.03 and 0.01 (16
#:   each) before choosing. hgb, seed 0, 10 cells, normalised over gp, meta and
#:   meta-ls: regret @10/@20/@30 0.267/0.158/0.107 against the default's 0.286/0.103/0.096
#:   and gp's 0.255/0.112/0.087. It won clearly on 3 cells (294_satellite_image @30 0.000 vs
#:   0.553, magic 0.073 vs 0.245, texture 0.056 vs 0.117) and lost on 4 (authorship,
#:   backache, hepatitis, sleep): single-seed differences between two near-identical
#:   refinements are as large as the differences between methods, so 10 cells cannot rank
#:   them; a candidate needs 2+ seeds and 20+ cells before it is worth a grid revision.
#:
#: Tried on 2026-11-28 (session 10) and rejected, then removed from ``src`` (results in
#: ``results/2026-11-28-choice-variants.json``; 2 seeds, 20 cells per family, normalised over
#: gp, meta and the variants), for the late over-exploitation the held-out grid shows:
#:
#: * ``own``: at each proposal, with probability the study's own ranking weight, expected
#:   improvement under this study's GP alone (its full deviation, plain GP-BO), otherwise the
#:   ensemble. @10/@20/@30: hgb 0.268/0.170/0.115 against the default's 0.278/0.132/0.083 and
#:   gp's 0.298/0.165/0.131; svm 0.093/0.051/0.030 against 0.057/0.036/0.029 (gp 0.128 @30).
#:   The study's own scikit-learn GP refines worse than the ensemble, even late.
#: * ``sample``: one model drawn by the weights (probability matching), with its own
#:   deviation. svm: 0.072/0.059/0.053 against the default's 0.057/0.036/0.029.
#:
#: ``taf`` (``acquisition="taf"``, the transfer acquisition function): no difference on the
#: surrogate loop (``results/2026-11-27-surrogate-taf.json.gz``, see ``surrogate_loop.py``).
#: Both keywords were removed from ``src`` (issue 24); their results stay in those files.
#:
#: Variants of transfer-gp's sampler itself. Session 12: ``handover``: a trial for which this
#: study's own GP has at least half the ranking weight goes to Optuna's GPSampler (the late
#: refinement that the live ablation measures best), the others to the ensemble. Not adopted
#: (results in ``results/2026-11-28-handover.json``; draw seed 11, normalised over gp, meta and the
#: variants; mean regret @10/@20/@30): svm, 2 seeds, 20 cells: 0.037/0.025/0.011 against the
#: default's 0.058/0.043/0.024; hgb, 20 cells: 0.290/0.117/0.081 against 0.254/0.174/0.102;
#: mlp, 1 seed, 10 cells: 0.187/0.135/0.092 against 0.214/0.171/0.140; but rf, 20 cells:
#: 0.171/0.110/0.097 against 0.149/0.106/0.025. ``handover-startup`` (hgb, 20 cells):
#: 0.234/0.169/0.131. Better late on three families, much worse on rf: no consistent win.
#: Both variants and ``TransferGPSampler(handover=)`` were removed (issue 24); the results stay
#: in ``results/2026-11-28-handover.json``.
#:
#: Session 14 (2026-12-06), issue 26 lever 1: ``region`` (``region:region-gp``, the dev base in
#: ``region.py``: Optuna's GPSampler inside a box of the 10 nearest tasks' bests, continuous
#: parameters only, every 5th proposal global). lgbm, draw seed 11, seed 0, 10 cells,
#: normalised over gp, meta, meta-gpsampler and meta-region; mean regret @10/@20/@30: region
#: 0.167/0.043/0.036, meta-gpsampler 0.167/0.052/0.040, meta (transfer-gp) 0.119/0.088/0.063,
#: gp 0.145/0.084/0.069 (``results/2026-12-06-region-lgbm.json``). With seed 1 added (20 cells,
#: same file) the order flips: meta (transfer-gp) 0.145/0.070/0.047, meta-gpsampler
#: 0.156/0.082/0.075, region 0.156/0.093/0.077, gp 0.163/0.119/0.076. Seed 0's lead was noise
#: (the rule above, once more); region-gp is not adopted on this evidence. Next: hgb and xgb,
#: 2+ seeds, before any grid revision.
VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {}

#: Dev bases that metahpo does not have, ``name -> Base(build)``: added to the public
#: :data:`metahpo.optimizers.REGISTRY` before the runs, so a variant can name them. ``build``
#: takes a :class:`metahpo.optimizers.BaseContext` and returns ``(sampler, prior or None)``.
DEV_BASES: dict[str, Base] = {"region-gp": Base(region_gp, options=REGION_OPTIONS)}


def register(variants: dict[str, tuple[str, dict[str, Any]]]) -> list[str]:
    """The dev bases into metahpo's registry and each variant into the lab's live methods;
    returns the variants' method names."""
    from metahpo.optimizers import REGISTRY

    for name, entry in DEV_BASES.items():
        REGISTRY.setdefault(name, entry)
    methods = []
    for name, (base, options) in variants.items():
        method = variant_method(name, base, options)
        LIVE_METHODS[method.name] = method
        methods.append(method.name)
    return methods


def dev_datasets(folder: str, n: int, seed: int) -> list[str]:
    index = json.loads((Path(folder) / "index.json").read_text())
    held = {group_key(x) for x in select_holdout(index)}
    rng = np.random.default_rng(seed)
    pool = sorted(k for k, v in index.items() if group_key(k) not in held and int(v["p"]) <= 100)
    picked: list[str] = []
    groups: set[str] = set()
    for name in rng.permutation(pool):
        if len(picked) < n and group_key(str(name)) not in groups:
            picked.append(str(name))
            groups.add(group_key(str(name)))
    return sorted(picked)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--datasets", default="../shared/datasets")
    ap.add_argument("--family", default="hgb")
    ap.add_argument("--methods", nargs="+", default=["gp", "meta"])
    ap.add_argument("--n-datasets", type=int, default=10)
    ap.add_argument("--draw-seed", type=int, default=11)
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--out", required=True)
    ap.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME:BASE[:key=value,...]",
        help="also run meta-NAME: the default meta method with BASE and these base options",
    )
    args = ap.parse_args()
    declared = dict(VARIANTS)
    for text in args.variant:
        name, base, options = parse_variant(text)
        declared[name] = (base, options)
    args.methods += [m for m in register(declared) if m not in args.methods]
    path = Path(args.out)
    results: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    names = dev_datasets(args.datasets, args.n_datasets, args.draw_seed)
    settings = LiveSettings()
    for name in names:
        for seed in range(args.seeds):
            for m in args.methods:
                key = f"{m}|{name}|{seed}"
                if key in results:
                    continue
                run = _run_unit((name, args.family, m, seed), args.datasets, settings, None, "dev")
                sign = 1.0 if run.direction == "maximize" else -1.0
                vals = [sign * v if v is not None else float("nan") for v in run.values]
                results[key] = {"values": vals}
                path.write_text(json.dumps(results))
                print(key, f"{np.nanmax(vals):.4f}", flush=True)
    report(results, args.methods)


def report(results: dict[str, Any], methods: list[str]) -> None:
    cells: dict[tuple[str, str], dict[str, np.ndarray]] = {}
    for key, r in results.items():
        m, name, seed = key.split("|")
        v = np.asarray(r["values"], dtype=float)
        cells.setdefault((name, seed), {})[m] = np.fmax.accumulate(np.nan_to_num(v, nan=-1e9))
    at = [1, 5, 10, 20, 30]
    table: dict[str, list[list[float]]] = {m: [] for m in methods}
    for rs in cells.values():
        if not all(m in rs for m in methods):
            continue
        hi = max(float(rs[m][-1]) for m in methods)
        lo = min(float(np.min(rs[m][rs[m] > -1e9])) for m in methods)
        for m in methods:
            table[m].append(
                [(hi - rs[m][min(t, len(rs[m])) - 1]) / max(hi - lo, 1e-12) for t in at]
            )
    print(f"{len(table[methods[0]])} cells; mean regret at {at}")
    for m in methods:
        print(f"{m:20s} " + " ".join(f"{v:.4f}" for v in np.mean(table[m], axis=0)))


if __name__ == "__main__":
    main()
