"""TIME benchmark: the anytime curve of one run, from the incumbents its process recorded.

A run's process writes one JSON line per event to its incumbent file (flushed at once, so a
process killed at the deadline keeps every line it finished; a torn last line is skipped):

* ``{"t": s, "value": v, "config": {...}}``: a new incumbent (``metahpo.tune``'s COMPLETE
  trials that beat the best so far), ``t`` seconds after the run's start;
* ``{"flaml_offset": s}``: FLAML's ``fit`` started ``s`` seconds after the run's start; its own
  log (``log_type="all"``) then holds every evaluation, timed from that moment;
* ``{"full_size": n}``: FLAML's full sample size (``AutoML.max_resource``; ``null``: FLAML does
  not subsample, every evaluation is at full fidelity);
* ``{"error": "..."}``: the method failed; ``{"end": s}``: it returned.

:func:`incumbent_at` reads the curve at a checkpoint.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Incumbent:
    """The best configuration known at full fidelity from ``t`` seconds on.

    Attributes:
        t: Seconds since the run's start.
        value: Its validation score (the method's own: mean CV score, or FLAML's loss turned
            into a score where FLAML reports one).
        config: The configuration (FLAML: its estimator's).
        record_id: FLAML's log record (to refit it with FLAML's own learner), else ``None``.
    """

    t: float
    value: float
    config: dict[str, Any] = field(default_factory=dict)
    record_id: int | None = None


@dataclass(frozen=True)
class RunLog:
    """What a run's process wrote: its incumbents and how it ended."""

    incumbents: tuple[Incumbent, ...]
    error: str | None = None
    ended: float | None = None
    flaml_offset: float | None = None
    full_size: int | None = None
    started: bool = False


def _lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    out: list[dict[str, Any]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            doc = json.loads(line)
        except json.JSONDecodeError:  # a line torn by the kill at the deadline
            continue
        if isinstance(doc, dict):
            out.append(doc)
    return out


def read_run_log(path: str | Path) -> RunLog:
    """The events of an incumbent file (see the module docstring), incumbents in time order."""
    incumbents: list[Incumbent] = []
    info: dict[str, Any] = {}
    for doc in _lines(Path(path)):
        if "t" in doc and "value" in doc:
            incumbents.append(
                Incumbent(float(doc["t"]), float(doc["value"]), doc.get("config", {}))
            )
        for key in ("error", "end", "flaml_offset", "full_size", "start"):
            if key in doc:
                info[key] = doc[key]
    return RunLog(
        incumbents=tuple(sorted(incumbents, key=lambda i: i.t)),
        error=None if info.get("error") is None else str(info["error"]),
        ended=None if info.get("end") is None else float(info["end"]),
        flaml_offset=None if info.get("flaml_offset") is None else float(info["flaml_offset"]),
        full_size=None if info.get("full_size") is None else int(info["full_size"]),
        started="start" in info,
    )


def flaml_incumbents(
    log_path: str | Path, offset: float, full_size: int | None
) -> tuple[Incumbent, ...]:
    """FLAML's incumbents from its log (``log_type="all"``): the running best validation loss
    among records at full fidelity (sample size ``full_size`` or more; all of them when
    ``full_size`` is ``None``), each timed ``offset`` + FLAML's wall-clock time. The value is
    ``-loss`` (FLAML minimises; a larger value is better)."""
    best = math.inf
    out: list[Incumbent] = []
    for doc in _lines(Path(log_path)):
        if "validation_loss" not in doc or "wall_clock_time" not in doc:
            continue  # FLAML's checkpoint lines
        size = doc.get("sample_size")
        if full_size is not None and size is not None and int(size) < full_size:
            continue
        loss = float(doc["validation_loss"])
        if not math.isfinite(loss) or loss >= best:
            continue
        best = loss
        config = dict(doc.get("config") or {})
        config.pop("FLAML_sample_size", None)
        out.append(
            Incumbent(
                t=offset + float(doc["wall_clock_time"]),
                value=-loss,
                config={"learner": doc.get("learner"), **config},
                record_id=int(doc["record_id"]),
            )
        )
    return tuple(out)


def checkpoint_times(budget: float, fractions: Sequence[float]) -> tuple[float, ...]:
    """Seconds since the start of each checkpoint."""
    return tuple(budget * f for f in fractions)


def incumbent_at(incumbents: Sequence[Incumbent], t: float) -> Incumbent | None:
    """The incumbent at ``t`` seconds: the last one found at or before ``t`` (``None``: the
    method had no full-fidelity result yet)."""
    found: Incumbent | None = None
    for inc in incumbents:
        if inc.t <= t + 1e-9:
            found = inc
        else:
            break
    return found
