"""Copy the live benchmark's headline into the README (never by hand).

Reads ``benchmarks/live/summary.json`` and replaces the text between the markers
``<!-- live-headline:start -->`` and ``<!-- live-headline:end -->`` in ``README.md`` with a
table of metahpo's default against Optuna's GPSampler and TPE (and the other peers present)
after 1, 10 and the full budget, with ratios. ``make bench-live`` runs it.

    python benchmarks/readme_headline.py [--summary PATH] [--readme PATH]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
START, END = "<!-- live-headline:start -->", "<!-- live-headline:end -->"
HEADLINE = "meta"
PEERS = {"gp": "Optuna GPSampler", "tpe": "Optuna TPE", "flaml": "FLAML CFO", "random": "random"}


def headline(summary: dict[str, Any]) -> str:
    p = summary["protocol"]
    cuts: list[int] = summary["cutpoints"]
    methods = summary["methods"]
    budget = p["budget"]
    if HEADLINE not in methods:
        return "_The live benchmark has no complete run cells yet._"
    me = methods[HEADLINE]
    peers = [m for m in PEERS if m in methods]
    ks = [cuts.index(t) for t in (1, 10, budget) if t in cuts]
    head = ["after", "metahpo default", *(PEERS[m] for m in peers)]
    rows = []
    for k in ks:
        t = cuts[k]
        cells = [f"{t} evaluation{'s' if t > 1 else ''}", f"**{me['mean'][k]:.3f}**"]
        for m in peers:
            v = methods[m]["mean"][k]
            ratio = f" (×{me['mean'][k] / v:.2f})" if v > 0 else ""
            cells.append(f"{v:.3f}{ratio}")
        rows.append(cells)
    cpu_h = sum(float(m.get("seconds_total", 0.0)) for m in methods.values()) / 3600
    lines = [
        "| " + " | ".join(head) + " |",
        "| --- | " + " | ".join("--:" for _ in head[1:]) + " |",
        *("| " + " | ".join(r) + " |" for r in rows),
        "",
        f"Mean normalised regret over {summary['n_datasets']} held-out datasets "
        f"({', '.join(summary['families'])}; {summary['n_cells']} run cells, budget {budget}, "
        f"{p['cv_folds']}-fold CV on at most {p['max_rows']} rows; 0 = the best score any method "
        "found, 1 = the worst); in brackets metahpo's regret divided by the peer's "
        f"(below 1: metahpo is better). Coverage: {summary['runs_total']} of "
        f"{summary['runs_expected']} runs of the grid; cost of the runs so far: "
        f"{cpu_h:.1f} CPU-hours of training and optimizer time.",
    ]
    if summary["runs_total"] < summary["runs_expected"]:
        lines.insert(
            0,
            f"**Partial grid** ({summary['runs_total']} of {summary['runs_expected']} runs, "
            f"complete run cells on {summary['n_datasets']} of {len(summary['holdout'])} "
            "held-out datasets so far): a direction, not yet the measure of record.\n",
        )
    if "gp" in me.get("wtl", {}):
        wtl = me["wtl"]["gp"]
        t20 = "20" if "20" in wtl else str(budget)
        w, ti, lo = wtl[t20]
        reach = me["reach"]["gp"]
        lines[-1] += (
            f" Against GPSampler, paired runs at {t20} evaluations: {w} wins, {ti} ties, "
            f"{lo} losses; metahpo reaches GPSampler's regret after {budget} evaluations in "
            f"{reach['median']:g} evaluations in the median run ({reach['fraction']:.0%} of runs "
            "get there)."
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--summary", type=Path, default=ROOT / "benchmarks/live/summary.json")
    ap.add_argument("--readme", type=Path, default=ROOT / "README.md")
    args = ap.parse_args()
    summary = json.loads(args.summary.read_text(encoding="utf-8"))
    text = args.readme.read_text(encoding="utf-8")
    if START not in text or END not in text:
        raise SystemExit(f"{args.readme}: markers {START} / {END} not found")
    before, rest = text.split(START, 1)
    _, after = rest.split(END, 1)
    args.readme.write_text(f"{before}{START}\n{headline(summary)}\n{END}{after}", encoding="utf-8")
    print(f"{args.readme}: live headline updated from {args.summary}")


if __name__ == "__main__":
    main()
