"""``metahpo tune``: tune one model family on one dataset."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from typing import Any

from metahpo.cli._console import PlainProgress, out, print_data_notes, progress_bar
from metahpo.cli._predict import add_save_model_argument, save_tuned_model
from metahpo.cli._tune_checks import (
    TRANSFER_NOTE,
    capped_notes,
    capped_ranges,
    check_option_combinations,
    read_space_document,
    space_from_option,
)
from metahpo.errors import MetaHPOError

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
    from metahpo.cli._names import DEFAULT_STORAGE, FAMILY_NAMES

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
    _add_optimizer_arguments(p)
    p.add_argument("--storage", default=DEFAULT_STORAGE, help="Optuna storage URL")
    p.add_argument(
        "--study",
        default=None,
        help="study name (same name resumes; default DATASET:MODEL:METRIC:OPTIMIZER:sSEED)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="SEC for the whole run, from its start: no trial starts after it, a trial on "
        "low fidelities stops at its next rung, and the run still ends with a model (with "
        "--budget: whichever comes first)",
    )
    p.add_argument("--trial-timeout", type=float, default=None, help="per-trial limit in SEC")
    _add_validation_arguments(p)
    p.add_argument(
        "--space",
        default=None,
        metavar="JSON",
        help="custom search space, JSON text or a .json file: the parameters to tune, each a "
        'range or a list of choices, e.g. \'{"n_neighbors": [1, 30], "weights": ["uniform", '
        '"distance"]}\'; [low, high, "log"] for a log scale; the other parameters keep their '
        "default (see 'Custom search spaces' in the README)",
    )
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
        help="continue a study that was run with other folds, metric, optimizer, base, "
        "strategy, base options or seed (its scores are then not comparable; the best score is "
        "printed with the folds it was measured with). The data and the search space of a "
        "study cannot change (its trials are experience for that task): use a new --study",
    )
    p.set_defaults(run=_run, check=_check_arguments)


def _add_validation_arguments(p: argparse.ArgumentParser) -> None:
    """``--folds`` and ``--fidelity``."""
    p.add_argument(
        "--folds",
        type=int,
        default=None,
        help="cross-validation folds (default 5; with --fidelity auto, one 20%% holdout split "
        "from 100,000 rows or 2,500 rows x columns per second of --timeout; a resumed study keeps "
        "its own)",
    )
    p.add_argument(
        "--fidelity",
        choices=("auto", "none"),
        default=None,
        help="auto (default for a new study; a resumed one keeps its own): where each fold "
        "trains on 6,000 rows or more, configurations are first evaluated on row subsamples "
        "growing by 3 from 2,000 rows and stopped early by successive halving when they rank "
        "low, and at full rows after a fold that cannot beat the best; only completed (full) "
        "trials count towards --budget. Smaller data is tuned as with none: every trial on "
        "all rows",
    )


def _add_optimizer_arguments(p: argparse.ArgumentParser) -> None:
    """``--optimizer`` and the options of the meta-learned one."""
    p.add_argument(
        "--optimizer",
        default="meta",
        help="meta (default: meta-learned warm start, then --base), or a classic optimizer: "
        "random, grid, tpe, gp, gp-ei, cmaes, evolution, qmc",
    )
    # The meta-only options default to None, to tell "given" from "not given" (given with a
    # classic --optimizer, they are refused); cli/_tune_checks.py fills in the defaults.
    p.add_argument(
        "--strategy",
        default=None,
        help="meta-learner for the warm start: portfolio (default), nearest, surrogate, mapping; "
        "with the torch extra: neural, nearest-ae (--optimizer meta only)",
    )
    p.add_argument(
        "--warm-start",
        type=int,
        default=None,
        help="warm-start trials (default 5; --optimizer meta only)",
    )
    p.add_argument(
        "--base",
        default=None,  # metahpo.optimizers.DEFAULT_BASE, filled in after parsing
        help="(--optimizer meta only) refinement after the warm start: transfer-gp (default: "
        "Bayesian optimisation "
        "over the continuous space with a ranking-weighted GP ensemble of the most similar past "
        "tasks and this run, RGPE; past tasks count as long as they rank this run's results "
        "well), transfer (past tasks' configurations until trial 25, then TPE; see --base-option), "
        "tpe, gp (GP-EI whose prior mean is the meta-learned surrogate), gpsampler (Optuna's "
        "GPSampler; torch extra), cmaes (warm-started "
        "from similar tasks), evolution (bred from the warm starts and similar tasks' best "
        "configurations), rl (a Q-learning search policy learned on the experience), maml (a "
        "Reptile meta-trained neural surrogate; torch extra), fsbo (a deep-kernel GP "
        "meta-trained on the experience, fine-tuned on this run; torch extra), random",
    )
    p.add_argument(
        "--base-option",
        action="append",
        default=None,
        metavar="NAME=VALUE",
        help="an option of --base (repeatable): --base transfer takes n_transfer (an "
        "integer), its proposals after the warm starts before TPE takes over (default 25 "
        "minus the warm starts); --base transfer-gp takes latent (true, the default: expected "
        "improvement without observation noise, or false); the other bases take none",
    )
    # Deprecated: --base-option n_transfer=N (a note says so).
    p.add_argument("--transfer", type=int, default=None, help=argparse.SUPPRESS)


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


def _checked_options(args: argparse.Namespace) -> dict[str, Any]:
    """The options :func:`metahpo.tuning.check_options` checks, by its keyword names: checked
    before the data is read, then passed to :func:`metahpo.tuning.tune` as they are."""
    return {
        "budget": _budget(args),
        "folds": args.folds,
        "seed": args.seed,
        "timeout": args.timeout,
        "trial_time_limit": args.trial_timeout,
        "warm_start": args.warm_start,
        "max_failures": args.max_failures,
        "n_jobs": args.n_jobs,
        "threads": args.threads,
        "fidelity": args.fidelity,
    }


def _check_arguments(args: argparse.Namespace) -> None:
    """Every option that can be checked before the data is read: one line, exit 2. Imports
    nothing heavy (``metahpo`` runs it before the command), so a bad option answers at once."""
    check_option_combinations(args)
    from metahpo._files import check_outputs
    from metahpo.tuning import check_options

    check_options(**_checked_options(args))
    check_outputs(
        {"--json": args.json_out, "--save-model": args.save_model},
        inputs={"the data": args.data, "the --space file": args.space},  # or --space JSON text
        storage=args.storage,
    )
    if args.transfer is not None and not getattr(args, "transfer_noted", False):
        print(TRANSFER_NOTE, file=sys.stderr)  # after every check: an error stays one line
        args.transfer_noted = True


def _trial_line(
    model: str,
    trial: Any,
    done: int,
    budget: int | None,
    best: float,
    seconds: float,
    stopped: int = 0,
) -> str:
    """A plain progress line: ``tune knn: 7/30 completed, trial 8: 0.9512 (best 0.9693),
    12.3 s`` (not starting with "trial": those lines are the failed trials'), with ``, 14
    stopped early`` when trials were stopped at a low fidelity."""
    of = f"{done}/{budget}" if budget is not None else f"{done}"
    early = f", {stopped} stopped early" if stopped else ""
    return (
        f"tune {model}: {of} completed, trial {trial.number}: {trial.value:.4f} "
        f"(best {best:.4f}), {seconds:.1f} s{early}"
    )


def _progress_counts(study: Any) -> tuple[int, int]:
    """The study's COMPLETE trials and its trials stopped early at a low fidelity."""
    from optuna.trial import TrialState

    from metahpo.tuning import FIDELITY_ATTR

    trials = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED))
    done = sum(t.state == TrialState.COMPLETE for t in trials)
    return done, sum(FIDELITY_ATTR in t.user_attrs for t in trials)


