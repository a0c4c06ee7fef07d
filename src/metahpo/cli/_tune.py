"""``metahpo tune``: tune one model family on one dataset."""

from __future__ import annotations

import argparse
import contextlib
import json
import time
from typing import Any

from metahpo.cli._console import out, progress_bar
from metahpo.cli._predict import add_save_model_argument, save_tuned_model

#: ``--budget`` when neither it nor ``--timeout`` is given (``metahpo.tuning.tune``'s default).
DEFAULT_BUDGET = 30


def add_data_arguments(p: argparse.ArgumentParser) -> None:
    """``DATA``, ``--target`` and ``--task``, shared by every command that reads a dataset."""
    p.add_argument(
        "data", metavar="DATA", help="CSV / TSV (optionally .gz), Parquet, or PMLB folder"
    )
    p.add_argument("--target", default=None, help="column to predict (default: 'target')")
    p.add_argument(
        "--task",
        choices=("classification", "regression"),
        default=None,
        help="override the inferred task type",
    )


def register(sub: Any) -> None:
    from metahpo.spaces import FAMILY_NAMES

    p = sub.add_parser("tune", help="tune a model family on a dataset")
    add_data_arguments(p)
    p.add_argument("--model", required=True, choices=FAMILY_NAMES, help="model family")
    p.add_argument(
        "--metric",
        default=None,
        help="balanced_accuracy (default), accuracy, roc_auc, "
        "log_loss, f1_macro | r2 (default), rmse, mae",
    )
    p.add_argument(
        "--budget",
        type=int,
        default=None,
        help=f"completed trials wanted in the study (default {DEFAULT_BUDGET}; with --timeout "
        "alone, no limit), shared by every worker that runs it; failed trials do not count "
        "and are followed by others (see --max-failures)",
    )
    p.add_argument(
        "--optimizer",
        default="meta",
        help="meta (default: meta-learned warm start, then --base), or a classic optimizer: "
        "random, grid, tpe, gp, gp-ei, cmaes, evolution, qmc",
    )
    p.add_argument(
        "--strategy",
        default="portfolio",
        help="meta-learner for the warm start: portfolio (default), nearest, surrogate, mapping; "
        "with the torch extra: neural, nearest-ae",
    )
    p.add_argument("--warm-start", type=int, default=5, help="warm-start trials (default 5)")
    p.add_argument(
        "--base",
        default="transfer-gp",  # metahpo.optimizers.DEFAULT_BASE (not imported: fast --help)
        help="refinement after the warm start: transfer-gp (default: Bayesian optimisation "
        "over the continuous space with a ranking-weighted GP ensemble of the most similar past "
        "tasks and this run, RGPE; past tasks count as long as they rank this run's results "
        "well), transfer (past tasks' configurations until trial 25, then TPE; see --transfer), "
        "tpe, gp (GP-EI whose prior mean is the meta-learned surrogate), cmaes (warm-started "
        "from similar tasks), evolution (bred from the warm starts and similar tasks' best "
        "configurations), rl (a Q-learning search policy learned on the experience), maml (a "
        "Reptile meta-trained neural surrogate; torch extra), fsbo (a deep-kernel GP "
        "meta-trained on the experience, fine-tuned on this run; torch extra), random",
    )
    p.add_argument(
        "--transfer",
        type=int,
        default=None,
        metavar="N",
        help="transfer proposals after the warm starts before TPE takes over (--base transfer; "
        "default 25 minus the warm starts)",
    )
    p.add_argument("--storage", default="sqlite:///metahpo.db", help="Optuna storage URL")
    p.add_argument("--study", default=None, help="study name (same name resumes)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="stop starting trials after SEC (with --budget: whichever comes first)",
    )
    p.add_argument("--trial-timeout", type=float, default=None, help="per-trial limit in SEC")
    p.add_argument("--folds", type=int, default=5, help="cross-validation folds (default 5)")
    p.add_argument("--space", default=None, help="custom search space (JSON file or text)")
    p.add_argument(
        "--json", dest="json_out", default=None, metavar="OUT", help="write a JSON summary"
    )
    p.add_argument(
        "--n-jobs",
        type=int,
        default=None,
        help="trials run in parallel, each in its own process on the same study, sharing the "
        "budget (default 1; -1: one per core); needs a storage in a file or on a server",
    )
    add_threads_argument(p)
    add_save_model_argument(p)
    p.add_argument(
        "--max-failures",
        type=int,
        default=None,
        help="stop this run after so many failed trials (default: twice the budget, at least "
        "10); failed trials do not count towards the budget",
    )
    p.add_argument(
        "--allow-changed-settings",
        action="store_true",
        help="continue a study that was run with other folds, metric, space, optimizer, base, "
        "strategy, transfer, seed or rows (its scores are then not comparable)",
    )
    p.set_defaults(run=_run)


def add_threads_argument(p: argparse.ArgumentParser) -> None:
    """``--threads``, shared by every command that trains models."""
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help="native threads per trial (BLAS, OpenMP); default 1: on small data threads gain "
        "little and oversubscribe cores shared with other workers; -1: all cores (divided "
        "by --n-jobs)",
    )


def _budget(args: argparse.Namespace) -> int | None:
    """``--budget``; without it, the default, or no limit when ``--timeout`` is given."""
    if args.budget is not None or args.timeout is not None:
        return int(args.budget) if args.budget is not None else None
    return DEFAULT_BUDGET


