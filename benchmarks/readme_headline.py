"""Copy the benchmarks' headlines into the README (never by hand).

Reads ``benchmarks/live/summary.json`` and replaces the text between the markers
``<!-- live-headline:start -->`` and ``<!-- live-headline:end -->`` in ``README.md`` with a
table of metahpo's default against Optuna's GPSampler and TPE (and the other peers present)
after 1, 10 and the full budget, with ratios; and, where the README has the markers
``<!-- replay-headline:start -->`` / ``<!-- replay-headline:end -->``, the replay's table from
``benchmarks/replay/summary.json``. ``make bench-live`` and ``make bench`` run it.

    python benchmarks/readme_headline.py [--summary PATH] [--replay PATH] [--readme PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import textwrap
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
START, END = "<!-- live-headline:start -->", "<!-- live-headline:end -->"
REPLAY_START, REPLAY_END = "<!-- replay-headline:start -->", "<!-- replay-headline:end -->"
#: The replay's peers in its README table: the Optuna sampler, random, the library default.
REPLAY_PEERS = ("tpe", "random", "default")
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


def replay_headline(summary: dict[str, Any]) -> str:
    """The replay's table: the best metahpo method (lowest mean regret among the methods that
    learn from the experience) after 1, 10 and the full budget, against the peers."""
    cuts: list[int] = summary["cutpoints"]
    methods = summary["methods"]
    ours = [m for m, e in methods.items() if e["meta"]]
    peers = [m for m in REPLAY_PEERS if m in methods]
    head = ["after", "best metahpo method", *(f"`{m}`" for m in peers)]
    rows = []
    for t in (1, 10, summary["budget"]):
        if t not in cuts or not ours:
            continue
        k = cuts.index(t)
        best = min(ours, key=lambda m: (methods[m]["mean"][k], m))
        v = methods[best]["mean"][k]
        cells = [f"{t} evaluation{'s' if t > 1 else ''}", f"`{best}` {v:.3f}"]
        for m in peers:
            p = methods[m]["mean"][k]
            cells.append(f"{p:.3f}" + (f" (×{v / p:.2f})" if p > 0 else ""))
        rows.append(cells)
    return "\n".join(
        [
            "| " + " | ".join(head) + " |",
            "| --- | --- | " + " | ".join("---" for _ in peers) + " |",
            *("| " + " | ".join(r) + " |" for r in rows),
            "",
            *textwrap.wrap(
                f"Over {summary['n_datasets']} held-out datasets, {summary['n_runs']} runs per "
                f"method (every (dataset, family) task × seeds; experience "
                f"`{summary['experience']}`); in brackets the best metahpo method's regret "
                "divided by the peer's.",
                width=95,
            ),
        ]
    )


def _replace(text: str, start: str, end: str, block: str, where: Path) -> str:
    if start not in text or end not in text:
        raise SystemExit(f"{where}: markers {start} / {end} not found")
    before, rest = text.split(start, 1)
    _, after = rest.split(end, 1)
    return f"{before}{start}\n{block}\n{end}{after}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--summary", type=Path, default=ROOT / "benchmarks/live/summary.json")
    ap.add_argument("--replay", type=Path, default=ROOT / "benchmarks/replay/summary.json")
    ap.add_argument("--readme", type=Path, default=ROOT / "README.md")
    args = ap.parse_args()
    summary = json.loads(args.summary.read_text(encoding="utf-8"))
    text = args.readme.read_text(encoding="utf-8")
    text = _replace(text, START, END, headline(summary), args.readme)
    print(f"{args.readme}: live headline updated from {args.summary}")
    if args.replay.exists() and REPLAY_START in text:
        replay = json.loads(args.replay.read_text(encoding="utf-8"))
        text = _replace(text, REPLAY_START, REPLAY_END, replay_headline(replay), args.readme)
        print(f"{args.readme}: replay table updated from {args.replay}")
    tmp = args.readme.with_name(f".{args.readme.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, args.readme)  # atomic: a crash never leaves half a README


if __name__ == "__main__":
    main()
