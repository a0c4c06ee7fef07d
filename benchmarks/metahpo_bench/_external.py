"""Replay benchmark on datasets outside the experience (``metahpo-bench --datasets DIR``).

The pools of the new datasets are built by the knowledge-base build (the same Sobol design,
folds and metrics as the bundled experience, resumable: ``OUT/pools.db`` holds the evaluations
and ``OUT/pools/`` the exported pools), then every meta-learner is trained on the *whole*
experience, less any dataset with the same name as a new one, and every method is replayed on
the new pools. This measures what the meta-learning is for: transfer to datasets it never saw.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from metahpo.errors import MetaHPOError
from metahpo.knowledge import (
    DEFAULT_BUNDLE,
    BuildReport,
    BuildSettings,
    Bundle,
    KnowledgeStore,
    build,
    load_bundled,
)
from metahpo_bench._replay import run_replay
from metahpo_bench._replay_records import BenchResult, BenchSettings

POOLS_DB = "pools.db"
POOLS_DIR = "pools"
REPLAY_DIR = "replay"


def build_settings_like(bundle: Bundle, families: tuple[str, ...]) -> BuildSettings:
    """Build settings with the design of ``bundle`` (its recorded settings, when it has them)."""
    recorded = bundle.manifest().get("settings", {}) if bundle.exists() else {}
    return BuildSettings(
        families=families,
        n_configs=int(recorded.get("n_configs", BuildSettings.n_configs)),
        max_rows=int(recorded.get("max_rows", BuildSettings.max_rows)),
        folds=int(recorded.get("folds", BuildSettings.folds)),
        seed=int(recorded.get("seed", BuildSettings.seed)),
    )


def run_external(
    datasets_dir: str | Path,
    settings: BenchSettings | None = None,
    *,
    out: str | Path,
    bundle: str | Path = DEFAULT_BUNDLE,
    workers: int = 1,
    build_progress: Callable[[int, int, str], None] | None = None,
    progress: Callable[[int, int, str], None] | None = None,
    fresh: bool = False,
) -> BenchResult:
    """Build pools for ``datasets_dir`` (resumable), then replay with the full experience.

    Args:
        datasets_dir: A folder in the shared datasets layout.
        settings: Budget, seeds, methods, families (``folds`` is not used: the new datasets
            form the one held-out fold).
        out: Output folder (pools, their store and the replay cache; rerunning resumes).
        bundle: The training experience's bundle (default: the packaged one); the pools are
            built with its design, folds and row limit.
        workers: Processes for the pool build and the replay.
        build_progress: ``(done, total, label)`` during the pool build.
        progress: ``(done, total, label)`` during the replay.
        fresh: Replay every run again instead of resuming; the pools (real evaluations) are
            kept either way.
    """
    settings = settings or BenchSettings()
    settings.validate()
    experience = load_bundled(bundle)
    if not experience.tasks:
        raise MetaHPOError("the training experience is empty: build or bundle one first")
    families = settings.families or tuple(experience.families)
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    store = KnowledgeStore(f"sqlite:///{(out_dir / POOLS_DB).resolve()}")
    pools = Bundle(out_dir / POOLS_DIR)

    def on_build(report: BuildReport, label: str) -> None:
        if build_progress is not None:
            build_progress(report.done + report.skipped, report.total, label)

    build(
        datasets_dir,
        store,
        build_settings_like(Bundle(bundle), families),
        workers=workers,
        progress=on_build,
        export=pools,
    )
    new = load_bundled(pools.root)
    if not new.tasks:
        raise MetaHPOError(f"no dataset of {datasets_dir} could be evaluated")
    held = set(new.datasets)
    train = replace(experience, tasks=tuple(t for t in experience.tasks if t.dataset not in held))
    combined = replace(train, tasks=train.tasks + new.tasks)
    return run_replay(
        combined,
        replace(settings, families=tuple(families)),
        out=out_dir / REPLAY_DIR,
        workers=workers,
        progress=progress,
        holdout=sorted(held),
        fresh=fresh,
    )
