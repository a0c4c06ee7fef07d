"""The live benchmark's run cache: one record per (method, dataset, family, seed) run.

Each method's runs live in one file, ``DIR/<method>.json.gz`` (versioned JSON, gzip), rewritten
atomically (a temporary file, then a rename) after every finished run, by one process only. So
a benchmark killed at any moment keeps every run it finished, committed files let a new method
variant cost only its own runs, and a run whose method settings or protocol changed (another
fingerprint) is computed again instead of read back.
"""

from __future__ import annotations

import gzip
import json
import math
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from metahpo.errors import MetaHPOError

FORMAT_VERSION = 1


@dataclass(frozen=True)
class LiveRun:
    """One live run: every evaluation in order, with its timing.

    Attributes:
        method, dataset, family, seed: Which run.
        fingerprint: Hash of the method's settings and the protocol (see
            :func:`~metahpo_bench._live_protocol.run_fingerprint`).
        task, metric, direction: The objective.
        values: Mean CV score of each evaluation, ``None`` where it failed.
        fit_s: Seconds of cross-validated training of each evaluation.
        overhead_s: Seconds the optimizer took before each evaluation (time between the end of
            the previous evaluation, or the end of setup, and the start of this one).
        setup_s: Seconds before the first proposal (meta-features, meta-learner fits).
        params: Each evaluation's configuration.
        errors: Why evaluations failed, by index.
    """

    method: str
    dataset: str
    family: str
    seed: int
    fingerprint: str
    task: str
    metric: str
    direction: str
    values: tuple[float | None, ...]
    fit_s: tuple[float, ...]
    overhead_s: tuple[float, ...]
    setup_s: float
    params: tuple[dict[str, Any], ...] = field(default=(), repr=False)
    errors: tuple[tuple[int, str], ...] = ()

    @property
    def key(self) -> tuple[str, str, str, int]:
        return (self.method, self.dataset, self.family, self.seed)

    def gains(self) -> list[float]:
        """Scores as gains (larger is better); ``nan`` for failed evaluations."""
        sign = 1.0 if self.direction == "maximize" else -1.0
        return [sign * v if v is not None and math.isfinite(v) else math.nan for v in self.values]

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["errors"] = [list(e) for e in self.errors]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LiveRun:
        return cls(
            method=str(d["method"]),
            dataset=str(d["dataset"]),
            family=str(d["family"]),
            seed=int(d["seed"]),
            fingerprint=str(d["fingerprint"]),
            task=str(d["task"]),
            metric=str(d["metric"]),
            direction=str(d["direction"]),
            values=tuple(None if v is None else float(v) for v in d["values"]),
            fit_s=tuple(float(v) for v in d["fit_s"]),
            overhead_s=tuple(float(v) for v in d["overhead_s"]),
            setup_s=float(d["setup_s"]),
            params=tuple(dict(p) for p in d.get("params", ())),
            errors=tuple((int(i), str(m)) for i, m in d.get("errors", ())),
        )


class RunCache:
    """Live runs by method, read from and written to ``DIR/<method>.json.gz``."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self._runs: dict[str, dict[tuple[str, str, str, int], LiveRun]] = {}

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the folder's lock (``DIR/.lock``) while training: each method's file is
        rewritten whole, so a second writing process would lose runs; it fails at once."""
        try:
            import fcntl
        except ImportError:  # not POSIX: no lock
            yield
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(self.directory / ".lock", "w") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                raise MetaHPOError(
                    f"another live benchmark is writing to {self.directory}; run one at a time "
                    "(or give this one another --cache)"
                ) from None
            yield

    def _path(self, method: str) -> Path:
        return self.directory / f"{method}.json.gz"

    def _load(self, method: str) -> dict[tuple[str, str, str, int], LiveRun]:
        if method not in self._runs:
            runs: dict[tuple[str, str, str, int], LiveRun] = {}
            path = self._path(method)
            if path.exists():
                with gzip.open(path, "rt", encoding="utf-8") as fh:
                    doc = json.load(fh)
                if doc.get("format") != FORMAT_VERSION:
                    raise ValueError(f"{path}: unknown run-cache format {doc.get('format')!r}")
                for d in doc["runs"]:
                    run = LiveRun.from_dict(d)
                    runs[run.key] = run
            self._runs[method] = runs
        return self._runs[method]

    def get(
        self, method: str, dataset: str, family: str, seed: int, fingerprint: str
    ) -> LiveRun | None:
        """The cached run, or ``None`` if there is none with this fingerprint."""
        run = self._load(method).get((method, dataset, family, seed))
        return run if run is not None and run.fingerprint == fingerprint else None

    def put(self, run: LiveRun) -> None:
        """Store a finished run (replacing an older one of the same key) and write the file."""
        runs = self._load(run.method)
        runs[run.key] = run
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self._path(run.method)
        tmp = path.with_name(path.name + ".tmp")
        doc = {
            "format": FORMAT_VERSION,
            "method": run.method,
            "runs": [r.to_dict() for _, r in sorted(runs.items())],
        }
        with gzip.open(tmp, "wt", encoding="utf-8", compresslevel=9) as fh:
            json.dump(doc, fh, separators=(",", ":"))
        os.replace(tmp, path)

    def runs(self, methods: Iterable[str]) -> Iterator[LiveRun]:
        """Every cached run of ``methods`` (any fingerprint)."""
        for m in methods:
            yield from self._load(m).values()
