"""``metahpo predict``, and ``tune --save-model``: the fitted model at the end of a run."""

from __future__ import annotations

import argparse
import time
from typing import Any


def add_save_model_argument(p: argparse.ArgumentParser) -> None:
    """``--save-model`` of ``metahpo tune``."""
    p.add_argument(
        "--save-model",
        default=None,
        metavar="FILE",
        help="refit the best configuration on all rows and save the fitted pipeline to FILE "
        "(skops format, e.g. model.skops) for metahpo predict",
    )


def save_tuned_model(args: argparse.Namespace, result: Any, dataset: Any) -> None:
    """After ``metahpo tune``: refit and save when ``--save-model`` asks for it."""
    if not args.save_model:
        return
    from metahpo.cli._console import out
    from metahpo.tuning import save_model

    start = time.perf_counter()
    estimator = result.best_estimator(dataset)
    seconds = time.perf_counter() - start
    info = save_model(result, args.save_model, dataset, estimator=estimator)
    out.print(
        f"model: {info.family} refitted on {info.n_rows} rows in {seconds:.1f} s, "
        f"saved to {args.save_model}",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


def register(sub: Any) -> None:
    p = sub.add_parser(
        "predict",
        help="predict with a model saved by tune --save-model",
        description="Predict with a model saved by 'metahpo tune --save-model'. DATA is read "
        "as tune reads it; its columns are matched by name (others, the target included, are "
        "ignored). One output row per input row.",
    )
    p.add_argument("model", metavar="MODEL", help="a model file written by tune --save-model")
    p.add_argument(
        "data", metavar="DATA", help="CSV / TSV (optionally .gz), Parquet, or PMLB folder"
    )
    p.add_argument(
        "--out", default=None, metavar="FILE", help="write the CSV here (default: stdout)"
    )
    p.add_argument(
        "--proba",
        action="store_true",
        help="add one column of probabilities per class, proba_CLASS (classifiers)",
    )
    p.set_defaults(run=_run, uses_optuna=False)


def _run(args: argparse.Namespace) -> int:
    import os
    import sys

    import sklearn

    from metahpo._files import atomic_write, check_outputs
    from metahpo.cli._console import err
    from metahpo.datasets import read_table_notes
    from metahpo.errors import MetaHPOError
    from metahpo.tuning import load_model

    check_outputs({"--out": args.out}, inputs={"the model": args.model, "the data": args.data})
    import_skops_without_array_libraries()
    model = load_model(args.model)
    info = model.info
    if args.proba and info.task != "classification":
        raise MetaHPOError(f"--proba: {args.model} is a {info.task} model (no classes)")
    frame, _, _, notes = read_table_notes(args.data)
    if len(frame) == 0:
        raise MetaHPOError(f"{args.data}: the table has no rows")
    # Validated as tune validates its data: the same errors, the same notes.
    notes += model.check(frame)[1]
    table = _predictions(model, frame, args.proba)
    for note in notes:
        err.print(f"note: {note}", markup=False, highlight=False, soft_wrap=True)
    if info.sklearn_version != sklearn.__version__:
        err.print(
            f"note: the model was saved with scikit-learn {info.sklearn_version}, "
            f"this is {sklearn.__version__}",
            markup=False,
            highlight=False,
        )
    if args.out is None:
        try:
            table.to_csv(sys.stdout, index=False)
            sys.stdout.flush()
        except BrokenPipeError:  # the reader stopped early (| head): not an error
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    try:
        atomic_write(args.out, table.to_csv(index=False))
    except OSError as exc:
        raise MetaHPOError(f"--out {args.out}: cannot write ({exc.strerror})") from None
    err.print(
        f"{len(table)} predictions of {info.family} ({info.task}) written to {args.out}",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    return 0


class _NotNeeded:
    """An import finder that refuses torch and dask (see below)."""

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name.partition(".")[0] in ("torch", "dask"):
            raise ImportError(f"{name} is not needed to load a model")


def import_skops_without_array_libraries() -> None:
    """Import ``skops.io`` without importing torch and dask: on import, skops lists
    scikit-learn's estimators, which imports every scikit-learn package, its array-API shims for
    torch and dask included (a second or more when they are installed). A metahpo pipeline needs
    neither, and the list of estimators is the same without them."""
    import sys

    if "skops.io" in sys.modules or "torch" in sys.modules:
        return
    finder = _NotNeeded()
    sys.meta_path.insert(0, finder)
    try:
        import skops.io  # noqa: F401
    finally:
        sys.meta_path.remove(finder)


def _predictions(model: Any, frame: Any, proba: bool) -> Any:
    """One row per row of ``frame``: the prediction, then ``proba_CLASS`` columns."""
    import pandas as pd

    column = model.info.target
    table = pd.DataFrame({column: model.predict(frame)}, index=frame.index)
    if proba:
        p = model.predict_proba(frame)
        p.columns = [f"proba_{c}" for c in p.columns]
        table = pd.concat([table, p], axis=1)
    return table