def _check_arguments(args: argparse.Namespace) -> None:
    """Every option that can be checked before the data is read: one line, exit 2."""
    from metahpo.knowledge._files import check_outputs
    from metahpo.tuning._checks import check_options
    from metahpo.tuning._parallel import resolve_workers, shared_storage_url

    check_options(
        budget=_budget(args),
        folds=args.folds,
        seed=args.seed,
        timeout=args.timeout,
        trial_time_limit=args.trial_timeout,
        warm_start=args.warm_start,
        max_failures=args.max_failures,
        n_jobs=args.n_jobs,
        transfer=args.transfer,
        threads=args.threads,
    )
    if resolve_workers(args.n_jobs) > 1:
        shared_storage_url(args.storage, resolve_workers(args.n_jobs))
    check_outputs(
        {"--json": args.json_out, "--save-model": args.save_model},
        inputs={"the data": args.data, "the --space file": args.space},  # or --space JSON text
        storage=args.storage,
    )


def _read_space(text: str | None) -> Any:
    from metahpo.errors import SpaceError
    from metahpo.spaces import SearchSpace

    if not text:
        return None
    try:
        return SearchSpace.from_json(text)
    except SpaceError as exc:
        raise SpaceError(f"--space: {exc}") from None
    except (TypeError, ValueError, KeyError, AttributeError, OverflowError) as exc:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SpaceError(f"--space: invalid search space ({detail})") from None


def _run(args: argparse.Namespace) -> int:
    import optuna
    from rich.table import Table

    from metahpo.cli._console import err
    from metahpo.datasets import load_dataset
    from metahpo.errors import MetaHPOError
    from metahpo.knowledge._records import TRIAL_ERROR_ATTR
    from metahpo.tuning import tune

    _check_arguments(args)
    space = _read_space(args.space)
    dataset = load_dataset(args.data, target=args.target, task=args.task)
    start = time.perf_counter()
    best: list[float] = []

    with progress_bar() as bar:
        task = bar.add_task(f"tune {args.model}", total=_budget(args))

        def on_trial(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
            if trial.state == optuna.trial.TrialState.FAIL:
                why = trial.user_attrs.get(TRIAL_ERROR_ATTR, "failed")
                err.print(
                    f"trial {trial.number} failed: {why}",
                    markup=False,
                    highlight=False,
                    soft_wrap=True,
                )
            done = len(study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)))
            with contextlib.suppress(ValueError):  # no completed trial yet
                best[:] = [study.best_value]
            label = f"tune {args.model}" + (f" best {best[0]:.4f}" if best else "")
            bar.update(task, completed=done, description=label)

        # Failed trials are one line each (above); Optuna's own warning would repeat them.
        verbosity = optuna.logging.get_verbosity()
        optuna.logging.set_verbosity(optuna.logging.ERROR)
        try:
            result = tune(
                dataset,
                args.model,
                metric=args.metric,
                budget=_budget(args),
                optimizer=args.optimizer,
                storage=args.storage,
                study_name=args.study,
                seed=args.seed,
                timeout=args.timeout,
                folds=args.folds,
                trial_time_limit=args.trial_timeout,
                space=space,
                callbacks=[on_trial],
                strategy=args.strategy,
                warm_start=args.warm_start,
                base=args.base,
                n_jobs=args.n_jobs,
                max_failures=args.max_failures,
                allow_changed_settings=args.allow_changed_settings,
                transfer=args.transfer,
                threads=args.threads,
            )
        except MetaHPOError:
            bar.remove_task(task)  # the error is the only line on stderr
            raise
        finally:
            optuna.logging.set_verbosity(verbosity)
        bar.update(task, completed=result.n_trials)

    table = Table(
        title=f"best {args.model} on {dataset.name} ({dataset.task}, {dataset.n_rows} rows)"
    )
    table.add_column("parameter")
    table.add_column("value", justify="right")
    for k, v in result.best_params.items():
        table.add_row(k, f"{v:.4g}" if isinstance(v, float) else str(v))
    out.print(table)
    assert result.settings is not None
    out.print(
        f"{result.metric}: {result.best_value:.4f} ± {result.best_std:.4f} "
        f"({result.settings.folds}-fold CV) | trials {result.n_trials} ({result.n_new} new, "
        f"{result.n_failed} failed) | {time.perf_counter() - start:.1f} s, stopped by "
        f"{result.stopped} | study {result.study!r} in {result.storage}"
    )
    if result.changed_settings:
        err.print(f"note: settings changed on resume: {'; '.join(result.changed_settings)}")
    if result.stop_message:
        err.print(
            f"metahpo: warning: {result.stop_message}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    if result.meta:
        near = ", ".join(f"{d} ({s:.2f})" for d, s in result.meta["neighbors"][:3])
        out.print(
            f"meta: {result.meta['warm_start']} warm starts from {result.meta['strategy']} "
            f"(confidence {result.meta['confidence']:.2f}; nearest tasks: {near or 'none'}), "
            f"then {result.meta['base']}"
        )
        if result.meta.get("guard"):
            out.print(f"guard: {result.meta['guard']}")
    for col, why in dataset.dropped:
        out.print(f"note: dropped column {col!r} ({why})")
    for note in dataset.notes:
        out.print(f"note: {note}", markup=False, highlight=False, soft_wrap=True)
    if args.json_out:
        from metahpo.knowledge._files import atomic_write

        try:
            atomic_write(args.json_out, json.dumps(result.to_json_dict(), indent=2))
        except OSError as exc:
            raise MetaHPOError(f"--json {args.json_out}: cannot write ({exc.strerror})") from None
    save_tuned_model(args, result, dataset)
    return 0
