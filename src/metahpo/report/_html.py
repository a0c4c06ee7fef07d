"""A self-contained HTML report of tuning runs stored in an Optuna storage.

One page, no external files: for each study its task (dataset, family, metric, meta-features
count), the best configuration, what the meta-learner did (warm starts, the negative-transfer
guard), and figures embedded as PNG: the objective of every trial with the best so far (warm
starts marked), parameter importances (fANOVA) and the objective against each parameter.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import math
import warnings
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from optuna.trial import FrozenTrial, TrialState

from metahpo._files import atomic_write, check_outputs
from metahpo._version import __version__
from metahpo.errors import MetaHPOError
from metahpo.knowledge import (
    RECORD_ATTR,
    TRIAL_ERROR_ATTR,
    KnowledgeStore,
    TaskRecord,
    require_existing,
)
from metahpo.optimizers import WARM_ATTR, guard_message

#: Studies in one report at most (the most recent ones when the store holds more).
MAX_STUDIES = 50
#: Parameters plotted against the objective at most (the most important first).
MAX_SLICES = 8

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:70rem;
color:#222;padding:0 1rem}
h1{font-size:1.6rem}h2{font-size:1.25rem;border-bottom:1px solid #ddd;padding-bottom:.2rem;
margin-top:2.5rem}h3{font-size:1rem;margin-top:1.5rem}
table{border-collapse:collapse;margin:.5rem 0;font-size:.9rem}
td,th{border:1px solid #ddd;padding:.25rem .6rem;text-align:left}th{background:#f5f5f5}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.note{color:#555;font-size:.9rem}.warn{color:#a40}
img{max-width:100%;height:auto;border:1px solid #eee;margin:.3rem 0}
"""


def _png(fig: Any) -> str:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return f'<img alt="figure" src="data:image/png;base64,{data}">'


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        if not math.isfinite(v):
            return str(v)
        return f"{v:.4g}"
    return str(v)


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="n">{html.escape(_fmt(c))}</td>'
            if isinstance(c, (int, float))
            else f"<td>{html.escape(_fmt(c))}</td>"
            for c in row
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _history_figure(study: optuna.Study, done: list[FrozenTrial]) -> str:
    from matplotlib.figure import Figure

    maximize = study.direction == optuna.study.StudyDirection.MAXIMIZE
    numbers = np.array([t.number for t in done])
    values = np.array([float(t.value) for t in done])  # type: ignore[arg-type]
    best = np.maximum.accumulate(values) if maximize else np.minimum.accumulate(values)
    warm = np.array([t.system_attrs.get(WARM_ATTR) is not None for t in done])
    fig = Figure(figsize=(7.5, 3.4))
    ax = fig.add_subplot()
    ax.scatter(numbers[~warm], values[~warm], s=18, color="#1f77b4", label="refinement")
    if warm.any():
        ax.scatter(
            numbers[warm],
            values[warm],
            s=30,
            color="#ff7f0e",
            marker="D",
            label="meta-learned warm start",
        )
    ax.step(numbers, best, where="post", color="#2ca02c", label="best so far")
    ax.set_xlabel("trial")
    ax.set_ylabel("objective")
    ax.legend(loc="lower right" if maximize else "upper right", fontsize=8)
    ax.grid(alpha=0.3)
    return _png(fig)


