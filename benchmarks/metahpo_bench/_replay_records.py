"""Replay benchmark records: what runs (:class:`BenchSettings`) and what comes out.

Every record is a frozen dataclass. :class:`RunRecord` round-trips through JSON exactly (its
floats are rounded before they are stored), so a run read back from the cache equals the run
that wrote it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from metahpo.errors import MetaHPOError
from metahpo_bench._methods import DEFAULT_METHODS, get_method


@dataclass(frozen=True)
class BenchSettings:
    """What a replay benchmark runs.

    Attributes:
        budget: Evaluations per run.
        seeds: Runs per (method, task), with seeds ``0..seeds-1``.
        folds: Grouped folds over datasets (capped at the number of datasets).
        methods: Method names (see :data:`~metahpo_bench.METHODS`).
        families: Families to benchmark (``None``: every family in the experience).
        fold_seed: Seed of the dataset shuffle that forms the folds.
    """

    budget: int = 50
    seeds: int = 5
    folds: int = 5
    methods: tuple[str, ...] = DEFAULT_METHODS
    families: tuple[str, ...] | None = None
    fold_seed: int = 0

    def validate(self) -> None:
        for name, value, low in (("budget", self.budget, 1), ("seeds", self.seeds, 1)):
            if value < low:
                raise MetaHPOError(f"--{name} must be at least {low}; got {value}")
        if self.folds < 2:
            raise MetaHPOError(f"--folds must be at least 2; got {self.folds}")
        if not self.methods:
            raise MetaHPOError("no benchmark methods selected")
        for m in self.methods:
            get_method(m)


@dataclass(frozen=True)
class RunRecord:
    """One run: a method on one held-out task with one seed.

    Attributes:
        method, dataset, family, task, seed, fold: What ran where.
        picks: Pool rows in evaluation order.
        regret: Normalised regret after ``1..budget`` evaluations (rounded to 7 decimals, so
            that a record read back from the cache is identical).
        seconds: Wall time the method spent choosing each pick (rounded to microseconds).
    """

    method: str
    dataset: str
    family: str
    task: str
    seed: int
    fold: int
    picks: tuple[int, ...]
    regret: tuple[float, ...]
    seconds: tuple[float, ...]

    @property
    def key(self) -> tuple[str, str, str, int]:
        return (self.method, self.dataset, self.family, self.seed)

    def to_json_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["regret"] = list(self.regret)
        d["seconds"] = list(self.seconds)
        d["picks"] = list(self.picks)
        return d

    @classmethod
    def from_json_dict(cls, d: dict[str, Any]) -> RunRecord:
        return cls(
            method=str(d["method"]),
            dataset=str(d["dataset"]),
            family=str(d["family"]),
            task=str(d["task"]),
            seed=int(d["seed"]),
            fold=int(d["fold"]),
            picks=tuple(int(p) for p in d["picks"]),
            regret=tuple(float(r) for r in d["regret"]),
            seconds=tuple(float(s) for s in d["seconds"]),
        )


@dataclass(frozen=True)
class FitRecord:
    """Time a method's :meth:`~metahpo_bench.Method.prepare` took on one training set."""

    method: str
    fold: int
    family: str
    task: str
    seconds: float


@dataclass(frozen=True)
class ErrorRecord:
    """A run that raised: the method is reported as failing and left out of the tables.

    Errors are not cached as finished runs, so a rerun retries them.
    """

    method: str
    dataset: str
    family: str
    task: str
    seed: int
    message: str


@dataclass(frozen=True)
class BenchResult:
    """Everything a replay benchmark produced.

    Attributes:
        settings: What ran.
        runs: Every run (cached ones included).
        fits: Preparation times per method and training set.
        errors: Runs that raised (their methods are left out of the summary tables).
        folds: Held-out datasets of each fold.
        skipped: Tasks left out and why (a pool without two distinct scores).
        experience_version: Version string of the experience.
        n_datasets: Datasets benchmarked.
        seconds: Wall time of this call (cached runs cost nothing).
        n_new: Runs computed by this call (failed ones included).
        mode: ``"replay"`` (grouped folds over the experience) or ``"external"`` (replay on
            pools built for datasets outside the experience).
    """

    settings: BenchSettings
    runs: tuple[RunRecord, ...]
    fits: tuple[FitRecord, ...]
    errors: tuple[ErrorRecord, ...]
    folds: tuple[tuple[str, ...], ...]
    skipped: tuple[tuple[str, str], ...] = ()
    experience_version: str = ""
    n_datasets: int = 0
    seconds: float = 0.0
    n_new: int = 0
    mode: str = "replay"
