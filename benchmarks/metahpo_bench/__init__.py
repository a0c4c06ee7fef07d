"""metahpo's benchmark lab (a package of its own beside the library, never in its wheel):
meta-learned and classic optimizers, replayed on stored evaluations
(:func:`run_replay`; :func:`run_external` on pools built for new datasets) or trained for real
(:func:`run_live`).

Example:
    >>> from metahpo_bench import BenchSettings, run_replay, write_report  # doctest: +SKIP
    >>> from metahpo.knowledge import load_bundled  # doctest: +SKIP
    >>> result = run_replay(load_bundled(), BenchSettings(budget=20, seeds=2))  # doctest: +SKIP
    >>> write_report(result, "bench-out")["markdown"]  # doctest: +SKIP
"""

from metahpo_bench._external import run_external
from metahpo_bench._live import LiveResult, holdout_datasets, run_live
from metahpo_bench._live_cache import LiveRun, RunCache
from metahpo_bench._live_md import live_summary, render_markdown, write_live_report
from metahpo_bench._live_protocol import (
    LIVE_DEFAULT_METHODS,
    LIVE_METHODS,
    LiveMethod,
    LiveSettings,
    group_key,
    select_holdout,
)
from metahpo_bench._methods import (
    DEFAULT_METHODS,
    METHODS,
    DefaultThenRandom,
    MetaSamplerMethod,
    Method,
    RandomSearch,
    SamplerMethod,
    TrainingSet,
    ZeroShot,
    ask_tell,
    get_method,
)
from metahpo_bench._metrics import (
    bootstrap_mean,
    evals_to_reach,
    informative,
    ranks,
    regret_curve,
    win_tie_loss,
)
from metahpo_bench._pool import Pool, PoolExhaustedError
from metahpo_bench._replay import run_replay
from metahpo_bench._replay_plan import grouped_folds, plan, run_seed
from metahpo_bench._replay_records import (
    BenchResult,
    BenchSettings,
    ErrorRecord,
    FitRecord,
    RunRecord,
)
from metahpo_bench._report import write_report
from metahpo_bench._report_stats import summarize

__all__ = [
    "DEFAULT_METHODS",
    "LIVE_DEFAULT_METHODS",
    "LIVE_METHODS",
    "METHODS",
    "BenchResult",
    "BenchSettings",
    "DefaultThenRandom",
    "ErrorRecord",
    "FitRecord",
    "LiveMethod",
    "LiveResult",
    "LiveRun",
    "LiveSettings",
    "MetaSamplerMethod",
    "Method",
    "Pool",
    "PoolExhaustedError",
    "RandomSearch",
    "RunCache",
    "RunRecord",
    "SamplerMethod",
    "TrainingSet",
    "ZeroShot",
    "ask_tell",
    "bootstrap_mean",
    "evals_to_reach",
    "get_method",
    "group_key",
    "grouped_folds",
    "holdout_datasets",
    "informative",
    "live_summary",
    "plan",
    "ranks",
    "regret_curve",
    "render_markdown",
    "run_external",
    "run_live",
    "run_replay",
    "run_seed",
    "select_holdout",
    "summarize",
    "win_tie_loss",
    "write_live_report",
    "write_report",
]
