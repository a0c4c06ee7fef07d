"""Entry point: argument parsing, error reporting and exit codes."""

from __future__ import annotations

import argparse
import sys
import threading
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NoReturn

from metahpo.errors import MetaHPOError, MetaHPOWarning

#: Exit status for bad input (a :class:`MetaHPOError`).
EXIT_USAGE = 2
#: Exit status after Ctrl-C (finished work is kept).
EXIT_INTERRUPTED = 130


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line on stderr (exit 2), like every other bad input."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    from metahpo._version import __version__
    from metahpo.cli import _features, _kb, _predict, _report, _suggest, _tune

    parser = _Parser(
        prog="metahpo",
        description="Hyperparameter optimisation that learns from earlier tuning runs.",
    )
    parser.add_argument("--version", action="version", version=f"metahpo {__version__}")
    sub = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=_Parser
    )
    for module in (_tune, _predict, _features, _kb, _suggest, _report):
        module.register(sub)
    return parser


@contextmanager
def _notes_on_stderr() -> Iterator[None]:
    """Show each :class:`MetaHPOWarning` (e.g. waiting for a locked storage) as one
    ``metahpo:`` line on stderr; other warnings as Python shows them. A background thread that
    fails on a locked storage stays quiet (the command's own error says it)."""
    with warnings.catch_warnings():
        warnings.simplefilter("always", MetaHPOWarning)
        shown = warnings.showwarning

        def show(message: Warning | str, category: type[Warning], *args: Any, **kw: Any) -> None:
            if issubclass(category, MetaHPOWarning):
                print(f"metahpo: {message}", file=sys.stderr, flush=True)
            else:
                shown(message, category, *args, **kw)

        warnings.showwarning = show
        hook = threading.excepthook

        def quiet_locks(info: threading.ExceptHookArgs) -> None:
            from metahpo.knowledge import lock_failure

            # Optuna's heartbeat thread meets a locked storage too: the run's one-line error
            # says it, without that thread's traceback
            if info.exc_value is None or lock_failure(info.exc_value) is None:
                hook(info)

        threading.excepthook = quiet_locks
        try:
            yield
        finally:
            threading.excepthook = hook


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (0 ok, 2 bad input, 130 interrupted).

    Parsing imports nothing heavy (the command modules import what they need when they run),
    so that ``--help`` and argument errors answer at once.
    """
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error (printed already)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    try:
        check = getattr(args, "check", None)
        if check is not None:  # a command's option checks that import nothing heavy
            check(args)
        if getattr(args, "uses_optuna", True):  # predict does not: it starts faster without
            _quiet_optuna()
        with _notes_on_stderr():
            status: int = args.run(args)
        return status
    except MetaHPOError as exc:
        print(f"metahpo: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("metahpo: interrupted; finished work is kept", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        from metahpo.knowledge import lock_failure

        locked = lock_failure(exc)  # a storage locked mid-run: Optuna's errors, in one line
        if locked is None:
            raise
        print(f"metahpo: error: {locked}", file=sys.stderr)
        return EXIT_USAGE


def _quiet_optuna() -> None:
    """Optuna's INFO line per trial is noise on the command line (progress is ours)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)


if __name__ == "__main__":
    sys.exit(main())