def _importances(study: optuna.Study, done: list[FrozenTrial]) -> dict[str, float]:
    names = {k for t in done for k in t.params}
    if len(done) < 5 or not names:
        return {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            evaluator = optuna.importance.FanovaImportanceEvaluator(seed=0)
            got = optuna.importance.get_param_importances(study, evaluator=evaluator)
    except Exception:  # too few distinct values, dynamic spaces: leave the figure out
        return {}
    return {k: float(v) for k, v in got.items()}


def _importance_figure(importances: dict[str, float]) -> str:
    from matplotlib.figure import Figure

    names = list(importances)[::-1]
    fig = Figure(figsize=(6.5, 0.35 * len(names) + 1.0))
    ax = fig.add_subplot()
    ax.barh(names, [importances[n] for n in names], color="#1f77b4")
    ax.set_xlabel("fANOVA importance (share of the objective's variance)")
    ax.grid(alpha=0.3, axis="x")
    return _png(fig)


def _slice_figure(done: list[FrozenTrial], params: list[str]) -> str:
    from matplotlib.figure import Figure

    cols = min(4, len(params))
    rows = math.ceil(len(params) / cols)
    fig = Figure(figsize=(3.0 * cols, 2.6 * rows))
    for i, name in enumerate(params):
        ax = fig.add_subplot(rows, cols, i + 1)
        pts = [(t.params[name], float(t.value)) for t in done if name in t.params]  # type: ignore[arg-type]
        xs = [p[0] for p in pts]
        ys = [p[1] for p in pts]
        dist = done[0].distributions.get(name) if done else None
        if all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in xs):
            ax.scatter(xs, ys, s=12, c=np.arange(len(xs)), cmap="viridis")
            if getattr(dist, "log", False):
                from matplotlib.ticker import NullFormatter

                ax.set_xscale("log")
                ax.xaxis.set_minor_formatter(NullFormatter())
        else:
            labels = sorted({str(x) for x in xs})
            pos = {lab: j for j, lab in enumerate(labels)}
            ax.scatter([pos[str(x)] for x in xs], ys, s=12, c=np.arange(len(xs)), cmap="viridis")
            ax.set_xticks(range(len(labels)), labels, rotation=30, fontsize=7)
        ax.set_title(name, fontsize=9)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return _png(fig)


def _record(study: optuna.Study) -> TaskRecord | None:
    raw = study.user_attrs.get(RECORD_ATTR)
    return TaskRecord.from_json(raw) if raw is not None else None


def _failures(trials: Sequence[FrozenTrial], most: int = 10) -> str:
    """The reasons of failed trials (the trial attribute ``metahpo:error``), most frequent
    first; a trial whose worker died has no reason recorded."""
    reasons = Counter(
        str(t.user_attrs.get(TRIAL_ERROR_ATTR, "no reason recorded (its worker stopped)"))
        for t in trials
        if t.state == TrialState.FAIL
    )
    if not reasons:
        return ""
    rows = [[n, reason] for reason, n in reasons.most_common(most)]
    return "<h3>Failed trials</h3>" + _table(["trials", "reason"], rows)