def _tune_with_progress(
    args: argparse.Namespace, dataset: Any, space: Any, start: float
) -> tuple[Any, Any]:
    """Run :func:`metahpo.tuning.tune` with a progress bar on stderr (plain lines when stderr
    is not a terminal); the result and the study (``None``: no trial finished in this call)."""
    import optuna

    from metahpo.cli._console import err
    from metahpo.knowledge import TRIAL_ERROR_ATTR
    from metahpo.tuning import tune

    budget = _budget(args)
    best: list[float] = []
    seen: list[optuna.Study] = []
    with progress_bar() as bar:
        task = bar.add_task(f"tune {args.model}", total=budget)
        plain = isinstance(bar, PlainProgress)

        def on_trial(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
            seen[:] = [study]
            if trial.state == optuna.trial.TrialState.FAIL:
                why = trial.user_attrs.get(TRIAL_ERROR_ATTR, "failed")
                err.print(
                    f"trial {trial.number} failed: {why}",
                    markup=False,
                    highlight=False,
                    soft_wrap=True,
                )
            done, stopped = _progress_counts(study)
            with contextlib.suppress(ValueError):  # no completed trial yet
                best[:] = [study.best_value]
            if plain:
                if trial.state == optuna.trial.TrialState.COMPLETE and best:
                    seconds = time.perf_counter() - start
                    line = _trial_line(args.model, trial, done, budget, best[0], seconds, stopped)
                    bar.line(line, force=budget is not None and done >= budget)
                return
            label = f"tune {args.model}" + (f" best {best[0]:.4f}" if best else "")
            label += f" ({stopped} stopped early)" if stopped else ""
            bar.update(task, completed=done, description=label)

        # Failed trials are one line each (above); Optuna's own warning would repeat them.
        verbosity = optuna.logging.get_verbosity()
        optuna.logging.set_verbosity(optuna.logging.ERROR)
        try:
            result = tune(
                dataset,
                args.model,
                metric=args.metric,
                optimizer=args.optimizer,
                storage=args.storage,
                study_name=args.study,
                space=space,
                callbacks=[on_trial],
                strategy=args.strategy,
                base=args.base,
                allow_changed_settings=args.allow_changed_settings,
                base_options=args.base_options,
                **_checked_options(args),
            )
        except MetaHPOError:
            bar.remove_task(task)  # the error is the only line on stderr
            raise
        finally:
            optuna.logging.set_verbosity(verbosity)
        if not plain:
            bar.update(task, completed=result.n_trials)
    return result, (seen[0] if seen else None)


def _best_folds(result: Any, study: Any, storage: str) -> int:
    """The folds the best score was measured with: after ``--allow-changed-settings`` they
    may differ from this run's."""
    import optuna

    from metahpo.knowledge import TRIAL_FOLDS_ATTR, open_storage

    assert result.settings is not None
    if study is None:  # no trial finished in this call: the best is an earlier run's
        try:
            study = optuna.load_study(study_name=result.study, storage=open_storage(storage))
        except (MetaHPOError, KeyError):
            return int(result.settings.folds)
    values = study.best_trial.user_attrs.get(TRIAL_FOLDS_ATTR)
    return len(values) if isinstance(values, list) and values else int(result.settings.folds)


def _validation(folds: int) -> str:
    """``"5-fold CV"``, or ``"20 % holdout"`` for one split."""
    return "20 % holdout" if folds == 1 else f"{folds}-fold CV"


def _stopped_early(result: Any) -> str:
    """``"; 14 stopped early: 12 at 2000 rows, 2 at 2 of 5 folds"`` (empty: none)."""
    if not result.n_pruned:
        return ""
    where = ", ".join(f"{n} at {label}" for label, n in result.pruned_at.items())
    return f"; {result.n_pruned} stopped early: {where}"


def _print_summary(
    args: argparse.Namespace, result: Any, dataset: Any, space: Any, study: Any, start: float
) -> None:
    """The best configuration, the score line and the notes on the run."""
    from rich.table import Table

    from metahpo.cli._console import err
    from metahpo.spaces import get_space

    used_space = space if space is not None else get_space(args.model, dataset.task)
    capped = capped_ranges(used_space, args.model, dataset, args.seed)
    table = Table(
        title=f"best {args.model} on {dataset.name} ({dataset.task}, {dataset.n_rows} rows)"
    )
    table.add_column("parameter")
    table.add_column("value", justify="right")
    for k, v in result.best_params.items():
        shown = f"{v:.4g}" if isinstance(v, float) else str(v)
        if k in capped and isinstance(v, int) and v > capped[k]:
            shown += f" (used as {capped[k]})"
        table.add_row(k, shown)
    out.print(table)
    assert result.settings is not None
    folds = _best_folds(result, study, args.storage)
    out.print(
        f"{result.metric}: {result.best_value:.4f} ± {result.best_std:.4f} "
        f"({_validation(folds)}) | trials {result.n_trials} ({result.n_new} new, "
        f"{result.n_failed} failed{_stopped_early(result)}) | "
        f"{time.perf_counter() - start:.1f} s, stopped by "
        f"{result.stopped} | study {result.study!r} in {result.storage}"
    )
    if folds != result.settings.folds:
        err.print(
            f"note: the best score was measured with {_validation(folds)} (before the settings "
            f"changed); this run's trials use {result.settings.validation()}, not comparable",
            markup=False,
            highlight=False,
            soft_wrap=True,
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
    if args.space is not None:
        for note in capped_notes(used_space, capped, dataset):
            out.print(note, markup=False, highlight=False, soft_wrap=True)


def _run(args: argparse.Namespace) -> int:
    _check_arguments(args)
    from metahpo.datasets import load_dataset
    from metahpo.tuning import resolve_workers, shared_storage_url

    if resolve_workers(args.n_jobs) > 1:
        shared_storage_url(args.storage, resolve_workers(args.n_jobs))

    document = read_space_document(args.space)  # a bad --space is refused before the data
    space = space_from_option(document, args.model, None)  # the full form names its task
    dataset = load_dataset(args.data, target=args.target, task=args.task)
    if space is None:  # the short form is read against the family's space for the task
        space = space_from_option(document, args.model, dataset.task)
    start = time.perf_counter()
    result, study = _tune_with_progress(args, dataset, space, start)
    _print_summary(args, result, dataset, space, study, start)
    print_data_notes(dataset, out)
    if args.json_out:
        from metahpo._files import atomic_write

        try:
            atomic_write(args.json_out, json.dumps(result.to_json_dict(), indent=2))
        except OSError as exc:
            raise MetaHPOError(f"--json {args.json_out}: cannot write ({exc.strerror})") from None
    save_tuned_model(args, result, dataset)
    return 0
