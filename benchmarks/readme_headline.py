"""Copy the benchmarks' headlines into the README (never by hand).

Reads ``benchmarks/live/summary.json`` and replaces the text between the markers
``<!-- live-headline:start -->`` and ``<!-- live-headline:end -->`` in ``README.md`` with a
table of metahpo's default against Optuna's GPSampler and TPE (and the other peers present)
after 1, 10 and the full budget, with ratios; and, where the README has the markers
``<!-- replay-headline:start -->`` / ``<!-- replay-headline:end -->``, the replay's table from
``benchmarks/replay/summary.json``; and between ``<!-- time-headline:start -->`` /
``<!-- time-headline:end -->`` the TIME benchmark's tables from ``benchmarks/time/summary.json``.
``make bench-live``, ``make bench`` and ``make bench-time`` run it.

    python benchmarks/readme_headline.py [--summary PATH] [--replay PATH] [--time PATH]
                                         [--readme PATH]
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
TIME_START, TIME_END = "<!-- time-headline:start -->", "<!-- time-headline:end -->"
#: The TIME benchmark's methods as the README names them.
TIME_NAMES = {
    "metahpo": "**metahpo**",
    "flaml": "FLAML AutoML",
    "tpe-hb": "Optuna TPE + Hyperband",
    "gp": "Optuna GPSampler",
    "tpe": "Optuna TPE",
    "metahpo-nofid": "metahpo, no fidelities",
}


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


def _time_row(name: str, e: dict[str, Any], wtl: list[int] | None) -> str:
    mean = " / ".join(f"{v:.3f}" for v in e["mean"])
    first = e.get("first_pct_median")
    cells = [
        TIME_NAMES.get(name, name),
        mean,
        f"{e['median'][-1]:.3f}",
        "–" if wtl is None else ":".join(str(x) for x in wtl),
        str(e["no_model_final"]),
        "–" if first is None else f"{first:.0f} %",
    ]
    return "| " + " | ".join(cells) + " |"


def _time_groups(entry: dict[str, Any]) -> list[str]:
    """Mean normalised test regret at T per family and per task type, every method."""
    groups = [*(("family", k) for k in entry["family"]), *(("task", k) for k in entry["task"])]
    methods = list(entry["all"]["methods"])
    lines = [
        "| at T | " + " | ".join(TIME_NAMES.get(m, m) for m in methods) + " |",
        "| --- | " + " | ".join("--:" for _ in methods) + " |",
    ]
    for kind, key in groups:
        g = entry[kind][key]
        vals = [f"{g['methods'][m]['mean'][-1]:.3f}" if m in g["methods"] else "–" for m in methods]
        lines.append(f"| {key} ({g['n_cells']} cells) | " + " | ".join(vals) + " |")
    return lines


def time_headline(summary: dict[str, Any]) -> str:
    """The TIME benchmark's table per budget: every method's mean normalised test regret at
    10/25/50/100 % of T, metahpo's win:tie:loss against it, runs without a model at T and the
    median time of the first full-fidelity result; then the regret at T per family and task."""
    lines: list[str] = []
    p = summary["protocol"]
    grid = len(summary["datasets"]) * len(p["families"]) * p["seeds"]
    for budget, entry in summary["budgets"].items():
        g = entry["all"]
        me = summary["headline"]
        short = {m: e["n"] for m, e in g["methods"].items() if e["n"] < g["n_cells"]}
        lines += [
            f"**T = {float(budget):g} s of one core**: {g['n_cells']} of the grid's {grid} cells "
            f"(dataset × family × seed)"
            + (
                "; fewer for "
                + ", ".join(f"{TIME_NAMES.get(m, m)} ({n})" for m, n in short.items())
                if short
                else ""
            )
            + ":",
            "",
            "| method | mean regret at 10 / 25 / 50 / 100 % of T | median at T "
            f"| {TIME_NAMES.get(me, me)} W:T:L | no model at T | first result (median) |",
            "| --- | --- | --: | --: | --: | --: |",
            *(_time_row(m, e, g["wtl"].get(m)) for m, e in g["methods"].items()),
            "",
            *_time_groups(entry),
            "",
            f"{TIME_NAMES.get(me, me)}'s worst cells at T: "
            + ", ".join(
                f"{w['dataset']} ({w['family']}, {w['regret'][me]:.2f})" for w in g["worst"]
            )
            + ".",
            "",
        ]
    if "targets" in summary:
        from metahpo_bench._time_targets import render_targets

        me = summary["headline"]
        lines += [*render_targets(summary["targets"], me, f"Issue 25's targets for {me}:"), ""]
    cpu = summary["cpu"]
    lines += textwrap.wrap(
        f"Normalised test regret per cell between the worst (1) and the best (0) test score any "
        f"method reached at T; W:T:L is {summary['headline']}'s wins, ties and losses against "
        f"the row's method at T. {cpu['runs']} runs on {len(summary['datasets'])} datasets "
        f"(families {', '.join(summary['protocol']['families'])}), "
        f"{cpu['tuning_core_h']:.1f} core-hours of tuning and {cpu['refit_core_h']:.1f} of "
        "refits. From `benchmarks/time/summary.json` (`make bench-time`).",
        width=95,
    )
    return "\n".join(lines)


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
    ap.add_argument("--time", type=Path, default=ROOT / "benchmarks/time/summary.json")
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
    if args.time.exists() and TIME_START in text:
        timed = json.loads(args.time.read_text(encoding="utf-8"))
        text = _replace(text, TIME_START, TIME_END, time_headline(timed), args.readme)
        print(f"{args.readme}: TIME table updated from {args.time}")
    tmp = args.readme.with_name(f".{args.readme.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, args.readme)  # atomic: a crash never leaves half a README


if __name__ == "__main__":
    main()