def _study_section(study: optuna.Study) -> str:
    trials = study.get_trials(deepcopy=False)
    done = [t for t in trials if t.state == TrialState.COMPLETE and t.values is not None]
    failed = sum(t.state == TrialState.FAIL for t in trials)
    running = sum(t.state in (TrialState.RUNNING, TrialState.WAITING) for t in trials)
    out = [f"<h2>{html.escape(study.study_name)}</h2>"]
    if len(study.directions) > 1:
        return "".join(out) + '<p class="note">Multi-objective study: not summarised here.</p>'
    record = _record(study)
    facts: list[tuple[str, Any]] = []
    if record is not None:
        facts += [
            ("dataset", f"{record.dataset} ({record.n_rows} rows, {record.n_features} features)"),
            ("task", record.task),
            ("model family", record.family),
            ("metric", f"{record.metric} ({record.direction})"),
            ("meta-features", len(record.metafeatures)),
            ("source", record.source),
        ]
    else:
        facts.append(
            ("metric", f"objective ({study.direction.name.lower()}); a plain Optuna study")
        )
    facts += [("trials", f"{len(done)} complete, {failed} failed, {running} running or waiting")]
    if done:
        best = study.best_trial
        facts.append(("best", f"{_fmt(float(best.value))} (trial {best.number})"))  # type: ignore[arg-type]
    out.append(_table(["", ""], facts))
    n_warm = sum(t.system_attrs.get(WARM_ATTR) is not None for t in trials)
    if n_warm:
        warm_done = [t for t in done if t.system_attrs.get(WARM_ATTR) is not None]
        values = [float(t.value) for t in warm_done]  # type: ignore[arg-type]
        pick = max if study.direction == optuna.study.StudyDirection.MAXIMIZE else min
        best_warm = pick(values) if values else float("nan")
        out.append(
            f'<p class="note">{n_warm} meta-learned warm-start trials '
            f"(best of them: {_fmt(best_warm)}), then the base sampler.</p>"
        )
    guard = guard_message(study)
    if guard:
        out.append(f'<p class="warn">Negative-transfer guard: {html.escape(guard)}</p>')
    out.append(_failures(trials))
    if not done:
        return "".join(out) + '<p class="note">No completed trial yet.</p>'
    best = study.best_trial
    out.append("<h3>Best configuration</h3>")
    out.append(_table(["parameter", "value"], sorted(best.params.items())))
    out.append("<h3>Objective per trial</h3>")
    out.append(_history_figure(study, done))
    importances = _importances(study, done)
    if importances:
        out.append("<h3>Parameter importances</h3>")
        out.append(_importance_figure(importances))
    params = list(importances) or sorted({k for t in done for k in t.params})
    if params:
        out.append("<h3>Objective against each parameter</h3>")
        out.append('<p class="note">Colour: trial order (dark = early).</p>')
        out.append(_slice_figure(done, params[:MAX_SLICES]))
    reverse = study.direction == optuna.study.StudyDirection.MAXIMIZE
    top = sorted(done, key=lambda t: float(t.value), reverse=reverse)[:15]  # type: ignore[arg-type]
    names = sorted({k for t in top for k in t.params})
    out.append("<h3>Best trials</h3>")
    out.append(
        _table(
            ["trial", "value", *names, "seconds"],
            [
                [
                    t.number,
                    float(t.value),  # type: ignore[arg-type]
                    *(t.params.get(n, "") for n in names),
                    round(t.duration.total_seconds(), 2) if t.duration is not None else "",
                ]
                for t in top
            ],
        )
    )
    return "".join(out)


def write_report(
    storage: str | Any,
    out: str | Path,
    studies: Sequence[str] | None = None,
) -> Path:
    """Write the HTML report of ``studies`` (default: every study in ``storage``) to ``out``.

    Args:
        storage: An Optuna storage URL or object (metahpo runs and plain Optuna studies alike).
        out: The HTML file to write.
        studies: Study names (default: all, the :data:`MAX_STUDIES` most recent).

    Raises:
        MetaHPOError: An unreadable storage, an empty one, an unknown study name, or ``out``
            naming the storage's own file.
    """
    require_existing(storage)
    check_outputs({"out": out}, storage=storage, writable=False)
    store = KnowledgeStore(storage)
    names = store.study_names()
    if not names:
        raise MetaHPOError("the storage holds no study: nothing to report")
    if studies:
        unknown = [s for s in studies if s not in names]
        if unknown:
            shown = ", ".join(names[:20]) + (" ..." if len(names) > 20 else "")
            raise MetaHPOError(f"no study named {', '.join(unknown)}; the storage has: {shown}")
        chosen = list(studies)
    else:
        chosen = names[-MAX_STUDIES:]
    sections = []
    overview = []
    for name in chosen:
        study = optuna.load_study(study_name=name, storage=store.storage)
        sections.append(_study_section(study))
        done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        record = _record(study)
        best: Any = ""
        if done and len(study.directions) == 1:
            best = float(study.best_value)
        overview.append(
            [
                name,
                record.dataset if record else "",
                record.family if record else "",
                record.metric if record else "",
                len(done),
                best,
            ]
        )
    today = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")

    page = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>metahpo report</title><style>{_CSS}</style></head><body>"
        "<h1>metahpo tuning report</h1>"
        f'<p class="note">{len(chosen)} of {len(names)} studies; written {today} by metahpo '
        f"{html.escape(__version__)}.</p>"
        + _table(["study", "dataset", "family", "metric", "complete trials", "best"], overview)
        + "".join(sections)
        + "</body></html>"
    )
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, page)
    return path
