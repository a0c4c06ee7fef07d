"""TIME benchmark run cache: one record per (method, dataset, family, budget, seed) run.

Each method's runs live in one file, ``DIR/<method>.jsonl.gz`` (gzip, one JSON record per
line), rewritten atomically (temporary file, then a rename) after every finished run by one
process only (a lock, as the live cache's). A grid killed at any moment keeps every run it
finished and resumes with the rest; a run whose method or protocol changed (another
fingerprint) is computed again. Records keep only what the report reads: the incumbents'
times and validation scores, and the configuration and test score at each checkpoint.
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from metahpo_bench._live_cache import RunCache

FORMAT_VERSION = 1
#: One run of the grid: (dataset, family, method, budget seconds, seed).
TimeUnit = tuple[str, str, str, float, int]


@dataclass(frozen=True)
class Checkpoint:
    """A run's incumbent at one checkpoint, refitted and scored on the test split.

    Attributes:
        fraction: Share of the budget.
        t: When that incumbent was found (seconds since the start); ``None``: no model yet.
        test: Its test score; ``None``: no model (or its refit failed, see ``error``).
        config: The incumbent's configuration.
        error: Why the refit failed, if it did.
    """

    fraction: float
    t: float | None
    test: float | None
    config: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


@dataclass(frozen=True)
class TimeRun:
    """One TIME run: its anytime curve and the test score at each checkpoint.

    Attributes:
        method, dataset, family, budget_s, seed: Which run.
        fingerprint: Hash of the method and the protocol (:func:`run_fingerprint`).
        task, metric, direction: The objective.
        n_train, n_test: Rows of the split.
        incumbents: ``(t, validation score)`` of every incumbent, in time order.
        checkpoints: One per checkpoint of the protocol.
        no_model: Test score of a constant predictor (majority class / training mean), which
            a checkpoint without a model gets in the report.
        wall_s: Seconds the run's process lived (its start-up and the overrun included).
        refit_s: Seconds of refitting and scoring (outside the budget).
        error: Why the method failed, if it did (its incumbents so far still count).
        killed: The process was killed at the deadline (still inside an evaluation).
    """

    method: str
    dataset: str
    family: str
    budget_s: float
    seed: int
    fingerprint: str
    task: str
    metric: str
    direction: str
    n_train: int
    n_test: int
    incumbents: tuple[tuple[float, float], ...]
    checkpoints: tuple[Checkpoint, ...]
    no_model: float
    wall_s: float
    refit_s: float
    error: str | None = None
    killed: bool = False

    @property
    def key(self) -> TimeUnit:
        return (self.dataset, self.family, self.method, self.budget_s, self.seed)

    @property
    def first_s(self) -> float | None:
        """Time of the first full-fidelity result (``None``: there was none)."""
        return self.incumbents[0][0] if self.incumbents else None

    def scores(self) -> list[float]:
        """Test score at each checkpoint, "no model" where there was none."""
        return [self.no_model if c.test is None else c.test for c in self.checkpoints]

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["incumbents"] = [list(i) for i in self.incumbents]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TimeRun:
        return cls(
            **{k: d[k] for k in ("method", "dataset", "family", "fingerprint", "task")},
            metric=str(d["metric"]),
            direction=str(d["direction"]),
            budget_s=float(d["budget_s"]),
            seed=int(d["seed"]),
            n_train=int(d["n_train"]),
            n_test=int(d["n_test"]),
            incumbents=tuple((float(t), float(v)) for t, v in d["incumbents"]),
            checkpoints=tuple(Checkpoint(**c) for c in d["checkpoints"]),
            no_model=float(d["no_model"]),
            wall_s=float(d["wall_s"]),
            refit_s=float(d["refit_s"]),
            error=d.get("error"),
            killed=bool(d.get("killed", False)),
        )


class TimeCache:
    """TIME runs by method, read from and written to ``DIR/<method>.jsonl.gz``."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self._runs: dict[str, dict[TimeUnit, TimeRun]] = {}

    def writing(self) -> Any:
        """Hold the folder's lock while running (the live cache's lock, one writer)."""
        return RunCache(self.directory).writing()

    def _path(self, method: str) -> Path:
        return self.directory / f"{method}.jsonl.gz"

    def _load(self, method: str) -> dict[TimeUnit, TimeRun]:
        if method not in self._runs:
            runs: dict[TimeUnit, TimeRun] = {}
            path = self._path(method)
            if path.exists():
                with gzip.open(path, "rt", encoding="utf-8") as fh:
                    for line in fh:
                        doc = json.loads(line)
                        if doc.pop("format", None) != FORMAT_VERSION:
                            raise ValueError(f"{path}: unknown TIME cache format")
                        run = TimeRun.from_dict(doc)
                        runs[run.key] = run
            self._runs[method] = runs
        return self._runs[method]

    def get(self, unit: TimeUnit, fingerprint: str) -> TimeRun | None:
        """The cached run, or ``None`` if there is none with this fingerprint."""
        run = self._load(unit[2]).get(unit)
        return run if run is not None and run.fingerprint == fingerprint else None

    def put(self, run: TimeRun) -> None:
        """Store a finished run (replacing an older one of the same key) and write the file."""
        runs = self._load(run.method)
        runs[run.key] = run
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self._path(run.method)
        tmp = path.with_name(path.name + ".tmp")
        with gzip.open(tmp, "wt", encoding="utf-8", compresslevel=9) as fh:
            for _, r in sorted(runs.items()):
                fh.write(json.dumps({"format": FORMAT_VERSION, **r.to_dict()}) + "\n")
        os.replace(tmp, path)

    def runs(self, methods: Iterable[str]) -> Iterator[TimeRun]:
        """Every cached run of ``methods`` (any fingerprint)."""
        for m in methods:
            yield from self._load(m).values()
