"""The columnar snapshot of experience that meta-learners read.

An :class:`Experience` is a tuple of :class:`TaskExperience` records: for one (dataset, family)
the task's meta-features, the evaluated configurations encoded in the unit cube of the family's
built-in space, and their scores. Reading it never touches the Optuna database row by row:
the bundled experience is a handful of ``.npz`` shards, and a user store is read with one query
per study and then kept as arrays.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from optuna.storages import RDBStorage
from optuna.trial import TrialState

from metahpo.errors import KnowledgeBaseError, MetaHPOError
from metahpo.knowledge._bundle import DEFAULT_BUNDLE, Bundle
from metahpo.knowledge._records import TaskRecord
from metahpo.knowledge._snapshot import read_rdb_columns
from metahpo.knowledge._store import KnowledgeStore
from metahpo.spaces import SearchSpace, get_space


@dataclass(frozen=True)
class TaskExperience:
    """Everything known about one (dataset, family) run.

    Attributes:
        key: Unique key (``dataset/family`` for bundled tasks, the study name otherwise).
        dataset: Dataset name.
        family: Model family.
        task: Task type.
        metric: Metric of ``y``.
        direction: ``"maximize"`` or ``"minimize"``.
        metafeatures: Meta-feature vector (order of ``Experience.metafeature_names``).
        X: Configurations, shape ``(n, encoded_dim)``, encoded with the built-in space.
        y: Scores, shape ``(n,)``; ``nan`` where the evaluation failed.
        source: ``"bundle"``, ``"build"``, ``"tune"`` or ``"import"``.
        design_index: For design-based tasks, the design index of each row (else empty).
    """

    key: str
    dataset: str
    family: str
    task: str
    metric: str
    direction: str
    metafeatures: np.ndarray
    X: np.ndarray
    y: np.ndarray
    source: str = "bundle"
    design_index: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))

    @property
    def n(self) -> int:
        return int(self.y.shape[0])

    @property
    def space(self) -> SearchSpace:
        return get_space(self.family, self.task)

    def gain(self) -> np.ndarray:
        """Scores turned so that larger is always better (``nan`` kept)."""
        return self.y if self.direction == "maximize" else -self.y

    def normalized(self) -> np.ndarray:
        """Scores scaled to ``[0, 1]`` within the task (1 = best seen, 0 = worst; failed = 0)."""
        g = self.gain()
        ok = np.isfinite(g)
        if not ok.any():
            return np.zeros_like(g)
        lo, hi = g[ok].min(), g[ok].max()
        out = np.zeros_like(g, dtype=float)
        out[ok] = (g[ok] - lo) / (hi - lo) if hi > lo else 1.0
        return out

    def configs(self) -> list[dict[str, Any]]:
        """The configurations, decoded (rounding and arg-max make this exact for the design)."""
        space = self.space
        return [space.decode(row) for row in self.X]


@dataclass(frozen=True)
class Experience:
    """A collection of task experiences with a common meta-feature layout."""

    tasks: tuple[TaskExperience, ...]
    metafeature_names: tuple[str, ...]
    version: str = ""

    def __len__(self) -> int:
        return len(self.tasks)

    def select(
        self,
        family: str | None = None,
        task: str | None = None,
        datasets: Iterable[str] | None = None,
        exclude: Iterable[str] = (),
    ) -> Experience:
        """The tasks of one family / task type, keeping or leaving out some datasets."""
        keep = set(datasets) if datasets is not None else None
        drop = set(exclude)
        chosen = tuple(
            t
            for t in self.tasks
            if (family is None or t.family == family)
            and (task is None or t.task == task)
            and (keep is None or t.dataset in keep)
            and t.dataset not in drop
        )
        return replace(self, tasks=chosen)

    def __add__(self, other: Experience) -> Experience:
        if other.metafeature_names != self.metafeature_names and other.tasks and self.tasks:
            raise KnowledgeBaseError("cannot combine experience with different meta-features")
        names = self.metafeature_names or other.metafeature_names
        return Experience(self.tasks + other.tasks, names, self.version or other.version)

    @property
    def datasets(self) -> list[str]:
        return sorted({t.dataset for t in self.tasks})

    @property
    def families(self) -> list[str]:
        return sorted({t.family for t in self.tasks})

    def metafeature_matrix(self) -> np.ndarray:
        """Meta-features of all tasks, shape ``(n_tasks, n_metafeatures)``."""
        if not self.tasks:
            return np.zeros((0, len(self.metafeature_names)))
        return np.vstack([t.metafeatures for t in self.tasks])

    def summary(self) -> dict[str, Any]:
        """Counts for ``metahpo kb info``."""
        per_family: dict[str, int] = {}
        for t in self.tasks:
            per_family[t.family] = per_family.get(t.family, 0) + 1
        sizes = [t.n for t in self.tasks]
        return {
            "datasets": len(self.datasets),
            "tasks": len(self.tasks),
            "families": per_family,
            "evaluations": int(sum(int(np.isfinite(t.y).sum()) for t in self.tasks)),
            "configs_per_task_median": float(np.median(sizes)) if sizes else 0.0,
            "metafeatures": list(self.metafeature_names),
            "version": self.version,
        }


def _vector(
    values: Mapping[str, float] | np.ndarray | None, names: Sequence[str], src_names: Sequence[str]
) -> np.ndarray:
    out = np.zeros(len(names))
    if values is None:
        return out
    if isinstance(values, np.ndarray):
        lookup = dict(zip(src_names, values, strict=False))
    else:
        lookup = dict(values)
    for i, n in enumerate(names):
        v = lookup.get(n)
        out[i] = float(v) if v is not None and np.isfinite(v) else 0.0
    return out


@lru_cache(maxsize=4)
def _load_bundle_cached(root: str, mtime: float) -> Experience:
    bundle = Bundle(root)
    manifest = bundle.manifest()
    designs = bundle.designs()
    mf_names, mf_values = bundle.read_metafeatures()
    metrics: dict[str, list[str]] = manifest["metrics"]
    encoded: dict[tuple[str, str], np.ndarray] = {}
    tasks: list[TaskExperience] = []
    for name in bundle.shard_names():
        meta, values, _ = bundle.read_shard(name)
        mf = _vector(mf_values.get(name), mf_names, mf_names)
        for fi, fam in enumerate(meta.families):
            key = (fam, meta.task)
            if key not in encoded:
                space = get_space(fam, meta.task)
                encoded[key] = np.vstack([space.encode(c) for c in designs[fam][meta.task]])
            y = values[fi, :, 0].astype(float)  # the primary (first) metric
            tasks.append(
                TaskExperience(
                    key=f"{name}/{fam}",
                    dataset=name,
                    family=fam,
                    task=meta.task,
                    metric=metrics[meta.task][0],
                    direction="maximize",
                    metafeatures=mf,
                    X=encoded[key],
                    y=y,
                    source="bundle",
                    design_index=np.arange(len(y)),
                )
            )
    version = f"{manifest['format']}/{manifest['version']}"
    return Experience(tuple(tasks), tuple(mf_names), version)


def load_bundled(root: str | Path = DEFAULT_BUNDLE) -> Experience:
    """The experience exported in a bundle folder (default: the one shipped in the package)."""
    bundle = Bundle(root)
    if not bundle.exists():
        return Experience((), ())
    return _load_bundle_cached(str(Path(root).resolve()), bundle.manifest_path.stat().st_mtime)


def _builtin(record: TaskRecord) -> SearchSpace | None:
    try:
        return get_space(record.family, record.task)
    except MetaHPOError:
        return None


def _store_rows(store: KnowledgeStore) -> Iterator[tuple[str, TaskRecord, np.ndarray, np.ndarray]]:
    """``(study, record, X, y)`` of every metahpo study with completed trials."""
    if isinstance(store.storage, RDBStorage):
        for cols in read_rdb_columns(store.storage):
            space = _builtin(cols.record)
            if space is not None and len(cols.values):
                X = space.encode_columns(cols.params, len(cols.values))
                yield cols.name, cols.record, X, cols.values
        return
    for name, record in store.records():
        space = _builtin(record)
        trials = store.trials(name, (TrialState.COMPLETE,)) if space is not None else []
        if space is None or not trials:
            continue
        X = np.vstack([space.encode(space.transfer(t.params)[0]) for t in trials])
        y = np.asarray([t.value if t.value is not None else np.nan for t in trials], dtype=float)
        yield name, record, X, y


def from_store(
    store: KnowledgeStore,
    metafeature_names: Sequence[str],
    *,
    sources: Iterable[str] = ("tune", "import", "build", "sklearn"),
) -> Experience:
    """Experience from the studies of a store that carry a metahpo task record.

    Configurations are mapped into the family's built-in space by parameter name (values
    clipped, missing ones set to the default), so runs with custom or older spaces still count.
    """
    wanted = set(sources)
    tasks: list[TaskExperience] = []
    for name, record, X, y in _store_rows(store):
        if record.source not in wanted:
            continue
        tasks.append(
            TaskExperience(
                key=name,
                dataset=record.dataset,
                family=record.family,
                task=record.task,
                metric=record.metric,
                direction=record.direction,
                metafeatures=_vector(record.metafeatures, metafeature_names, []),
                X=X,
                y=y,
                source=record.source,
            )
        )
    return Experience(tuple(tasks), tuple(metafeature_names), f"store:{store.url}")
